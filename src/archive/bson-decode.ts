// Decoding stored BSON for restore without changing a single value's type. The driver's default
// promotes int64 and double to JS numbers, and a number is written back as int32 when it fits:
// a double 1.0 or an int64 5 would come back as int32. With promoteValues off, numbers stay
// Int32/Double/Long objects and round-trip exactly; regexes stay BSONRegExp (flags intact).
// Code that reads a numeric field of an entry therefore goes through Number().
import { BSON, type Document } from 'mongodb';
import type { OplogEntry } from '../oplog-entry.ts';

export const EXACT_DECODE_OPTIONS = {
  promoteValues: false,
  promoteLongs: false,
  promoteBuffers: false,
  bsonRegExp: true,
} as const;

export function decodeDocument(raw: Uint8Array): Document {
  return BSON.deserialize(raw, EXACT_DECODE_OPTIONS);
}

export function decodeOplogEntry(raw: Uint8Array): OplogEntry {
  return BSON.deserialize(raw, EXACT_DECODE_OPTIONS) as OplogEntry;
}

/** A numeric BSON value (number, Int32, Double, Long) as a JS number; undefined otherwise. */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'valueOf' in value) {
    const primitive = (value as { valueOf(): unknown }).valueOf();
    if (typeof primitive === 'number') return primitive;
    if (typeof primitive === 'bigint') return Number(primitive);
  }
  if (value && typeof value === 'object' && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return undefined;
}
