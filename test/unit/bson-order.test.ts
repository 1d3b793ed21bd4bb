// Numbers in BSON order exactly (src/bson-order.ts): int32, int64, double and decimal128 are one
// canonical type compared by value (src/mongo/bson/bsonelement.cpp compareElementValues, which
// compares a long to a double and a decimal to either without rounding). Rounding here loses
// data: a base resumed after a bound skips what compares "equal" to it (source/resume-bound.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, Decimal128, Double, Int32, Long } from 'mongodb';
import { compareBsonValues } from '../../src/bson-order.ts';
import { isPastBound } from '../../src/source/resume-bound.ts';

const TWO_53 = 2n ** 53n;

describe('BSON order of numbers, exactly', () => {
  it('int64 _ids past 2^53 (snowflake-style ids) are not "equal" to their neighbours', () => {
    const bound = Long.fromBigInt(TWO_53);
    const next = Long.fromBigInt(TWO_53 + 1n);
    assert.equal(compareBsonValues(next, bound), 1);
    assert.equal(compareBsonValues(bound, next), -1);
    // The document after a bound whose own document was deleted is the first the resumed cursor
    // returns: it must not be skipped as equal to the bound.
    assert.equal(isPastBound(next, bound), true);
    assert.equal(isPastBound(Long.fromBigInt(2n ** 62n + 1n), Long.fromBigInt(2n ** 62n)), true);
  });

  it('a double against an int64 it cannot represent, and against its integer neighbours', () => {
    const double = new Double(2 ** 53); // 9007199254740992 exactly
    assert.equal(compareBsonValues(double, Long.fromBigInt(TWO_53)), 0);
    assert.equal(compareBsonValues(double, Long.fromBigInt(TWO_53 + 1n)), -1);
    assert.equal(compareBsonValues(new Double(1.5), new Int32(1)), 1);
    assert.equal(compareBsonValues(new Double(-0.5), Long.fromBigInt(0n)), -1);
    assert.equal(compareBsonValues(new Double(0.1), Decimal128.fromString('0.1')), 1, 'the double 0.1 is 0.1000000000000000055…');
  });

  it('decimal128 against every width, exactly', () => {
    assert.equal(compareBsonValues(Decimal128.fromString('9007199254740993'), Long.fromBigInt(TWO_53 + 1n)), 0);
    assert.equal(compareBsonValues(Decimal128.fromString('9007199254740993.5'), Long.fromBigInt(TWO_53 + 1n)), 1);
    assert.equal(compareBsonValues(Decimal128.fromString('1.0000000000000000000000000000001'), new Int32(1)), 1);
    assert.equal(compareBsonValues(Decimal128.fromString('1.50E+3'), new Int32(1500)), 0);
    assert.equal(compareBsonValues(Decimal128.fromString('-0'), new Double(0)), 0);
  });

  it('NaN first, then -Infinity, the finite numbers, +Infinity, whatever the width', () => {
    const ordered = [Decimal128.fromString('NaN'), new Double(-Infinity), Long.fromBigInt(-(2n ** 63n)), new Int32(0), Decimal128.fromString('1E+400'), Decimal128.fromString('Infinity')];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) assert.equal(compareBsonValues(ordered[i], ordered[j]), Math.sign(i - j), `${String(ordered[i])} vs ${String(ordered[j])}`);
    }
    assert.equal(compareBsonValues(new Double(Number.NaN), Decimal128.fromString('NaN')), 0);
  });

  it('code and code with scope order by their code, then scope', () => {
    assert.equal(compareBsonValues(new Code('a'), new Code('b')), -1);
    assert.equal(compareBsonValues(new Code('a', { x: 1 }), new Code('a', { x: 2 })), -1);
    assert.equal(compareBsonValues(new Code('z'), new Code('a', { x: 1 })), -1, 'code sorts before code with scope');
  });
});
