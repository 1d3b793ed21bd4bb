// What one applyOps command looks like on the wire, and how a list of ops is cut into commands
// the server accepts.
//
// Which options to send, per server version (mongodb/mongo; the probe in open-target.ts decides
// once per target which of the two forms it takes):
//   - 4.4 to 6.0: src/mongo/db/repl/apply_ops.idl declares `alwaysUpsert` (default TRUE: every
//     update upserts) and `allowAtomic` (default true: a CRUD-only command runs in one
//     WriteUnitOfWork, src/mongo/db/repl/apply_ops.cpp of that era, where the first failing op
//     rolls back the whole command and its reply marks every op false). We send
//     `alwaysUpsert: false, allowAtomic: false`: ops are applied one by one, an update applies
//     the op's own upsert flag `b` only, and each op gets its own result (below).
//   - 6.2 and later apply ops one by one always (jstests/core/administrative/apply_ops/
//     apply_ops2.js, tagged requires_fcv_62: "6.2 removes support for atomic applyOps").
//     The versions of apply_ops2.js with that tag still accept `alwaysUpsert` and default it to
//     true: the same two options give the same behaviour there (`allowAtomic` is then unused).
//   - the current server refuses `alwaysUpsert: true` outright with code 6711601, before
//     applying anything (apply_ops2.js, current: "the 'alwaysUpsert' option is no longer
//     supported"), and applies with alwaysUpsert false (apply_ops.cpp, _applyOps:
//     applyOperation_inlock(..., false /* alwaysUpsert */, ...)). The test shows `true`
//     refused; whether `false` is too is not shown, so the probe tries the legacy form first
//     and, if the server refuses it, sends nothing but `applyOps` and `bypassDocumentValidation`.
// With either form every server applies the same way (src/mongo/db/repl/oplog.cpp,
// applyOperation_inlock, OplogApplication::Mode::kApplyOpsCmd, no wrapping WriteUnitOfWork):
//   - insert: a plain insert; on DuplicateKey it is retried as an upsert whose update is the
//     op's whole document, i.e. the document is REPLACED by the op's (the dump already held it);
//   - update: upsert only if the op carries `b: true`. A replacement is sent with `b: true`
//     (its result does not depend on what is stored, as in the portable applier,
//     modifiers-v1.ts applyUpdate); a `$v: 1`/`$v: 2` modifier update is sent without it, and
//     when no document has the `_id` the server returns UpdateOperationFailed for that op: a
//     `false` in the reply's `results`, the other ops still applied (applyops-reply.ts);
//   - delete: deleting nothing is success; into a missing collection, success too.
// Why an update of a missing document is "missing" and not an upsert: see applyops-reply.ts.
//
// A transaction larger than 16 MiB exists only as several `partialTxn` oplog entries, each under
// the limit; sent back as one applyOps it is one command over the limit, which the server
// refuses, so the restore could never pass it. Pure: sizes are computed, nothing is sent.
//
// The limits, from the server (mongodb/mongo):
//   - src/mongo/bson/util/builder.h: BSONObjMaxUserSize = 16 MiB (a user document, and what
//     hello reports as maxBsonObjectSize); BSONObjMaxInternalSize = 16 MiB + 16 KiB, the most
//     any BSON object may be, a command body included (validateBSON, through OP_MSG parsing in
//     src/mongo/rpc/op_msg.cpp), and an oplog entry too;
//   - servers that still apply a CRUD-only applyOps atomically (the `atomic` path of older
//     apply_ops.cpp) log it as ONE oplog entry carrying every op: the ops of one command must
//     then fit one entry.
// So every command carrying more than one op stays within BSONObjMaxUserSize minus room for
// what the driver appends ($db, lsid, $clusterTime, ...). An op that alone exceeds that is sent
// alone: its document is at most 16 MiB (the server refused anything larger when it was
// written), and the op's wrapping plus the command's is far under the 16 KiB of internal room.
//
// Splitting makes a transaction's commands separate on the target. Restore writes to a target
// no one reads until it ends, and the current applyOps applies its ops one by one anyway
// (src/mongo/db/repl/apply_ops.cpp, _applyOps), so what is lost is only all-or-nothing on failure, where
// the restore fails as a whole.
import { orderedOf } from '../ordered-document.ts';
import { BSON, type Document } from 'mongodb';
import type { OplogEntry } from '../oplog-entry.ts';
import { classifyUpdate } from './modifiers-v1.ts';

const MiB = 1024 * 1024;
/** BSONObjMaxUserSize (src/mongo/bson/util/builder.h). */
export const BSON_MAX_USER_SIZE = 16 * MiB;
/** Room kept for the fields the driver adds to a command ($db, lsid, $clusterTime, txn fields). */
export const DRIVER_FIELDS_ROOM = 16 * 1024;
/** The most BSON one applyOps command that carries several ops may hold. */
export const MAX_APPLY_OPS_COMMAND_BYTES = BSON_MAX_USER_SIZE - DRIVER_FIELDS_ROOM;

/**
 * The two forms of the command (see the top): `legacy` for servers that take `alwaysUpsert` and
 * `allowAtomic` (both sent false), `current` for servers that refuse them.
 */
export type ApplyOpsDialect = 'legacy' | 'current';

/**
 * The command an ops list is sent as. `bypassDocumentValidation`: the source accepted these
 * writes (under its validator of the time, or bypassing it), and the collection already carries
 * the validator the source has now; applying the ops as written is what a secondary does.
 */
export function applyOpsCommand(ops: readonly Document[], dialect: ApplyOpsDialect = 'current'): Document {
  const command = { applyOps: ops, bypassDocumentValidation: true };
  return dialect === 'legacy' ? { ...command, alwaysUpsert: false, allowAtomic: false } : command;
}

/**
 * An i/u/d entry as an applyOps op: `op`, `ns`, `o`, `o2`, and `b: true` on a replacement
 * update. Everything else the source logged is left out:
 *   - `ui`: the source collection's UUID; the target's collections have their own, and an op
 *     whose `ui` names another collection than `ns` fails (code 3318200, apply_ops.cpp), while
 *     any UUID in an op demands the useUUID privilege (src/mongo/db/commands/apply_ops_cmd.cpp,
 *     validateApplyOpsCommand);
 *   - the session and transaction fields (`lsid`, `txnNumber`, `stmtId`, `prevOpTime`) and the
 *     transaction markers (`partialTxn`, `prepare`, `count`, which the command refuses: codes
 *     31056, BadValue, 31240 in apply_ops.cpp): a replayed transaction is plain writes here;
 *   - `ts`, `t`, `v`, `wall`, `h`: the server fills a null `ts` and `wall` itself (apply_ops.cpp,
 *     _applyOps, before OplogEntry::parse), and writes the op with its own optime;
 *   - `fromMigrate`, `rid` (replicated record ids, 8.x), `needsRetryImage`: the source's own
 *     bookkeeping (mongorestore drops `rid` too, mongo-tools mongorestore/oplog.go).
 * `o2` stays: the update's target `_id` (plus the shard key, which the server ignores: it
 * updates by `_id` only, oplog.cpp applyOperation_inlock).
 */
export function toApplyOp(entry: OplogEntry): Document {
  // `o`/`o2` in their BSON field order (an object would move integer-like names such as "10" first).
  const op: Document = { op: entry.op, ns: entry.ns, o: orderedOf(entry.o) };
  if (entry.o2 !== undefined) op.o2 = orderedOf(entry.o2);
  if (entry.op === 'u' && classifyUpdate(entry.o) === 'replacement') op.b = true;
  return op;
}

/** BSON bytes of the command with an empty ops array: what a command costs beyond its ops. */
function emptyCommandBytes(dialect: ApplyOpsDialect): number {
  return BSON.calculateObjectSize(applyOpsCommand([], dialect));
}

/**
 * Splits `ops` (in order) into consecutive groups, each sent as one command (in `dialect`'s
 * form) of at most `maxBytes` BSON bytes, or a single op when that op alone is larger. Every op lands in exactly
 * one group and the order is kept.
 */
export function splitApplyOps(ops: readonly Document[], maxBytes = MAX_APPLY_OPS_COMMAND_BYTES,
  dialect: ApplyOpsDialect = 'current'): Document[][] {
  const empty = emptyCommandBytes(dialect);
  const groups: Document[][] = [];
  let group: Document[] = [];
  let bytes = empty;
  for (const op of ops) {
    const opBytes = BSON.calculateObjectSize(op);
    if (group.length > 0 && bytes + elementBytes(group.length, opBytes) > maxBytes) {
      groups.push(group);
      group = [];
      bytes = empty;
    }
    bytes += elementBytes(group.length, opBytes);
    group.push(op);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** One array element in BSON: type byte, the index as a C string, the document. */
function elementBytes(index: number, opBytes: number): number {
  return 1 + String(index).length + 1 + opBytes;
}
