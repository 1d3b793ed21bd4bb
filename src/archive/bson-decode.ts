// Decoding stored BSON for restore without changing a single value's type. The driver's default
// promotes int64 and double to JS numbers, and a number is written back as int32 when it fits:
// a double 1.0 or an int64 5 would come back as int32. With promoteValues off, numbers stay
// Int32/Double/Long objects and round-trip exactly; regexes stay BSONRegExp (flags intact).
// Code that reads a numeric field of an entry therefore goes through Number().
import { BSON, type Document } from 'mongodb';
import type { OplogEntry } from '../oplog-entry.ts';
import { elements, withRaw } from '../ordered-document.ts';

export const EXACT_DECODE_OPTIONS = {
  promoteValues: false,
  promoteLongs: false,
  promoteBuffers: false,
  bsonRegExp: true,
} as const;

export function decodeDocument(raw: Uint8Array): Document {
  return BSON.deserialize(raw, EXACT_DECODE_OPTIONS);
}

/**
 * An entry as an object, its `o` and `o2` (and those of the ops inside an `applyOps`) carrying
 * their raw bytes (ordered-document.ts withRaw): a document's field order is part of what a
 * replay must reproduce, and the object alone has lost it for integer-like names.
 */
export function decodeOplogEntry(raw: Uint8Array): OplogEntry {
  const entry = BSON.deserialize(raw, EXACT_DECODE_OPTIONS) as OplogEntry;
  attachRaw(entry, raw, 0);
  return entry;
}

/** Attaches to `decoded.o`/`decoded.o2` the bytes they came from, recursing into applyOps lists. */
function attachRaw(decoded: Document, raw: Uint8Array, offset: number): void {
  for (const element of elements(raw, offset)) {
    if (element.type !== 0x03 || (element.name !== 'o' && element.name !== 'o2')) continue;
    const value: unknown = decoded[element.name];
    if (value === null || typeof value !== 'object') continue;
    withRaw(value as Document, raw.slice(element.start, element.end));
    if (element.name === 'o') attachApplyOps(value as Document, raw, element.start);
  }
}

function attachApplyOps(o: Document, raw: Uint8Array, offset: number): void {
  if (!Array.isArray(o.applyOps)) return;
  const ops: unknown[] = o.applyOps;
  for (const element of elements(raw, offset)) {
    if (element.name !== 'applyOps' || element.type !== 0x04) continue;
    let index = 0;
    for (const op of elements(raw, element.start)) {
      const decoded = ops[index++];
      if (op.type === 0x03 && decoded !== null && typeof decoded === 'object') attachRaw(decoded as Document, raw, op.start);
    }
  }
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
