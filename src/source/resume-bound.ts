// Where a collection dumped in pieces (backup/dump-pieces.ts) resumes: right after the last
// stored document's _id, in the _id index's order.
//
// The bound is the cursor's `min` on the _id index (hint {_id: 1} + min {_id: last}; mongodb/mongo
// src/mongo/db/query/find_command.idl: min/max are index bounds and need a hint), never a filter
// {_id: {$gt: last}}: a comparison operator matches only values of the bound's own canonical type
// (docs "Comparison/Sort Order", type bracketing), so a number bound would never return the
// string, object or ObjectId _ids that sort after every number, and those documents would be
// missing from the base. `min` is inclusive, so the document equal to the bound (the last one
// stored) comes back first and is skipped here, by BSON order (../bson-order.ts, exact for every
// number: a lossy comparison would skip the document after a deleted bound as "equal"). A server that
// ignores `min` (FerretDB 1.x does) still sorts by _id, and the same skip then drops every
// document up to the bound: slower, never wrong.
import { BSON, type Document, type FindOptions } from 'mongodb';
import { compareBsonValues } from '../bson-order.ts';

/** The _id index, ascending: the order pieces are dumped in. */
const ID_ORDER = { _id: 1 } as const;

export interface ResumeFind {
  readonly filter: Document;
  readonly options: FindOptions;
}

/** The find that reads a collection in _id order from just after `after` (null: from the start). */
export function resumeFind(after: unknown): ResumeFind {
  const ordered: FindOptions = { sort: ID_ORDER, hint: ID_ORDER };
  if (after === undefined) return { filter: {}, options: ordered };
  return { filter: {}, options: { ...ordered, min: { _id: after } } };
}

/** True when `id` sorts after the bound, so the document belongs to the next piece. */
export function isPastBound(id: unknown, after: unknown): boolean {
  return after === undefined || compareBsonValues(id, after) > 0;
}

/** The _id of a raw document, every BSON type kept (so it can be a bound again, as it was). */
export function idOf(raw: Uint8Array): unknown {
  return BSON.deserialize(raw, { promoteValues: false, promoteBuffers: false })['_id'];
}

/** A bound as the manifest keeps it: the BSON of {_id: value}, base64 (exact for every type). */
export function encodeBound(id: unknown): string {
  return Buffer.from(BSON.serialize({ _id: id })).toString('base64');
}

export function decodeBound(encoded: string): unknown {
  return BSON.deserialize(Buffer.from(encoded, 'base64'), { promoteValues: false, promoteBuffers: false })['_id'];
}
