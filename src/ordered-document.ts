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
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const size = bytes.readInt32LE(0);
  if (size < 5 || size > bytes.length || bytes[size - 1] !== 0) throw new RangeError('corrupt BSON document');
  return readDocument(bytes, 0);
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
export function elements(raw: Uint8Array, offset: number): RawElement[] {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: RawElement[] = [];
  walk(bytes, offset, (name, type, start, end) => void out.push({ name, type, start, end }));
  return out;
}

type Visit = (name: string, type: number, start: number, end: number) => void;

/** Calls `visit` for each field of the document at `offset`, in order (no generator: this is hot). */
function walk(bytes: Buffer, offset: number, visit: Visit): void {
  const end = offset + bytes.readInt32LE(offset) - 1;
  let at = offset + 4;
  while (at < end) {
    const type = bytes[at] ?? 0;
    const nameEnd = bytes.indexOf(0, at + 1);
    if (nameEnd < 0 || nameEnd >= end) throw new RangeError('corrupt BSON field name');
    const name = text(bytes, at + 1, nameEnd);
    const start = nameEnd + 1;
    const stop = start + valueSize(bytes, type, start);
    if (stop > end) throw new RangeError(`corrupt BSON value of "${name}"`);
    visit(name, type, start, stop);
    at = stop;
  }
}

/** UTF-8 text, refused when invalid (as the driver's decoder refuses it by default). */
function text(bytes: Buffer, start: number, end: number): string {
  if (end - start <= 20) {
    // Short ASCII (most field names): cheaper by hand than through the decoder.
    let ascii = '';
    for (let at = start; at < end; at++) {
      const byte = bytes[at] ?? 0x80;
      if (byte >= 0x80) return strictText(bytes, start, end);
      ascii += String.fromCharCode(byte);
    }
    return ascii;
  }
  return strictText(bytes, start, end);
}

function strictText(bytes: Buffer, start: number, end: number): string {
  const decoded = bytes.toString('utf8', start, end);
  // The fast decoder replaces bad bytes with U+FFFD: only then check strictly.
  return decoded.includes('\uFFFD') ? utf8.decode(bytes.subarray(start, end)) : decoded;
}

/**
 * Documents decoded from BSON that named a field twice (a Map keeps one: the last value, at the
 * first place). A server never stores or logs such a document; a diff that does is malformed.
 */
const repeated = new WeakSet<OrderedDoc>();

export function hadRepeatedField(doc: OrderedDoc): boolean {
  return repeated.has(doc);
}

/** A document (or, `array`, an array) at `offset`: one loop, no callback, as this is the hot path. */
function readDocument(bytes: Buffer, offset: number): OrderedDoc;
function readDocument(bytes: Buffer, offset: number, array: unknown[]): unknown[];
function readDocument(bytes: Buffer, offset: number, array?: unknown[]): OrderedDoc | unknown[] {
  const doc: OrderedDoc | undefined = array === undefined ? new Map() : undefined;
  const end = offset + bytes.readInt32LE(offset) - 1;
  let at = offset + 4;
  while (at < end) {
    const type = bytes[at] ?? 0;
    const nameEnd = bytes.indexOf(0, at + 1);
    if (nameEnd < 0 || nameEnd >= end) throw new RangeError('corrupt BSON field name');
    const start = nameEnd + 1;
    const stop = start + valueSize(bytes, type, start);
    if (stop > end) throw new RangeError('corrupt BSON value');
    const value = valueOf(bytes, type, start, stop);
    if (doc !== undefined) {
      const name = text(bytes, at + 1, nameEnd);
      if (doc.has(name)) repeated.add(doc);
      doc.set(name, value);
    } else {
      array?.push(value);
    }
    at = stop;
  }
  return doc ?? array ?? [];
}

function valueSize(bytes: Buffer, type: number, at: number): number {
  switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12: return 8;
    case 0x02: case 0x0d: case 0x0e: return 4 + bytes.readInt32LE(at);
    case 0x03: case 0x04: case 0x0f: return bytes.readInt32LE(at);
    case 0x05: return 5 + bytes.readInt32LE(at);
    case 0x06: case 0x0a: case 0x7f: case 0xff: return 0;
    case 0x07: return 12;
    case 0x08: return 1;
    case 0x0b: {
      const pattern = bytes.indexOf(0, at);
      return bytes.indexOf(0, pattern + 1) + 1 - at;
    }
    case 0x0c: return 4 + bytes.readInt32LE(at) + 12;
    case 0x10: return 4;
    case 0x13: return 16;
    default: throw new RangeError(`unknown BSON type 0x${type.toString(16)}`);
  }
}

function valueOf(bytes: Buffer, type: number, start: number, end: number): unknown {
  switch (type) {
    case 0x01: return new Double(bytes.readDoubleLE(start));
    case 0x02: return text(bytes, start + 4, end - 1);
    case 0x03: return readDocument(bytes, start);
    case 0x04: return readDocument(bytes, start, []);
    case 0x07: return new ObjectId(Uint8Array.prototype.slice.call(bytes, start, start + 12));
    case 0x08: return bytes[start] === 1;
    case 0x09: return new Date(Number(bytes.readBigInt64LE(start)));
    case 0x0a: return null;
    case 0x10: return new Int32(bytes.readInt32LE(start));
    case 0x12: return Long.fromBits(bytes.readInt32LE(start), bytes.readInt32LE(start + 4));
    default: return decodeLeaf(bytes, { name: '', type, start, end });
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
