import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSONSymbol, Binary, Decimal128, Double, Int32, Long, ObjectId, Timestamp, UUID } from 'mongodb';
import { idKey } from '../../../src/target/id-key.ts';

describe('idKey', () => {
  it('holds equal the numbers MongoDB holds equal as _id', () => {
    const one = [1, new Int32(1), new Double(1), Long.fromNumber(1), new Decimal128('1'), new Decimal128('1.000'),
      new Decimal128('0.1E1'), 1n];
    for (const value of one) assert.equal(idKey(value), idKey(1), String(value));
    assert.equal(idKey(0), idKey(-0));
    assert.equal(idKey(new Decimal128('-0.00')), idKey(0));
    assert.equal(idKey(Number.NaN), idKey(new Decimal128('NaN')));
    assert.equal(idKey(2 ** 60), idKey(Long.fromString('1152921504606846976')));
    assert.equal(idKey(0.5), idKey(new Decimal128('0.50')));
  });

  it('tells apart values MongoDB tells apart', () => {
    const distinct = [1, 2, 0.1, new Decimal128('0.1'), '1', true, null, new ObjectId('64b7f0000000000000000001'),
      new ObjectId('64b7f0000000000000000002'), new Date(1), { a: 1, b: 2 }, { b: 2, a: 1 }, { a: '1' },
      new Binary(Buffer.from('ab'), 0), new Binary(Buffer.from('ab'), 5), new UUID('0b0a0e1c-0000-4000-8000-000000000001'),
      Long.fromString('9007199254740993'), new Timestamp({ t: 1, i: 2 }), [1, 2]];
    const keys = distinct.map(idKey);
    assert.equal(new Set(keys).size, keys.length, keys.join('\n'));
    // 2^53 + 1 is not a double: a Long beyond 2^53 must not collide with its rounded neighbour.
    assert.notEqual(idKey(Long.fromString('9007199254740993')), idKey(9007199254740992));
  });

  it('holds a symbol equal to the string it spells (one canonical type, src/mongo/bson/bsontypes.cpp)', () => {
    assert.equal(idKey(new BSONSymbol('abc')), idKey('abc'));
    assert.notEqual(idKey(new BSONSymbol('abc')), idKey('abd'));
  });

  it('compares embedded documents by value, numbers included', () => {
    assert.equal(idKey({ a: 1, b: 'x' }), idKey({ a: new Double(1), b: 'x' }));
    assert.equal(idKey(new UUID('0b0a0e1c-0000-4000-8000-000000000001')),
      idKey(new Binary(new UUID('0b0a0e1c-0000-4000-8000-000000000001').buffer, 4)));
  });
});
