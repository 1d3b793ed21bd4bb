// Inserts and updates into a collection the target does not have. A base lists the collections
// of its catalog read, but its oplog starts at T0, before that read: a collection written and
// then dropped in between (a retention job, a $out temporary collection) has entries in the
// base oplog and no place in the base. The oplog's own drop removes it further on.
//
// What the server answers (src/mongo/db/repl/apply_ops.cpp, _applyOps): applyOps applies its ops
// one by one; for an op whose collection does not exist, a delete succeeds ("for idempotency
// reasons") and an insert or update throws NamespaceNotFound (26), which ends the command: the
// ops before it stay applied, the reply's `applied` counts up to and including the failed one,
// the ops after it are not tried (applyops-reply.ts reads the reply). So: on NamespaceNotFound,
// create the collections the remaining inserts and updates name, and send the remaining ops
// again. (Servers before 6.2 apply a CRUD-only command atomically unless told `allowAtomic:
// false`, which applyops-commands.ts sends them; even atomically, a missing collection makes
// them retry op by op, ending the same way.)
import { BSON, MongoServerError, type Document, type MongoClient } from 'mongodb';
import { TargetError } from '../errors.ts';
import { splitNs } from '../namespace.ts';
import { readApplyOpsFailure } from './applyops-reply.ts';
import { ServerErrorCode } from './command-ops.ts';

/** How one list of ops went. */
export interface AppliedOps {
  /** Updates of documents the target does not have (applyops-reply.ts: counted, not upserted). */
  readonly missing: number;
  /** Collections created for ops into them. */
  readonly created: readonly string[];
}

/**
 * Sends `ops` with `send` (one applyOps command each time) until every op is applied: an
 * update of a missing document is counted; on NamespaceNotFound the collections missing for
 * the unapplied inserts and updates are created and those ops sent again. Any other failure is
 * a TargetError naming the op.
 */
export async function applyCreatingCollections(
  client: MongoClient,
  ops: readonly Document[],
  send: (ops: readonly Document[]) => Promise<unknown>,
): Promise<AppliedOps> {
  let pending = ops;
  let missing = 0;
  const created: string[] = [];
  for (;;) {
    try {
      await send(pending);
      return { missing, created };
    } catch (error) {
      const failure = readApplyOpsFailure(pending, error);
      if (failure === undefined) throw error;
      const failed = failure.failed[0];
      if (failed !== undefined) throw opFailed(pending[failed], 'the server refused it (a false in the reply\'s results)', error);
      missing += failure.missing.length;
      const stopped = failure.stoppedAt;
      if (stopped === undefined) return { missing, created };
      const rest = pending.slice(stopped.index);
      if (stopped.code !== ServerErrorCode.NamespaceNotFound) throw opFailed(rest[0], (error as Error).message, error);
      const createdNow = await createMissingCollections(client, rest);
      // Nothing was missing: the error is about something else; let it stand.
      if (createdNow.length === 0) throw opFailed(rest[0], (error as Error).message, error);
      created.push(...createdNow);
      pending = rest;
    }
  }
}

function opFailed(op: Document | undefined, why: string, cause: unknown): TargetError {
  const what = op === undefined ? 'an op' : `${String(op.op)} ${String(op.ns)} ${BSON.EJSON.stringify(idOf(op.o2) ?? idOf(op.o) ?? null, { relaxed: true })}`;
  return new TargetError(`applyOps could not apply ${what}: ${why}`, { cause });
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

/** The `_id` of an op's `o`/`o2`, which may be a field-ordered Map (ordered-document.ts). */
function idOf(doc: unknown): unknown {
  if (doc instanceof Map) return doc.get('_id');
  return doc !== null && typeof doc === 'object' ? (doc as { _id?: unknown })._id : undefined;
}
