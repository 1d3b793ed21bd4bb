// The secondary indexes each restored collection must end with, kept aside while the oplog is
// replayed and built once replay is done (build-indexes.ts), as mongorestore does with its index
// catalog (mongo-tools common/idx/index_catalog.go, mongorestore/oplog.go).
//
// Why not build them first: replay is not the source's history write for write. The base is a
// fuzzy copy (a document dumped after the oplog inserted it next to one dumped before the oplog
// deleted it: mongo-tools' duplicate_index_key_with_oplog fixture), and lanes apply writes to
// different documents in any order ("delete A{email:x}" in one lane, "insert B{email:x}" in
// another). A unique secondary index sees those intermediate states, and applyOps on a primary
// enforces it: index constraints are relaxed only where the node cannot accept writes
// (src/mongo/db/repl/replication_coordinator_impl.cpp, shouldRelaxIndexConstraints is
// !canAcceptWritesFor), i.e. on secondaries re-applying their oplog, never on the restore's
// target. A legal history would abort half-written. At the cutoff the documents are the source's, which
// satisfied every index it had: the indexes built then cannot fail on a valid history.
//
// Index commands met during replay change this catalog instead of the target; commands that
// move or remove collections change it too, and still run. The catalog models the source's
// catalog in target namespaces (replay maps entries through the namespace rules first).
import { isDocument } from '../oplog-entry.ts';
import type { Document } from 'mongodb';
import type { CommandPlan } from '../target/applier.ts';
import { isIdIndex } from '../target/index-spec.ts';
import { joinNs, splitNs } from '../namespace.ts';

export interface CollectionIndexes {
  /** Target namespace. */
  readonly ns: string;
  /** Index specs as recorded (base metadata) or logged (oplog), by name, `_id_` excluded. */
  readonly specs: readonly Document[];
}

interface Entry {
  indexes: Map<string, Document>;
}

export class IndexCatalog {
  readonly #collections = new Map<string, Entry>();

  /** Records a collection of the base with the indexes its metadata lists. */
  addCollection(ns: string, specs: readonly Document[]): void {
    const entry = this.#entry(ns);
    for (const spec of specs) if (typeof spec.name === 'string' && !isIdIndex(spec)) entry.indexes.set(spec.name, spec);
  }

  /** Every collection with at least one index to build, in no particular order. */
  collections(): CollectionIndexes[] {
    const list: CollectionIndexes[] = [];
    for (const [ns, entry] of this.#collections) {
      if (entry.indexes.size === 0) continue;
      list.push({ ns, specs: [...entry.indexes.values()] });
    }
    return list;
  }

  /**
   * Takes a command replay is about to run: index commands are recorded here and need not run
   * (undefined); a collMod that also changes the collection runs without its `index` part; other
   * commands run unchanged, after their effect on the catalog is recorded.
   */
  absorb(plan: CommandPlan): CommandPlan | undefined {
    const command = plan.command;
    const name = Object.keys(command)[0];
    const coll = name === undefined ? undefined : command[name];
    if (name === 'renameCollection') return this.#rename(command), plan;
    if (name === 'dropDatabase') return this.#dropDatabase(plan.db), plan;
    if (typeof coll !== 'string') return plan;
    const ns = joinNs(plan.db, coll);
    switch (name) {
      case 'createIndexes':
        for (const spec of Array.isArray(command.indexes) ? command.indexes : []) this.addCollection(ns, [spec as Document]);
        return undefined;
      case 'dropIndexes':
        this.#dropIndexes(ns, command.index);
        return undefined;
      case 'collMod':
        return this.#collMod(ns, plan);
      case 'create':
        if (command.viewOn === undefined) this.addCollection(ns, []);
        return plan;
      case 'drop':
        this.#collections.delete(ns);
        return plan;
      case 'convertToCapped':
        // The capped copy gets only the _id index (the convertToCapped command page: "does not
        // recreate indexes from the original collection on the new collection, other than _id").
        this.#entry(ns).indexes.clear();
        return plan;
      default:
        return plan;
    }
  }

  #entry(ns: string): Entry {
    let entry = this.#collections.get(ns);
    if (!entry) this.#collections.set(ns, (entry = { indexes: new Map() }));
    return entry;
  }

  #rename(command: Document): void {
    const { renameCollection: from, to } = command;
    if (typeof from !== 'string' || typeof to !== 'string') return;
    const moved = this.#collections.get(from);
    // dropTarget: whatever `to` was is gone; without it the rename required `to` not to exist.
    this.#collections.delete(to);
    this.#collections.delete(from);
    if (moved) this.#collections.set(to, moved);
  }

  #dropDatabase(db: string): void {
    for (const ns of [...this.#collections.keys()]) if (splitNs(ns).db === db) this.#collections.delete(ns);
  }

  /** `index`: a name, `"*"` (every index but _id), a list of names, or a key pattern. */
  #dropIndexes(ns: string, index: unknown): void {
    const indexes = this.#collections.get(ns)?.indexes;
    if (!indexes) return;
    if (index === '*') return indexes.clear();
    const names = typeof index === 'string' ? [index] : Array.isArray(index) ? index : [];
    for (const name of names) if (typeof name === 'string') indexes.delete(name);
    if (isDocument(index)) for (const [name, spec] of indexes) if (sameKey(spec.key, index)) indexes.delete(name);
  }

  /**
   * collMod's `index` (by `name` or `keyPattern`): hidden, expireAfterSeconds, prepareUnique,
   * unique (a conversion, after prepareUnique), forceNonUnique (7.1+, back to non-unique).
   */
  #collMod(ns: string, plan: CommandPlan): CommandPlan | undefined {
    const { index, ...rest } = plan.command;
    if (!isDocument(index)) return plan;
    const indexes = this.#collections.get(ns)?.indexes;
    const found = indexes ? findIndex(indexes, index) : undefined;
    if (indexes && found) indexes.set(found[0], modifiedSpec(found[1], index));
    // Only the collection's own options (validator, TTL of a clustered collection, ...) remain.
    return Object.keys(rest).length > 1 ? { ...plan, command: rest } : undefined;
  }
}

function findIndex(indexes: Map<string, Document>, mod: Document): [string, Document] | undefined {
  if (typeof mod.name === 'string') {
    const spec = indexes.get(mod.name);
    return spec ? [mod.name, spec] : undefined;
  }
  for (const [name, spec] of indexes) if (sameKey(spec.key, mod.keyPattern)) return [name, spec];
  return undefined;
}

function modifiedSpec(spec: Document, mod: Document): Document {
  const next: Document = { ...spec };
  if (mod.expireAfterSeconds !== undefined) next.expireAfterSeconds = mod.expireAfterSeconds;
  if (mod.hidden === true) next.hidden = true;
  if (mod.hidden === false) delete next.hidden;
  if (mod.prepareUnique === true) next.prepareUnique = true;
  if (mod.prepareUnique === false) delete next.prepareUnique;
  if (mod.unique === true) {
    next.unique = true;
    delete next.prepareUnique;
  }
  if (mod.forceNonUnique === true) {
    delete next.unique;
    delete next.prepareUnique;
  }
  return next;
}

/** Key patterns are equal when they name the same fields in the same order with equal values (1 == 1.0). */
function sameKey(a: unknown, b: unknown): boolean {
  if (!isDocument(a) || !isDocument(b)) return false;
  const left = Object.entries(a);
  const right = Object.entries(b);
  return left.length === right.length && left.every(([field, value], i) => {
    const other = right[i];
    return other !== undefined && other[0] === field && keyValue(value) === keyValue(other[1]);
  });
}

function keyValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return `n${Number(value)}`;
  const type = (value as { _bsontype?: unknown } | null)?._bsontype;
  if (type === 'Int32' || type === 'Double' || type === 'Long' || type === 'Decimal128') return `n${Number(String(value))}`;
  return `s${String(value)}`;
}

