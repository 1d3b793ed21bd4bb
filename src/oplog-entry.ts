// The decoded shape of one local.oplog.rs entry, as MongoDB 4.4–8.x writes it. Field names stay
// MongoDB's own (https://www.mongodb.com/docs/manual/core/replica-set-oplog/; mongo-tools
// common/db/oplog.go). Only what restore and stats read is typed; the rest passes through.
import type { Document, Long, Timestamp, UUID } from 'mongodb';

export const OpType = {
  insert: 'i',
  update: 'u',
  delete: 'd',
  command: 'c',
  noop: 'n',
} as const;
export type OpType = (typeof OpType)[keyof typeof OpType];

export interface OplogEntry {
  ts: Timestamp;
  /** Election term; absent on very old entries. */
  t?: Long | number;
  /** Oplog version (2 since MongoDB 3.x). */
  v?: number;
  op: OpType;
  /** "db.coll", or "db.$cmd" for commands, "admin.$cmd" for applyOps/transactions. */
  ns: string;
  /** Collection UUID. */
  ui?: UUID;
  o: Document;
  /** The update's target (`{_id}`, plus shard key); only on "u". */
  o2?: Document;
  wall?: Date;
  lsid?: Document;
  txnNumber?: Long | number;
  stmtId?: number | number[];
  /** Previous entry of the same transaction (partialTxn chains, prepared transactions). */
  prevOpTime?: { ts: Timestamp; t: Long | number };
  /** Set on the entries of a prepared transaction's applyOps. */
  prepare?: boolean;
  /** Set on all but the last applyOps entry of a large transaction (4.2+). */
  partialTxn?: boolean;
  fromMigrate?: boolean;
  [field: string]: unknown;
}

/**
 * A value that is an embedded document in an entry (`o`, `o2`, a command's arguments): an object
 * that is neither an array nor one of the driver's BSON value classes (ObjectId, Long, Binary,
 * ...: they carry `_bsontype`).
 */
export function isDocument(value: unknown): value is Document {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { _bsontype?: unknown })._bsontype !== 'string'
  );
}
