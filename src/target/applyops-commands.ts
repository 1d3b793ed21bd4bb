// Cuts a list of applyOps ops into commands the server accepts. A transaction larger than
// 16 MiB exists only as several `partialTxn` oplog entries, each under the limit; sent back as
// one applyOps it is one command over the limit, which the server refuses, so the restore could
// never pass it. Pure: sizes are computed, nothing is sent.
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
import { BSON, type Document } from 'mongodb';

const MiB = 1024 * 1024;
/** BSONObjMaxUserSize (src/mongo/bson/util/builder.h). */
export const BSON_MAX_USER_SIZE = 16 * MiB;
/** Room kept for the fields the driver adds to a command ($db, lsid, $clusterTime, txn fields). */
export const DRIVER_FIELDS_ROOM = 16 * 1024;
/** The most BSON one applyOps command that carries several ops may hold. */
export const MAX_APPLY_OPS_COMMAND_BYTES = BSON_MAX_USER_SIZE - DRIVER_FIELDS_ROOM;

/** The command an ops list is sent as; options are the same for every command. */
export function applyOpsCommand(ops: readonly Document[]): Document {
  return { applyOps: ops, alwaysUpsert: true, bypassDocumentValidation: true };
}

/** BSON bytes of the command with an empty ops array: what every command costs beyond its ops. */
const EMPTY_COMMAND_BYTES = BSON.calculateObjectSize(applyOpsCommand([]));

/**
 * Splits `ops` (in order) into consecutive groups, each sent as one command of at most
 * `maxBytes` BSON bytes, or a single op when that op alone is larger. Every op lands in exactly
 * one group and the order is kept.
 */
export function splitApplyOps(ops: readonly Document[], maxBytes = MAX_APPLY_OPS_COMMAND_BYTES): Document[][] {
  const groups: Document[][] = [];
  let group: Document[] = [];
  let bytes = EMPTY_COMMAND_BYTES;
  for (const op of ops) {
    const opBytes = BSON.calculateObjectSize(op);
    if (group.length > 0 && bytes + elementBytes(group.length, opBytes) > maxBytes) {
      groups.push(group);
      group = [];
      bytes = EMPTY_COMMAND_BYTES;
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
