// A fake target that answers applyOps the way mongod's code does (a pure unit, no server), used
// by the applyOps applier's tests. Sources, mongodb/mongo:
//   src/mongo/db/repl/apply_ops.cpp (_applyOps): ops one by one; `n` ops skipped without a
//     result; an op carrying `ui` whose UUID names another collection fails with status 3318200;
//     a missing collection: a delete succeeds, an insert or update throws NamespaceNotFound; a
//     status failure appends false to `results` and goes on, ending in UnknownError (8) "applyOps
//     had one or more errors applying ops"; an exception appends false, sets `applied` (counting
//     it), code, codeName, errmsg, `results`, and ends the command.
//   src/mongo/db/repl/oplog.cpp (applyOperation_inlock, mode kApplyOpsCmd): an insert or delete
//     without _id throws NoSuchKey; insert of an existing
//     _id: DuplicateKey, retried as an upsert replacing the document with the op's `o`; update:
//     upsert iff alwaysUpsert or the op's `b`; no match and no upsert: status
//     UpdateOperationFailed; delete of nothing: success.
//   src/mongo/db/commands/apply_ops_cmd.cpp: the reply is the fields _applyOps set plus ok: 0.
// Two server generations:
//   'current': jstests/core/administrative/apply_ops/apply_ops2.js (current): `alwaysUpsert` is
//     refused with 6711601 before anything is applied (modelled strictly: any alwaysUpsert);
//     updates never upsert unless `b`.
//   '6.0': apply_ops.idl of that era: alwaysUpsert and allowAtomic default true; a CRUD-only
//     command with allowAtomic runs in one WriteUnitOfWork (apply_ops.cpp of that era): the
//     first status failure rolls everything back and the reply marks every op up to it false,
//     code = that op's status; inside that unit an insert is an upsert outright; a missing
//     collection is AtomicityFailure, retried op by op.
import { MongoServerError, type Document, type MongoClient } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { idKey } from '../../../src/target/id-key.ts';
import { applyUpdate } from '../../../src/target/modifiers-v1.ts';
import { toOrdered, toPlain } from '../../../src/ordered-document.ts';

export type ServerGeneration = 'current' | '6.0';

const NoSuchKey = 4;
const NamespaceNotFound = 26;
const UpdateOperationFailed = 218;
const UnknownError = 8;

type Store = Map<string, Map<string, Document>>;
/** A status failure (the op gets false, the command goes on), or success. */
type OpStatus = { ok: true } | { ok: false; code: number; errmsg: string };

class Thrown extends Error {
  readonly code: number;
  readonly codeName: string;
  constructor(code: number, codeName: string, message: string) {
    super(message);
    this.code = code;
    this.codeName = codeName;
  }
}

export interface FakeServer {
  readonly client: MongoClient;
  /** Every command received, in order. */
  readonly commands: Document[];
  /** The documents of `ns`, sorted by _id key; undefined when the collection does not exist. */
  docs(ns: string): Document[] | undefined;
}

export function fakeApplyOpsServer(generation: ServerGeneration, initial: Record<string, Document[]>): FakeServer {
  let store: Store = new Map(Object.entries(initial).map(([ns, docs]) => [ns, new Map(docs.map((d) => [idKey(d._id), d]))]));
  const commands: Document[] = [];

  function applyOps(command: Document): Document {
    if (generation === 'current' && 'alwaysUpsert' in command) {
      throw new MongoServerError({ ok: 0, code: 6711601, codeName: 'Location6711601', errmsg: "applyOps command no longer supports the 'alwaysUpsert' option" });
    }
    // Ops arrive with `o`/`o2` as field-ordered Maps (ordered-document.ts); the fake reads objects.
    const ops = (command.applyOps as Document[]).map((op) => plainOp(op));
    const alwaysUpsert = generation === '6.0' ? command.alwaysUpsert !== false : false;
    const crudOnly = ops.every((op) => ['i', 'u', 'd', 'n'].includes(op.op));
    if (generation === '6.0' && command.allowAtomic !== false && crudOnly) {
      const atomic = applyAtomically(ops, alwaysUpsert);
      if (atomic !== undefined) return atomic;
    }
    return applyOneByOne(ops, alwaysUpsert);
  }

  function applyAtomically(ops: Document[], alwaysUpsert: boolean): Document | undefined {
    const copy: Store = new Map([...store].map(([ns, docs]) => [ns, new Map(docs)]));
    const saved = store;
    store = copy;
    let applied = 0;
    for (const op of ops) {
      if (op.op === 'n') continue;
      if (!store.has(op.ns) && op.op !== 'd') {
        store = saved; // AtomicityFailure: retried op by op
        return undefined;
      }
      let status: OpStatus;
      try {
        status = applyOne(op, alwaysUpsert);
      } catch (error) {
        if (!(error instanceof Thrown)) throw error;
        status = { ok: false, code: error.code, errmsg: error.message };
      }
      if (!status.ok) {
        // The unit is rolled back; the reply marks every op up to the failed one false.
        store = saved;
        throw new MongoServerError({ ok: 0, applied: applied + 1, code: status.code, codeName: 'Error', errmsg: status.errmsg, results: Array(applied + 1).fill(false) });
      }
      applied++;
    }
    return { ok: 1, applied, results: Array(applied).fill(true) };
  }

  function applyOneByOne(ops: Document[], alwaysUpsert: boolean): Document {
    const results: boolean[] = [];
    let errors = 0;
    for (const op of ops) {
      if (op.op === 'n') continue;
      let status: OpStatus;
      try {
        status = applyOne(op, alwaysUpsert);
      } catch (error) {
        if (!(error instanceof Thrown)) throw error;
        results.push(false);
        throw new MongoServerError({ ok: 0, applied: results.length, code: error.code, codeName: error.codeName, errmsg: error.message, results });
      }
      results.push(status.ok);
      if (!status.ok) errors++;
    }
    if (errors > 0) {
      throw new MongoServerError({ ok: 0, applied: results.length, results, code: UnknownError, codeName: 'UnknownError', errmsg: 'applyOps had one or more errors applying ops' });
    }
    return { ok: 1, applied: results.length, results };
  }

  function applyOne(op: Document, alwaysUpsert: boolean): OpStatus {
    if ('ui' in op) return { ok: false, code: 3318200, errmsg: `Namespace '${op.ns}' and UUID point to different collections` };
    const coll = store.get(op.ns);
    if (coll === undefined) {
      if (op.op === 'd') return { ok: true };
      throw new Thrown(NamespaceNotFound, 'NamespaceNotFound', `cannot apply insert or update operation on a non-existent namespace ${op.ns}`);
    }
    if ((op.op === 'i' || op.op === 'd') && op.o?._id === undefined) {
      throw new Thrown(NoSuchKey, 'NoSuchKey', `Failed to apply ${op.op === 'i' ? 'insert' : 'delete'} due to missing _id: ${JSON.stringify(op)}`);
    }
    if (op.op === 'i') {
      // Insert; on DuplicateKey (at once inside an atomic unit) an upsert replacing the document.
      coll.set(idKey(op.o._id), op.o);
      return { ok: true };
    }
    if (op.op === 'd') {
      coll.delete(idKey(op.o._id));
      return { ok: true };
    }
    const id: unknown = op.o2?._id;
    const key = idKey(id);
    const stored = coll.get(key) ?? null;
    const entry = { op: 'u', ns: op.ns, o: op.o, o2: op.o2 } as unknown as OplogEntry;
    if (stored !== null) {
      const next = applyUpdate(toOrdered(stored), entry);
      if (next !== null) coll.set(key, toPlain(next) as Document);
      return { ok: true };
    }
    if (!(alwaysUpsert || op.b === true)) return { ok: false, code: UpdateOperationFailed, errmsg: `Failed to apply update: ${JSON.stringify(op)}` };
    // An upsert: the new document is the query's {_id} with the update applied to it.
    const created = applyUpdate(toOrdered({ _id: id }), entry);
    if (created !== null) coll.set(key, { _id: id, ...(toPlain(created) as Document) });
    return { ok: true };
  }

  const client = {
    db: (db: string) => ({
      command: async (command: Document) => {
        commands.push(command);
        if ('create' in command) {
          const ns = `${db}.${String(command.create)}`;
          if (store.has(ns)) throw new MongoServerError({ ok: 0, code: 48, codeName: 'NamespaceExists', errmsg: `Collection ${ns} already exists.` });
          store.set(ns, new Map());
          return { ok: 1 };
        }
        if ('applyOps' in command) return applyOps(command);
        throw new Error(`unexpected command ${JSON.stringify(command)}`);
      },
      listCollections: (filter: { name: { $in: string[] } }) => ({
        toArray: async () => filter.name.$in.filter((coll) => store.has(`${db}.${coll}`)).map((name) => ({ name, type: 'collection' })),
      }),
    }),
  };

  return {
    client: client as unknown as MongoClient,
    commands,
    docs: (ns) => {
      const coll = store.get(ns);
      return coll === undefined ? undefined : [...coll.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, doc]) => doc);
    },
  };
}

/** An op as the fake reads it: `o`/`o2` as plain objects (they arrive as field-ordered Maps). */
function plainOp(op: Document): Document {
  const plain: Document = { ...op, o: toPlain(op.o) };
  if (op.o2 !== undefined) plain.o2 = toPlain(op.o2);
  return plain;
}
