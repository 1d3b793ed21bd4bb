// Documents whose field ORDER survives decoding. A BSON document is an ordered list of fields,
// and MongoDB keeps that order: `{b: 1, "10": 2}` stays so on the server. A JavaScript object
// does not: it enumerates integer-like names ("0", "10") first, in numeric order, whatever the
// order they were added in, so a document decoded by the driver into an object and written back
// has its fields reordered. A `Map` keeps insertion order for every key, and the driver's BSON
// serializer writes a Map as a document in that order (bson serializer.ts, makeFrame), so:
//   - `decodeOrdered` reads raw BSON into nested Maps (documents) and arrays, with every other
//     value decoded exactly as `EXACT_DECODE_OPTIONS` would (Int32/Double/Long kept apart);
//   - `toOrdered` converts an object (built in code or decoded the ordinary way) as best it can;
//   - `withRaw`/`orderedOf` let a document decoded the ordinary way carry the bytes it came from,
//     so that code needing order decodes those bytes instead of trusting the object.
// An untouched document decoded here and serialized again gives back its original bytes
// (test/unit/ordered-document.test.ts checks this on every document of the real fixtures).
import { BSON, DBRef, Double, Int32, Long, ObjectId, type Document } from 'mongodb';

/** A BSON document in field order. Embedded documents are OrderedDocs, arrays are arrays. */
export type OrderedDoc = Map<string, unknown>;

const DECODE_OPTIONS = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;
const RAW = Symbol('mongo-pitr.raw-bson');
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isOrderedDoc(value: unknown): value is OrderedDoc {
  return value instanceof Map;
}

/** Raw BSON (one document) as nested Maps, fields in their BSON order. */
export function decodeOrdered(raw: Uint8Array): OrderedDoc {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size = view.getInt32(0, true);
  if (size < 5 || size > raw.byteLength || raw[size - 1] !== 0) throw new RangeError('corrupt BSON document');
  const out: OrderedDoc = new Map();
  for (const element of elements(raw, view, 0)) out.set(element.name, valueOf(raw, view, element));
  return out;
}

/** One field of a document: its name, its type byte, and where its value lies. */
export interface RawElement {
  readonly name: string;
  readonly type: number;
  /** Offset of the value (after the name) in the enclosing buffer. */
  readonly start: number;
  readonly end: number;
}

/** The fields of the document that starts at `offset`, in order. */
export function* elements(raw: Uint8Array, view: DataView, offset: number): Generator<RawElement> {
  const end = offset + view.getInt32(offset, true) - 1;
  let at = offset + 4;
  while (at < end) {
    const type = raw[at] ?? 0;
    const nameEnd = raw.indexOf(0, at + 1);
    if (nameEnd < 0 || nameEnd >= end) throw new RangeError('corrupt BSON field name');
    const name = utf8.decode(raw.subarray(at + 1, nameEnd));
    const start = nameEnd + 1;
    const stop = start + valueSize(raw, view, type, start);
    if (stop > end) throw new RangeError(`corrupt BSON value of "${name}"`);
    yield { name, type, start, end: stop };
    at = stop;
  }
}

function valueSize(raw: Uint8Array, view: DataView, type: number, at: number): number {
  switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12: return 8;
    case 0x02: case 0x0d: case 0x0e: return 4 + view.getInt32(at, true);
    case 0x03: case 0x04: case 0x0f: return view.getInt32(at, true);
    case 0x05: return 5 + view.getInt32(at, true);
    case 0x06: case 0x0a: case 0x7f: case 0xff: return 0;
    case 0x07: return 12;
    case 0x08: return 1;
    case 0x0b: {
      const pattern = raw.indexOf(0, at);
      return raw.indexOf(0, pattern + 1) + 1 - at;
    }
    case 0x0c: return 4 + view.getInt32(at, true) + 12;
    case 0x10: return 4;
    case 0x13: return 16;
    default: throw new RangeError(`unknown BSON type 0x${type.toString(16)}`);
  }
}

function valueOf(raw: Uint8Array, view: DataView, element: RawElement): unknown {
  const { type, start } = element;
  switch (type) {
    case 0x01: return new Double(view.getFloat64(start, true));
    case 0x02: return utf8.decode(raw.subarray(start + 4, element.end - 1));
    case 0x03: {
      const doc: OrderedDoc = new Map();
      for (const child of elements(raw, view, start)) doc.set(child.name, valueOf(raw, view, child));
      return doc;
    }
    case 0x04: {
      const array: unknown[] = [];
      for (const child of elements(raw, view, start)) array.push(valueOf(raw, view, child));
      return array;
    }
    case 0x07: return new ObjectId(raw.slice(start, start + 12));
    case 0x08: return raw[start] === 1;
    case 0x09: return new Date(Number(view.getBigInt64(start, true)));
    case 0x0a: return null;
    case 0x10: return new Int32(view.getInt32(start, true));
    case 0x12: return Long.fromBits(view.getInt32(start, true), view.getInt32(start + 4, true));
    default: return decodeLeaf(raw, element);
  }
}

/** Any other type, through the driver's decoder: the value re-framed as `{v: value}`. */
function decodeLeaf(raw: Uint8Array, element: RawElement): unknown {
  const length = element.end - element.start;
  const frame = new Uint8Array(4 + 1 + 2 + length + 1);
  new DataView(frame.buffer).setInt32(0, frame.length, true);
  frame[4] = element.type;
  frame[5] = 0x76; // "v"
  frame[6] = 0;
  frame.set(raw.subarray(element.start, element.end), 7);
  return (BSON.deserialize(frame, DECODE_OPTIONS) as { v: unknown }).v;
}

/** A value with every plain object (and DBRef) turned into an OrderedDoc, in enumeration order. */
export function toOrdered(value: Document | OrderedDoc): OrderedDoc {
  if (value instanceof Map) return value;
  const out: OrderedDoc = new Map();
  for (const [name, field] of Object.entries(value)) out.set(name, orderedValue(field));
  return out;
}

function orderedValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(orderedValue);
  if (value instanceof Map) return value;
  if (value instanceof DBRef) return toOrdered(value.toJSON());
  if (isPlainObject(value)) return toOrdered(value);
  return value;
}

/** The reverse, for code (and tests) that read documents as objects; integer-like names move first. */
export function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) {
    const out: Document = {};
    for (const [name, field] of value) {
      Object.defineProperty(out, String(name), { value: toPlain(field), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

function isPlainObject(value: unknown): value is Document {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Marks `doc` as decoded from `raw` (a copy is kept), for orderedOf. Not enumerable: never serialized. */
export function withRaw<T extends Document>(doc: T, raw: Uint8Array): T {
  Object.defineProperty(doc, RAW, { value: raw, enumerable: false });
  return doc;
}

/** The document in field order: from the bytes it was decoded from when known, else from the object. */
export function orderedOf(doc: Document | OrderedDoc): OrderedDoc {
  if (doc instanceof Map) return doc;
  const raw: unknown = (doc as { [RAW]?: unknown })[RAW];
  return raw instanceof Uint8Array ? decodeOrdered(raw) : toOrdered(doc);
}
