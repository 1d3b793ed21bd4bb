// --nsInclude/--nsExclude for an export. mongorestore refuses --oplogReplay together with
// namespace filters (mongo-tools mongorestore/mongorestore.go, ParseAndValidateOptions: "cannot
// use --oplogReplay with includes specified"), so the dump folder itself holds only the
// selection: the collections, and the oplog entries restore's namespace rules would apply
// (namespace-mapper.ts; internal namespaces are left out too).
// An applyOps entry (a transaction's, or the applyOps command's) keeps only its selected
// operations, nested applyOps included: mongorestore replays every inner op of the applyOps it
// reads (mongo-tools mongorestore/oplog.go, HandleNonTxnOp case "applyOps" and HandleTxnOp), so
// an excluded op left inside would be restored. The kept ops are copied as their archived bytes,
// field order included (a decoded object would move integer-like names first:
// ordered-document.ts). The entry itself stays, even emptied, whenever it is linked to others
// (prepare, partialTxn, or a prevOpTime): dropping it would break the chain mongorestore follows
// (mongo-tools common/txn/buffer.go) and orphan the commitTransaction or abortTransaction that
// decides it, which the export keeps (they name no namespace). A self-contained applyOps left
// with no op applies nothing and is left out.
// Only filtered exports decode entries; the memory bound stays one entry.
import { BSON, type Document } from 'mongodb';
import { decodeOplogEntry } from '../archive/bson-decode.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { decodeOrdered, isOrderedDoc, toPlain, type OrderedDoc } from '../ordered-document.ts';
import { compileNamespaceMapper, type NamespaceMapper } from '../restore/namespace-mapper.ts';

export interface NamespaceSelection {
  /** True when the base collection goes into the export. */
  collection(ns: string): boolean;
  /** The raw entries to write for one archived entry: none, itself, or it re-encoded. */
  entries(raw: Buffer): Buffer[];
}

export function selectNamespaces(options: { include?: readonly string[]; exclude?: readonly string[] } | undefined): NamespaceSelection | undefined {
  if (!options || ((options.include?.length ?? 0) === 0 && (options.exclude?.length ?? 0) === 0)) return undefined;
  const mapper = compileNamespaceMapper({ include: options.include, exclude: options.exclude });
  return {
    collection: (ns) => mapper.map(ns) !== undefined,
    entries: (raw) => selectedEntries(mapper, raw),
  };
}

function selectedEntries(mapper: NamespaceMapper, raw: Buffer): Buffer[] {
  const entry = decodeOplogEntry(raw);
  if (entry.op === 'c' && Array.isArray(entry.o.applyOps)) return selectedApplyOps(mapper, entry, raw);
  const mapping = mapper.mapEntry(entry);
  if ('skip' in mapping) return [];
  // Without renames the mapper returns the entry itself, so it is written as it was archived.
  return mapping.apply.map((kept) => (kept === entry ? raw : encode(kept)));
}

/** An applyOps entry with only its selected ops: itself when all are, [] when none and unlinked. */
function selectedApplyOps(mapper: NamespaceMapper, entry: OplogEntry, raw: Buffer): Buffer[] {
  const ordered = decodeOrdered(raw);
  const o = ordered.get('o');
  if (!isOrderedDoc(o)) return [raw];
  const selected = selectedOps(mapper, entry.ts, o);
  if (selected === undefined) return [raw];
  if (selected.ops === 0 && !linked(entry)) return [];
  ordered.set('o', selected.o);
  return [Buffer.from(BSON.serialize(ordered))];
}

/**
 * `o` (an applyOps command, in field order) with only the ops the rules select, recursing into
 * nested applyOps, and how many ops it keeps; undefined when every op is selected (nothing to
 * rewrite). Each op is decided on a plain copy of it, and copied as it was.
 */
function selectedOps(mapper: NamespaceMapper, ts: OplogEntry['ts'], o: OrderedDoc): { readonly o: OrderedDoc; readonly ops: number } | undefined {
  const ops = o.get('applyOps');
  if (!Array.isArray(ops)) return undefined;
  const kept: unknown[] = [];
  let changed = false;
  for (const op of ops) {
    if (!isOrderedDoc(op)) {
      kept.push(op);
      continue;
    }
    const innerO = op.get('o');
    if (op.get('op') === 'c' && isOrderedDoc(innerO) && innerO.has('applyOps')) {
      const nested = selectedOps(mapper, ts, innerO);
      if (nested === undefined) kept.push(op);
      else if (nested.ops > 0) kept.push(new Map(op).set('o', nested.o));
      changed ||= nested !== undefined;
      continue;
    }
    if ('apply' in mapper.mapEntry({ ...(toPlain(op) as OplogEntry), ts })) kept.push(op);
    else changed = true;
  }
  if (!changed) return undefined;
  return { o: new Map(o).set('applyOps', kept), ops: kept.length };
}

/**
 * Whether other entries depend on this one: a transaction's prepare or partial entry (its
 * decision or the next part follows), or any entry after the first of a chain (prevOpTime set).
 */
function linked(entry: OplogEntry): boolean {
  const o: Document = entry.o;
  if (o.prepare === true || o.partialTxn === true || entry.prepare === true || entry.partialTxn === true) return true;
  const prev = entry.prevOpTime?.ts;
  return prev !== undefined && !(prev.high === 0 && prev.low === 0);
}

function encode(entry: OplogEntry): Buffer {
  return Buffer.from(BSON.serialize(entry));
}
