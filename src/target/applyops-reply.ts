// Reading the answer to an applyOps command that did not succeed as a whole. Pure.
//
// What the server answers (mongodb/mongo src/mongo/db/repl/apply_ops.cpp, _applyOps, and
// src/mongo/db/commands/apply_ops_cmd.cpp, which adds `ok: 0` and keeps the error fields
// _applyOps set), ops applied one by one (the only way current servers apply, and the way
// older ones do with `allowAtomic: false`, applyops-commands.ts):
//   - an op that FAILS with a status (not an exception) gets `false` in `results` and the next
//     ops are still applied; at the end the command fails with UnknownError (8), "applyOps had
//     one or more errors applying ops", `applied` and `results` covering every op;
//   - an op that THROWS (NamespaceNotFound for an insert or update into a missing collection,
//     DuplicateKey, a malformed op...) ends the command there: `applied` counts the ops up to
//     and including it, `results` ends with its `false`, `code`/`codeName`/`errmsg` are its
//     own, and the ops after it were not tried;
//   - `n` ops are skipped without a result (so none are sent: indexes stay aligned).
// Which ops can fail with a status (src/mongo/db/repl/oplog.cpp, applyOperation_inlock, mode
// kApplyOpsCmd): an update that matched no document and was not an upsert
// (UpdateOperationFailed: "Failed to apply update", "Couldn't find document", "Update of
// non-mod failed"), and an insert refused for another reason than a duplicate `_id`. A delete
// never does. So a `false` for an update means exactly "no document with that _id".
//
// Why such an update is counted as missing instead of upserted (as the portable applier does,
// fold-batch.ts): restores are only allowed at cutoffs at or after T1, and the base's dump of a
// collection ran inside [T0, T1]. An update at `ts` whose document the dump did not hold means
// the dump passed its place while it was absent: either before `ts`, and then it was inserted
// between the dump and `ts` (the insert is in the oplog before the update, and replayed
// first), or after `ts`, and then it was deleted between `ts` and that moment (the delete is in
// the oplog before T1, and replayed after). Either way the document ends as the oplog says
// without the update creating anything; an upsert would instead create a partial document
// `{_id, ...the diff's fields}` that lives until that delete, where a capped collection may
// evict a real document for it and a unique index may reject it.
import { MongoServerError, type Document } from 'mongodb';

/** UnknownError (src/mongo/base/error_codes.yml): what _applyOps returns after per-op failures. */
export const APPLY_OPS_HAD_ERRORS = 8;

export interface ApplyOpsFailure {
  /** Indexes of updates that found no document (a `false` result for a `u` op). */
  readonly missing: readonly number[];
  /** Indexes of inserts or deletes that failed with a status: a real failure. */
  readonly failed: readonly number[];
  /**
   * The op that threw and ended the command, with the server's code; the ops after it were
   * not applied. Undefined when every op was tried.
   */
  readonly stoppedAt?: { readonly index: number; readonly code: number | undefined };
}

/**
 * What an applyOps failure says about each of `ops` (the ops that command carried), or
 * undefined when `error` is not an applyOps reply with per-op results (a refused command, a
 * network error, an atomic-mode reply of an older server: the caller fails with it).
 */
export function readApplyOpsFailure(ops: readonly Document[], error: unknown): ApplyOpsFailure | undefined {
  if (!(error instanceof MongoServerError)) return undefined;
  const results = booleanResults(error.results);
  const applied = Number(error.applied);
  if (results === undefined || !Number.isInteger(applied) || applied !== results.length || applied > ops.length) return undefined;
  const code = typeof error.code === 'number' ? error.code : undefined;
  const ranToEnd = code === APPLY_OPS_HAD_ERRORS && applied === ops.length;
  if (!ranToEnd && (applied === 0 || results[applied - 1] !== false)) return undefined;
  const judged = ranToEnd ? results : results.slice(0, applied - 1);
  const missing: number[] = [];
  const failed: number[] = [];
  for (const [index, ok] of judged.entries()) {
    if (ok) continue;
    if (ops[index]?.op === 'u') missing.push(index);
    else failed.push(index);
  }
  return ranToEnd ? { missing, failed } : { missing, failed, stoppedAt: { index: applied - 1, code } };
}

function booleanResults(value: unknown): boolean[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.every((item) => typeof item === 'boolean') ? value : undefined;
}
