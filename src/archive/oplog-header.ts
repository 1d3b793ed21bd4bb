// Reads the few top-level fields of a raw oplog entry that archiving needs (ts, op, ns, wall)
// without decoding the rest: entries are only passed through to the store, and decoding `o`
// (up to 16 MiB) just to find `ts` would be the archiver's main cost.
// Element layout per the BSON spec (https://bsonspec.org/spec.html).
import { IntegrityError } from '../errors.ts';
import type { Ts } from '../timestamp.ts';
import type { OpType } from '../oplog-entry.ts';

export interface OplogHeader {
  readonly ts: Ts;
  readonly op: OpType;
  readonly ns: string;
  readonly wall: Date | undefined;
  /** The term (`t`, int64) of the entry's optime; undefined where the server writes none (FerretDB). */
  readonly term?: number | undefined;
  /** Size of the raw entry in bytes. */
  readonly size: number;
}

export interface RawOplogEntry {
  readonly raw: Buffer;
  readonly header: OplogHeader;
}

const FIXED_SIZES: Record<number, number> = {
  0x01: 8, 0x06: 0, 0x07: 12, 0x08: 1, 0x09: 8, 0x0a: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16, 0xff: 0, 0x7f: 0,
};

export function readOplogHeader(raw: Buffer): OplogHeader {
  const size = raw.readInt32LE(0);
  if (size !== raw.length) throw new IntegrityError(`oplog entry length ${size} does not match its ${raw.length} bytes`);
  let ts: Ts | undefined;
  let op: string | undefined;
  let ns: string | undefined;
  let wall: Date | undefined;
  let term: number | undefined;
  let pos = 4;
  while (pos < size - 1) {
    const type = raw[pos] ?? 0;
    const nameEnd = raw.indexOf(0, pos + 1);
    if (nameEnd < 0) break;
    const name = raw.toString('utf8', pos + 1, nameEnd);
    const value = nameEnd + 1;
    if (name === 'ts' && type === 0x11) ts = { i: raw.readUInt32LE(value), t: raw.readUInt32LE(value + 4) };
    else if (name === 'op' && type === 0x02) op = readString(raw, value);
    else if (name === 'ns' && type === 0x02) ns = readString(raw, value);
    else if (name === 'wall' && type === 0x09) wall = new Date(Number(raw.readBigInt64LE(value)));
    else if (name === 't' && type === 0x12) term = Number(raw.readBigInt64LE(value));
    else if (name === 't' && type === 0x10) term = raw.readInt32LE(value);
    pos = value + valueSize(raw, type, value);
  }
  if (!ts || !op || ns === undefined) throw new IntegrityError('oplog entry without ts, op or ns');
  return { ts, op: op as OpType, ns, wall, ...(term === undefined ? {} : { term }), size };
}

function readString(raw: Buffer, at: number): string {
  const length = raw.readInt32LE(at);
  return raw.toString('utf8', at + 4, at + 4 + length - 1);
}

function valueSize(raw: Buffer, type: number, at: number): number {
  const fixed = FIXED_SIZES[type];
  if (fixed !== undefined) return fixed;
  switch (type) {
    case 0x02: case 0x0d: case 0x0e: return 4 + raw.readInt32LE(at); // string, code, symbol
    case 0x03: case 0x04: case 0x0f: return raw.readInt32LE(at); // document, array, code w/ scope
    case 0x05: return 5 + raw.readInt32LE(at); // binary: length, subtype, bytes
    case 0x0b: { // regex: two cstrings
      const first = raw.indexOf(0, at);
      return raw.indexOf(0, first + 1) + 1 - at;
    }
    case 0x0c: return 4 + raw.readInt32LE(at) + 12; // DBPointer
    default: throw new IntegrityError(`oplog entry has unknown BSON type 0x${type.toString(16)}`);
  }
}
