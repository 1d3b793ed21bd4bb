// Chunk ownership: BSON order of shard key values (bson/bsonelement.cpp compareElements,
// bson/bsontypes.h canonicalizeBSONType) and the hashed shard key value (db/hasher.cpp
// BSONElementHasher::hash64, seed 0). The hash vectors are the server's own test vectors,
// src/mongo/db/hasher_test.cpp ("These tests form test vectors for hashed indexes"), values
// determined against the server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Binary, BSONRegExp, BSONSymbol, Code, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'mongodb';
import { ChunkOwnership, hashedValue, shardKeyOf } from '../../../src/cluster/chunk-ownership.ts';
import { compareBsonValues } from '../../../src/bson-order.ts';
import { IntegrityError, UsageError } from '../../../src/errors.ts';

describe('hashedValue: hasher_test.cpp vectors', () => {
  const vectors: [string, unknown, bigint][] = [
    ['int 42', new Int32(42), -944302157085130861n],
    ['double 42.123 (truncated)', new Double(42.123), -944302157085130861n],
    ['long 42', Long.fromNumber(42), -944302157085130861n],
    ['JS number 42', 42, -944302157085130861n],
    ['0', 0, 4854801880128277513n],
    ['0.456', 0.456, 4854801880128277513n],
    ['NaN (as zero)', Number.NaN, 4854801880128277513n],
    ['1', 1, 5902408780260971510n],
    ['1.987', 1.987, 5902408780260971510n],
    ['-1', -1, 1140205862565771219n],
    ['-1.789', -1.789, 1140205862565771219n],
    ['int min', -2147483648, 6165898260261354870n],
    ['int max', 2147483647, 1143184177162245883n],
    ['double max (clamped to int64 max)', Number.MAX_VALUE, 921523596458303250n],
    ['long max', Long.MAX_VALUE, 921523596458303250n],
    ['-double max (clamped to int64 min)', -Number.MAX_VALUE, 4532067210535695462n],
    ['long min', Long.MIN_VALUE, 4532067210535695462n],
    ['MinKey', new MinKey(), 7961148599568647290n],
    ['MaxKey', new MaxKey(), 5504842513779440750n],
    ['undefined', undefined, 40158834000849533n],
    ['"abc"', 'abc', 8478485326885698097n],
    ['symbol "abc"', new BSONSymbol('abc'), 8478485326885698097n],
    ['""', '', 2049396243249673340n],
    ['{a: "abc", b: 123LL}', { a: 'abc', b: Long.fromNumber(123) }, 4771603801758380216n],
    ['{}', {}, 7980500913326740417n],
    ['["bar", "baz", "qux"]', ['bar', 'baz', 'qux'], -2938911267422831539n],
    ['[]', [], 8849948234993459283n],
    ['BinData general', new Binary(Buffer.from([0, 1, 2, 3, 4, 6]), 0), 7252465090394235301n],
    ['BinData custom', new Binary(Buffer.from([0, 1, 2, 3, 4, 6]), 0x80), 5736670452907618262n],
    ['UUID', new Binary(Buffer.from([...Array(16).keys()]), 4), 6084661258071355978n],
    ['ObjectId 0102…1112', new ObjectId('010203040506070809101112'), -5588663249627035708n],
    ['ObjectId zeros', new ObjectId('000000000000000000000000'), -4293118519463489418n],
    ['true', true, 6405873908747105701n],
    ['false', false, 6289544573401934092n],
    // (Date_t(0x5566778811223344) is beyond a JS Date's range; the Timestamp vectors predate
    // Timestamp's own canonical rank, 47, and are not used.)
    ['Date 0', new Date(0), -1178696894582842035n],
    ['regex /mongodb/', new BSONRegExp('mongodb'), -7275792090268217043n],
    ['regex /.*/i', new BSONRegExp('.*', 'i'), 7095855029187981886n],
    ['code', new Code('func f() { return 1; }'), 6861638109178014270n],
  ];
  for (const [name, value, expected] of vectors) {
    it(name, () => assert.equal(hashedValue(value), expected));
  }
  it('null hashes as its own type (what a missing shard key field routes as)', () => {
    assert.notEqual(hashedValue(null), hashedValue(undefined));
  });
  it('refuses what it cannot verify', () => {
    assert.throws(() => hashedValue(new Timestamp({ t: 1, i: 1 })), UsageError);
    assert.throws(() => hashedValue(new Code('x', { a: 1 })), UsageError);
  });
});

describe('compareBsonValues', () => {
  it('orders by canonical type: MinKey < null < numbers < strings < objects < arrays < binary < ObjectId < bool < date < timestamp < MaxKey', () => {
    const ordered = [new MinKey(), null, 5, 'a', { a: 1 }, [1], new Binary(Buffer.from([1])), new ObjectId(), false, new Date(0), new Timestamp({ t: 1, i: 0 }), new MaxKey()];
    for (let i = 0; i + 1 < ordered.length; i++) assert.equal(compareBsonValues(ordered[i], ordered[i + 1]), -1, `${i}`);
  });
  it('compares numbers across widths exactly', () => {
    assert.equal(compareBsonValues(new Int32(3), 3.5), -1);
    assert.equal(compareBsonValues(Long.fromString('9007199254740993'), 9007199254740992), 1);
    assert.equal(compareBsonValues(Long.fromNumber(7), new Double(7)), 0);
    assert.equal(compareBsonValues(Number.NaN, -Infinity), -1);
    assert.equal(compareBsonValues(-Infinity, Long.MIN_VALUE), -1);
  });
  it('compares strings by UTF-8 bytes, documents by element, binaries by length first', () => {
    assert.equal(compareBsonValues('Z', 'a'), -1);
    assert.equal(compareBsonValues('é', 'z'), 1);
    assert.equal(compareBsonValues({ a: 1, b: 2 }, { a: 1 }), 1);
    assert.equal(compareBsonValues({ a: 1 }, { b: 0 }), -1);
    assert.equal(compareBsonValues(new Binary(Buffer.from([9])), new Binary(Buffer.from([0, 0]))), -1);
  });
});

describe('shardKeyOf', () => {
  it('reads dotted paths, missing fields as null, hashed fields as the NumberLong of the hash', () => {
    const key = shardKeyOf({ _id: 1, user: { region: 'eu' }, n: 42 }, { 'user.region': 1, n: 'hashed', missing: 1 });
    assert.deepEqual(key, { 'user.region': 'eu', n: Long.fromBigInt(-944302157085130861n), missing: null });
  });
  it('refuses an array shard key value', () => {
    assert.throws(() => shardKeyOf({ _id: 1, a: [1] }, { a: 1 }), IntegrityError);
  });
});

describe('ChunkOwnership', () => {
  // config.chunks documents (s/catalog/type_chunk.h): min, max, shard; [min, max).
  const ranged = new ChunkOwnership({ x: 1 }, [
    { min: { x: 100 }, max: { x: new MaxKey() }, shard: 's2' },
    { min: { x: new MinKey() }, max: { x: 0 }, shard: 's1' },
    { min: { x: 0 }, max: { x: 100 }, shard: 's2' },
  ]);
  it('finds the chunk whose [min, max) holds the key', () => {
    assert.equal(ranged.ownerOf({ _id: 1, x: -5 }), 's1');
    assert.equal(ranged.ownerOf({ _id: 2, x: 0 }), 's2');
    assert.equal(ranged.ownerOf({ _id: 3, x: 99.5 }), 's2');
    assert.equal(ranged.ownerOf({ _id: 4, x: 100 }), 's2');
    assert.equal(ranged.ownerOf({ _id: 5 }), 's1'); // null sorts below numbers
    assert.equal(ranged.ownerOf({ _id: 6, x: 'text' }), 's2'); // strings above numbers
  });
  it('routes a hashed key by its hash: the split point 0 sends 42 (negative hash) left and 1 (positive) right', () => {
    const hashed = new ChunkOwnership({ x: 'hashed' }, [
      { min: { x: new MinKey() }, max: { x: Long.fromNumber(0) }, shard: 'left' },
      { min: { x: Long.fromNumber(0) }, max: { x: new MaxKey() }, shard: 'right' },
    ]);
    assert.equal(hashed.ownerOf({ x: 42 }), 'left');
    assert.equal(hashed.ownerOf({ x: 1 }), 'right');
  });
  it('compound keys compare field by field', () => {
    const compound = new ChunkOwnership({ a: 1, b: 1 }, [
      { min: { a: new MinKey(), b: new MinKey() }, max: { a: 5, b: 10 }, shard: 's1' },
      { min: { a: 5, b: 10 }, max: { a: new MaxKey(), b: new MaxKey() }, shard: 's2' },
    ]);
    assert.equal(compound.ownerOf({ a: 5, b: 9 }), 's1');
    assert.equal(compound.ownerOf({ a: 5, b: 10 }), 's2');
    assert.equal(compound.ownerOf({ a: 4, b: 99 }), 's1');
  });
  it('refuses chunks that do not tile MinKey .. MaxKey', () => {
    assert.throws(() => new ChunkOwnership({ x: 1 }, [{ min: { x: new MinKey() }, max: { x: 0 }, shard: 's1' }]), /MinKey .. MaxKey/);
    assert.throws(
      () => new ChunkOwnership({ x: 1 }, [{ min: { x: new MinKey() }, max: { x: 0 }, shard: 's1' }, { min: { x: 1 }, max: { x: new MaxKey() }, shard: 's2' }]),
      /gap or overlap/,
    );
  });
});
