// Which shard owns a document of a sharded collection at the cutoff: its shard key value falls
// in exactly one chunk [min, max) of config.chunks (s/catalog/type_chunk.h; the chunks of a
// collection cover MinKey .. MaxKey without gaps or overlaps). A restore uses it to drop the
// orphans a chunk migration left on a shard that does not own them at the cutoff (the range
// deleter's job on a live cluster), and to count documents as a router would. Pure. Shard key
// values are ordered by bson-order.ts, as the server orders them.
import { createHash } from 'node:crypto';
import { BSON, Long } from 'mongodb';
import type { Document } from 'mongodb';
import { IntegrityError, UsageError } from '../errors.ts';
import { bsonType, canonicalType, compareBsonValues, valueBytes } from '../bson-order.ts';

/** A chunk as config.chunks holds it, reduced to what ownership needs. */
export interface ChunkRange {
  readonly min: Document;
  readonly max: Document;
  readonly shard: string;
}

function unsupported(what: string): UsageError {
  return new UsageError(`shard key with ${what} is not supported for chunk ownership`, {
    hint: 'shard keys of numbers, strings, ObjectIds, dates, booleans, binaries, timestamps, embedded documents, MinKey/MaxKey are supported',
  });
}

/** A number of any width as an exact integer, or a double. */
function numeric(value: unknown): bigint | number {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return value;
  const type = bsonType(value);
  if (type === 'Long') return (value as Long).toBigInt();
  if (type === 'Int32' || type === 'Double') return Number((value as { valueOf(): number }).valueOf());
  throw unsupported('a Decimal128 value');
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * The int64 a number hashes as (bsonelement.h safeNumberLongForHash): integers as they are;
 * doubles truncated toward zero, NaN as 0, out of range clamped to the int64 limits.
 */
function numberForHash(value: unknown): bigint {
  const number = numeric(value);
  if (typeof number === 'bigint') return number;
  if (Number.isNaN(number)) return 0n;
  if (number >= 2 ** 63) return INT64_MAX;
  if (number < -(2 ** 63)) return INT64_MIN;
  return BigInt(Math.trunc(number));
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  return buffer;
}

/** db/hasher.cpp recursiveHash: canonical type, field name (inside documents), then the value. */
function hashInto(parts: Buffer[], value: unknown, fieldName: string | undefined): void {
  const type = canonicalType(value);
  if (type === 47) throw unsupported('a hashed Timestamp');
  if (type === 65) throw unsupported('hashed code with scope');
  if (type === 55) throw unsupported('a hashed DBPointer');
  parts.push(int32(type));
  if (fieldName !== undefined) parts.push(Buffer.from(`${fieldName}\0`, 'utf8'));
  if (type === 20 || type === 25) {
    for (const [name, inner] of Object.entries(value as Document)) hashInto(parts, inner, name);
    // The terminating EOO element: canonical type 0; its field name has no bytes at all (an
    // EOO's fieldNameSize is 0), as the {} and [] vectors of hasher_test.cpp confirm.
    parts.push(int32(0));
    return;
  }
  if (type === 10) {
    const long = Buffer.alloc(8);
    long.writeBigInt64LE(numberForHash(value));
    parts.push(long);
    return;
  }
  if (type === -1 || type === 0 || type === 5 || type === 127) return;
  // A JS string serializes as a BSON string; a BSONSymbol hashes the same (same bytes, same rank).
  parts.push(valueBytes(bsonType(value) === 'BSONSymbol' ? String((value as { value: string }).value) : value));
}

/**
 * The server's hashed-index value of one BSON value (db/hasher.cpp BSONElementHasher::hash64,
 * seed 0, the seed of hashed indexes and hashed shard keys): md5 over the seed (int32 LE) and
 * the element (canonical type, value; numbers squashed to int64), the digest's first 8 bytes as
 * a little-endian int64.
 */
export function hashedValue(value: unknown): bigint {
  const parts: Buffer[] = [int32(0)];
  hashInto(parts, value, undefined);
  const digest = createHash('md5').update(Buffer.concat(parts)).digest();
  return digest.readBigInt64LE(0);
}

/**
 * The shard key value of a document under a key pattern ({a: 1}, {a: 'hashed'}, {a: 1, b:
 * 'hashed'}): each field by its dotted path; a missing field is null (the server routes a
 * document without a shard key field as null, 4.4+); a hashed field is the NumberLong of its
 * hash. A shard key value cannot be an array (the server refuses to insert one).
 */
export function shardKeyOf(doc: Document, keyPattern: Document): Document {
  const key: Document = {};
  for (const [field, kind] of Object.entries(keyPattern)) {
    const value = valueAtPath(doc, field);
    if (Array.isArray(value)) throw new IntegrityError(`shard key field ${field} holds an array in document ${String(doc._id)}`);
    key[field] = kind === 'hashed' ? Long.fromBigInt(hashedValue(value)) : value;
  }
  return key;
}

function valueAtPath(doc: Document, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || bsonType(current) !== undefined) return null;
    current = (current as Document)[part];
    if (current === undefined) return null;
  }
  return current;
}

/** Compares shard key values field by field, in the key pattern's order. */
function compareKeys(a: Document, b: Document, fields: readonly string[]): number {
  for (const field of fields) {
    const order = compareBsonValues(a[field] ?? null, b[field] ?? null);
    if (order !== 0) return order;
  }
  return 0;
}

/**
 * The chunks of one sharded collection, sorted by min and checked to tile MinKey .. MaxKey;
 * `ownerOf` finds the owning shard by binary search. Memory: the collection's chunks.
 */
export class ChunkOwnership {
  readonly #keyPattern: Document;
  readonly #fields: readonly string[];
  readonly #chunks: readonly ChunkRange[];

  constructor(keyPattern: Document, chunks: Iterable<ChunkRange>) {
    this.#keyPattern = keyPattern;
    this.#fields = Object.keys(keyPattern);
    if (this.#fields.length === 0) throw new UsageError('an empty shard key pattern');
    this.#chunks = [...chunks].sort((a, b) => compareKeys(a.min, b.min, this.#fields));
    this.#checkTiling();
  }

  ownerOf(doc: Document): string {
    const key = shardKeyOf(doc, this.#keyPattern);
    let [low, high] = [0, this.#chunks.length - 1];
    while (low <= high) {
      const middle = (low + high) >> 1;
      const chunk = this.#chunks[middle];
      if (!chunk) break;
      if (compareKeys(key, chunk.min, this.#fields) < 0) high = middle - 1;
      else if (compareKeys(key, chunk.max, this.#fields) >= 0) low = middle + 1;
      else return chunk.shard;
    }
    throw new IntegrityError(`no chunk owns shard key ${JSON.stringify(BSON.EJSON.serialize(key))}`);
  }

  /** First min all MinKey, each max the next min, last max all MaxKey: what config.chunks guarantees. */
  #checkTiling(): void {
    const first = this.#chunks[0];
    const last = this.#chunks[this.#chunks.length - 1];
    if (!first || !last) throw new IntegrityError('a sharded collection with no chunk');
    const all = (doc: Document, type: 'MinKey' | 'MaxKey') => this.#fields.every((field) => bsonType(doc[field]) === type);
    if (!all(first.min, 'MinKey') || !all(last.max, 'MaxKey')) throw new IntegrityError('the chunks do not span MinKey .. MaxKey');
    for (let index = 1; index < this.#chunks.length; index++) {
      const [before, chunk] = [this.#chunks[index - 1], this.#chunks[index]];
      if (before && chunk && compareKeys(before.max, chunk.min, this.#fields) !== 0) {
        throw new IntegrityError(`the chunks leave a gap or overlap at ${JSON.stringify(BSON.EJSON.serialize(chunk.min))}`);
      }
    }
  }
}
