// BSON comparison order: how the server sorts values of mixed types in an index and compares
// shard key values. Canonical type first (mongodb/mongo src/mongo/bson/bsontypes.cpp
// canonicalizeBSONType; docs "Comparison/Sort Order"), then the value within the type
// (src/mongo/bson/bsonelement.cpp compareElementValues), documents element by element:
// canonical type, field name, value (src/mongo/bson/bsonobj.cpp woCompare). Simple collation.
//
// Exact for every number: int32, int64, double and decimal128 are one canonical type compared by
// value, and a lossy comparison here is lost data — the resume of a base dumped in pieces skips
// what compares "equal" to its bound (source/resume-bound.ts), and chunk ownership decides which
// shard keeps a document (cluster/chunk-ownership.ts). So int64 stays a bigint, and mixed kinds
// are compared as exact rationals.
// Used on values decoded with promoteValues: false, or with the driver's defaults.
import { BSON, type Document } from 'mongodb';
import { UsageError } from './errors.ts';

/**
 * The canonical type of a value (bsontypes.cpp canonicalizeBSONType): types of one rank compare
 * by value, ranks by rank. Numbers of every width share a rank, as do strings and symbols.
 */
export function canonicalType(value: unknown): number {
  if (value === undefined) return 0;
  if (value === null) return 5;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 10;
    case 'string':
      return 15;
    case 'boolean':
      return 40;
    default:
  }
  if (Array.isArray(value)) return 25;
  if (value instanceof Date) return 45;
  if (value instanceof RegExp) return 50;
  const type = bsonType(value);
  switch (type) {
    case 'MinKey':
      return -1;
    case 'MaxKey':
      return 127;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return 10;
    case 'BSONSymbol':
      return 15;
    case 'Binary':
      return 30;
    case 'ObjectId':
      return 35;
    case 'Timestamp':
      return 47;
    case 'BSONRegExp':
      return 50;
    case 'DBPointer':
      return 55;
    case 'Code':
      return (value as { scope?: unknown }).scope ? 65 : 60;
    case undefined:
      return 20;
    default:
      throw new UsageError(`a BSON value of type ${type} cannot be ordered`);
  }
}

/** The driver's BSON class name of a value ("Long", "ObjectId", ...), or undefined for plain JS. */
export function bsonType(value: unknown): string | undefined {
  const type = typeof value === 'object' && value !== null ? (value as { _bsontype?: unknown })._bsontype : undefined;
  return typeof type === 'string' ? type : undefined;
}

/** Negative, zero or positive as `a` sorts before, with or after `b` in an ascending index. */
export function compareBsonValues(a: unknown, b: unknown): number {
  const rank = canonicalType(a) - canonicalType(b);
  if (rank !== 0) return Math.sign(rank);
  switch (canonicalType(a)) {
    case -1:
    case 0:
    case 5:
    case 127:
      return 0;
    case 10:
      return compareNumbers(a, b);
    case 15:
      return compareUtf8(stringOf(a), stringOf(b));
    case 20:
    case 25:
      return compareDocuments(a as Document, b as Document);
    case 30:
      return compareBinaries(a as BSON.Binary, b as BSON.Binary);
    case 35:
      return Math.sign(Buffer.compare(Buffer.from((a as BSON.ObjectId).id), Buffer.from((b as BSON.ObjectId).id)));
    case 40:
      return Number(a) - Number(b);
    case 45:
      return Math.sign((a as Date).getTime() - (b as Date).getTime());
    case 47:
      return compareTimestamps(a as BSON.Timestamp, b as BSON.Timestamp);
    case 50:
      return compareUtf8(...regexParts(a, b, 0)) || compareUtf8(...regexParts(a, b, 1));
    case 55:
      // bsonelement.cpp: DBRef (DBPointer) values by size, then bytes.
      return compareSizedBytes(valueBytes(a), valueBytes(b));
    case 60:
      return compareUtf8((a as BSON.Code).code, (b as BSON.Code).code);
    case 65:
      return compareUtf8((a as BSON.Code).code, (b as BSON.Code).code) || compareDocuments((a as BSON.Code).scope ?? {}, (b as BSON.Code).scope ?? {});
    default:
      return 0;
  }
}

function compareDocuments(a: Document, b: Document): number {
  const left = Object.entries(a);
  const right = Object.entries(b);
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    const [nameA, valueA] = left[index] ?? [];
    const [nameB, valueB] = right[index] ?? [];
    const rank = canonicalType(valueA) - canonicalType(valueB);
    if (rank !== 0) return Math.sign(rank);
    const names = compareUtf8(String(nameA), String(nameB));
    if (names !== 0) return names;
    const values = compareBsonValues(valueA, valueB);
    if (values !== 0) return values;
  }
  return Math.sign(left.length - right.length);
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : String((value as BSON.BSONSymbol).value);
}

function compareUtf8(a: string, b: string): number {
  return Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

function regexParts(a: unknown, b: unknown, part: 0 | 1): [string, string] {
  const of = (value: unknown): [string, string] => (value instanceof RegExp ? [value.source, value.flags] : [(value as BSON.BSONRegExp).pattern, (value as BSON.BSONRegExp).options]);
  return [of(a)[part], of(b)[part]];
}

/** Shorter first, then by subtype, then bytes (bsonelement.cpp, BinData). */
function compareBinaries(a: BSON.Binary, b: BSON.Binary): number {
  const [left, right] = [a.buffer.subarray(0, a.position), b.buffer.subarray(0, b.position)];
  if (left.length !== right.length) return Math.sign(left.length - right.length);
  if (a.sub_type !== b.sub_type) return Math.sign(a.sub_type - b.sub_type);
  return Math.sign(Buffer.compare(Buffer.from(left), Buffer.from(right)));
}

/** Unsigned 64-bit: seconds, then ordinal. */
function compareTimestamps(a: BSON.Timestamp, b: BSON.Timestamp): number {
  const [x, y] = [BigInt.asUintN(64, a.toBigInt()), BigInt.asUintN(64, b.toBigInt())];
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareSizedBytes(a: Buffer, b: Buffer): number {
  return Math.sign(a.length - b.length) || Math.sign(Buffer.compare(a, b));
}

/** The bytes a value occupies in a BSON document: {"": value} less its framing. */
export function valueBytes(value: unknown): Buffer {
  const bytes = Buffer.from(BSON.serialize({ '': value }));
  return bytes.subarray(4 + 1 + 1, bytes.length - 1);
}

/** A finite number as num / den exactly (den > 0), or one of the three non-finite values. */
type Exact = { readonly num: bigint; readonly den: bigint } | 'nan' | '-inf' | '+inf';

/** Numeric order across int32, int64, double and decimal128, exactly; NaN first, as the server orders it. */
function compareNumbers(a: unknown, b: unknown): number {
  // The common cases need no rationals: two doubles, two integers.
  if (typeof a === 'number' && typeof b === 'number' && !Number.isNaN(a) && !Number.isNaN(b)) return Math.sign(a - b) || 0;
  const [x, y] = [exactOf(a), exactOf(b)];
  const rank = rankOf(x) - rankOf(y);
  if (rank !== 0 || typeof x === 'string' || typeof y === 'string') return Math.sign(rank);
  const difference = x.num * y.den - y.num * x.den;
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

function rankOf(value: Exact): number {
  return value === 'nan' ? 0 : value === '-inf' ? 1 : value === '+inf' ? 3 : 2;
}

function exactOf(value: unknown): Exact {
  if (typeof value === 'bigint') return { num: value, den: 1n };
  if (typeof value === 'number') return exactDouble(value);
  switch (bsonType(value)) {
    case 'Long':
      return { num: (value as BSON.Long).toBigInt(), den: 1n };
    case 'Int32':
    case 'Double':
      return exactDouble(Number((value as { valueOf(): number }).valueOf()));
    case 'Decimal128':
      return exactDecimal((value as BSON.Decimal128).toString());
    default:
      throw new UsageError(`not a number: ${String(value)}`);
  }
}

/** A double is sign × 53-bit significand × 2^exponent: exact as a fraction with a power-of-two denominator. */
function exactDouble(value: number): Exact {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return '+inf';
  if (value === -Infinity) return '-inf';
  if (Number.isInteger(value)) return { num: BigInt(value), den: 1n };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n === 1n ? -1n : 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  // Subnormals (biased 0) have no implicit leading bit and the exponent of biased 1.
  const significand = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  return exponent >= 0 ? { num: sign * (significand << BigInt(exponent)), den: 1n } : { num: sign * significand, den: 1n << BigInt(-exponent) };
}

/** Decimal128 as the driver prints it ("-1.50E+3", "NaN", "-Infinity"): digits × 10^exponent exactly. */
function exactDecimal(text: string): Exact {
  if (text === 'NaN' || text === '-NaN') return 'nan';
  if (text === 'Infinity') return '+inf';
  if (text === '-Infinity') return '-inf';
  const match = /^(-)?(\d+)(?:\.(\d+))?(?:E([+-]?\d+))?$/i.exec(text);
  if (!match) throw new UsageError(`an unreadable Decimal128 ${text}`);
  const [, minus, whole = '', fraction = '', exponentText = '0'] = match;
  const digits = BigInt(`${whole}${fraction}`) * (minus ? -1n : 1n);
  const exponent = Number(exponentText) - fraction.length;
  return exponent >= 0 ? { num: digits * 10n ** BigInt(exponent), den: 1n } : { num: digits, den: 10n ** BigInt(-exponent) };
}
