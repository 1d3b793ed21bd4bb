// Inserts and updates into a collection the target does not have. A base lists the collections
// of its catalog read, but its oplog starts at T0, before that read: a collection written and
// then dropped in between (a retention job, a $out temporary collection) has entries in the
// base oplog and no place in the base. The oplog's own drop removes it further on.
//
// What the server answers (src/mongo/db/repl/apply_ops.cpp, _applyOps): applyOps applies its ops
// one by one, not atomically; for an op whose collection does not exist, a delete succeeds ("for
// idempotency reasons") and an insert or update throws NamespaceNotFound (26), which ends the
// command: the ops before it stay applied, the reply's `applied` counts up to and including the
// failed one, the ops after it are not tried. (Servers before 7.0 first try CRUD-only applyOps
// atomically and, on AtomicityFailure for a missing collection, again op by op, which ends the
// same way.) So: on NamespaceNotFound, create the collections the remaining inserts and updates
// name, and send the remaining ops again, once.
import { MongoServerError, type Document, type MongoClient } from 'mongodb';
import { splitNs } from '../namespace.ts';
import { ServerErrorCode } from './command-ops.ts';

/**
 * Sends `ops` with `send` (one applyOps command); on NamespaceNotFound creates the collections
 * missing for the unapplied inserts and updates and sends those ops again. Returns the
 * namespaces it created.
 */
export async function applyCreatingCollections(
  client: MongoClient,
  ops: readonly Document[],
  send: (ops: readonly Document[]) => Promise<unknown>,
): Promise<string[]> {
  try {
    await send(ops);
    return [];
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === ServerErrorCode.NamespaceNotFound)) throw error;
    const remaining = ops.slice(firstUnapplied(error, ops.length));
    const created = await createMissingCollections(client, remaining);
    // Nothing was missing: the error is about something else; let it stand.
    if (created.length === 0) throw error;
    await send(remaining);
    return created;
  }
}

/**
 * The index of the op that failed: the reply's `applied` counts it. Without a usable count, from
 * the start (replayed ops are idempotent, as for a restore run twice).
 */
function firstUnapplied(error: MongoServerError, length: number): number {
  const applied = Number(error.applied);
  return Number.isInteger(applied) && applied >= 1 && applied <= length ? applied - 1 : 0;
}

/** Creates, without options, every collection an insert or update of `ops` names and the target lacks. */
export async function createMissingCollections(client: MongoClient, ops: readonly Document[]): Promise<string[]> {
  const byDb = new Map<string, Set<string>>();
  for (const op of ops) {
    if ((op.op !== 'i' && op.op !== 'u') || typeof op.ns !== 'string') continue;
    const { db, coll } = splitNs(op.ns);
    byDb.set(db, (byDb.get(db) ?? new Set()).add(coll));
  }
  const created: string[] = [];
  for (const [db, colls] of byDb) {
    const existing = await client.db(db).listCollections({ name: { $in: [...colls] } }, { nameOnly: true }).toArray();
    const present = new Set(existing.map((info) => info.name));
    for (const coll of colls) {
      if (present.has(coll)) continue;
      try {
        await client.db(db).command({ create: coll });
      } catch (error) {
        // Created meanwhile (another lane): there now, which is all that matters.
        if (!(error instanceof MongoServerError && error.code === ServerErrorCode.NamespaceExists)) throw error;
      }
      created.push(`${db}.${coll}`);
    }
  }
  return created;
}
