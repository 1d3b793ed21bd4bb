// BSON comparison order, as the server sorts values of mixed types in an index: by canonical
// type first (mongodb/mongo src/mongo/bson/bsontypes.cpp canonicalizeBSONType; docs "Comparison/
// Sort Order"), then by value within the type (src/mongo/bson/bsonelement.cpp compareElements).
// All numeric types are one canonical type compared by value; strings compare by their UTF-8
// bytes (the simple collation); objects element by element: canonical type, then field name,
// then value (src/mongo/bson/bsonobj.cpp woCompare).
// Used on values decoded with promoteValues: false, so that every BSON type keeps its wrapper.
import { BSON, type Document } from 'mongodb';

const RANK = {
  MinKey: -1,
  Undefined: 0,
  Null: 5,
  Number: 10,
  String: 15,
  Object: 20,
  Array: 25,
  Binary: 30,
  ObjectId: 35,
  Boolean: 40,
  Date: 45,
  Timestamp: 47,
  RegExp: 50,
  DBRef: 55,
  Code: 60,
  MaxKey: 127,
} as const;

function rankOf(value: unknown): number {
  if (value === undefined) return RANK.Undefined;
  if (value === null) return RANK.Null;
  if (typeof value === 'number' || typeof value === 'bigint') return RANK.Number;
  if (typeof value === 'string') return RANK.String;
  if (typeof value === 'boolean') return RANK.Boolean;
  if (value instanceof Date) return RANK.Date;
  if (value instanceof RegExp) return RANK.RegExp;
  if (Array.isArray(value)) return RANK.Array;
  switch ((value as { _bsontype?: string })._bsontype) {
    case 'MinKey': return RANK.MinKey;
    case 'MaxKey': return RANK.MaxKey;
    case 'Int32': case 'Double': case 'Long': case 'Decimal128': return RANK.Number;
    case 'BSONSymbol': return RANK.String;
    case 'Binary': return RANK.Binary;
    case 'ObjectId': return RANK.ObjectId;
    case 'Timestamp': return RANK.Timestamp;
    case 'BSONRegExp': return RANK.RegExp;
    case 'DBPointer': return RANK.DBRef;
    case 'Code': return RANK.Code;
    default: return RANK.Object;
  }
}

/** Negative, zero or positive as `a` sorts before, with or after `b` in an ascending index. */
export function compareBson(a: unknown, b: unknown): number {
  const byRank = rankOf(a) - rankOf(b);
  if (byRank !== 0) return Math.sign(byRank);
  switch (rankOf(a)) {
    case RANK.Number: return compareNumbers(numberOf(a), numberOf(b));
    case RANK.String: return Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));
    case RANK.Boolean: return Number(a) - Number(b);
    case RANK.Date: return Math.sign((a as Date).getTime() - (b as Date).getTime());
    case RANK.ObjectId: return Buffer.compare(Buffer.from((a as BSON.ObjectId).id), Buffer.from((b as BSON.ObjectId).id));
    case RANK.Binary: return compareBinary(a as BSON.Binary, b as BSON.Binary);
    case RANK.Timestamp: return compareTimestamps(a as BSON.Timestamp, b as BSON.Timestamp);
    case RANK.Object: case RANK.Array: return compareDocuments(a as Document, b as Document);
    case RANK.RegExp: return compareStrings(regexParts(a), regexParts(b));
    default: return 0;
  }
}

function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  const typed = value as { _bsontype: string; value?: number; toNumber?: () => number; toString(): string };
  if (typed._bsontype === 'Long' && typed.toNumber) return typed.toNumber();
  if (typed._bsontype === 'Decimal128') return Number(typed.toString());
  return Number(typed.value);
}

/** NaN sorts before every other number (src/mongo/bson/bsonelement.cpp compareDoubles). */
function compareNumbers(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(!Number.isNaN(a)) - Number(!Number.isNaN(b));
  return Math.sign(a - b);
}

/** Shorter first, then by subtype, then bytes. */
function compareBinary(a: BSON.Binary, b: BSON.Binary): number {
  return Math.sign(a.position - b.position) || Math.sign(a.sub_type - b.sub_type) || Buffer.compare(Buffer.from(a.buffer.subarray(0, a.position)), Buffer.from(b.buffer.subarray(0, b.position)));
}

function compareTimestamps(a: BSON.Timestamp, b: BSON.Timestamp): number {
  return Math.sign(a.high - b.high) || Math.sign(a.low - b.low);
}

/** Element by element: canonical type, then field name, then value; a prefix sorts first. */
function compareDocuments(a: Document, b: Document): number {
  const left = Object.entries(a);
  const right = Object.entries(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const [nameA, valueA] = left[i] as [string, unknown];
    const [nameB, valueB] = right[i] as [string, unknown];
    const order = Math.sign(rankOf(valueA) - rankOf(valueB)) || compareStrings([nameA], [nameB]) || compareBson(valueA, valueB);
    if (order !== 0) return order;
  }
  return Math.sign(left.length - right.length);
}

function regexParts(value: unknown): string[] {
  if (value instanceof RegExp) return [value.source, value.flags];
  const regex = value as BSON.BSONRegExp;
  return [regex.pattern, regex.options];
}

function compareStrings(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = Buffer.compare(Buffer.from(a[i] ?? ''), Buffer.from(b[i] ?? ''));
    if (order !== 0) return order;
  }
  return Math.sign(a.length - b.length);
}
