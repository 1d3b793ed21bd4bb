// --id matches an op's _id as MongoDB's _id index compares them (src/target/id-key.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Double, Long, Timestamp } from 'mongodb';
import type { Document } from 'mongodb';
import { candidatesOf, compileOpFilter, parseIdJson } from '../../../src/restore/find-ops.ts';
import type { OplogEntry } from '../../../src/oplog-entry.ts';

function entry(op: OplogEntry['op'], o: Document, o2?: Document): OplogEntry {
  return { op, ns: 'shop.orders', o, ...(o2 && { o2 }), ts: new Timestamp({ t: 1_700_000_000, i: 1 }) };
}

function matches(text: string, e: OplogEntry): boolean {
  const filter = compileOpFilter({ id: parseIdJson(text) }, text);
  return candidatesOf(e).some((candidate) => filter.matches(candidate));
}

describe('find --id', () => {
  it('matches every numeric type of one value, as the _id index does', () => {
    assert.ok(matches('1', entry('i', { _id: Long.fromNumber(1) })));
    assert.ok(matches('{"$numberLong":"1"}', entry('d', { _id: new Double(1) })));
    assert.ok(matches('{"$numberDecimal":"1.50"}', entry('u', { $set: { a: 1 } }, { _id: 1.5 })));
    assert.ok(!matches('{"$numberDecimal":"0.1"}', entry('i', { _id: 0.1 })), 'a double 0.1 is not decimal 0.1');
  });

  it('keeps types apart and field order in embedded _ids', () => {
    assert.ok(!matches('"1"', entry('i', { _id: 1 })));
    assert.ok(matches('{"a":1,"b":2}', entry('i', { _id: { a: 1, b: 2 } })));
    assert.ok(!matches('{"a":1,"b":2}', entry('i', { _id: { b: 2, a: 1 } })));
  });

  it('never matches an op without an _id, not even --id null', () => {
    assert.ok(matches('null', entry('i', { _id: null })));
    assert.ok(!matches('null', entry('n', { msg: 'periodic noop' })));
  });
});
