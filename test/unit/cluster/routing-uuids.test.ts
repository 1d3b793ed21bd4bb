// decideUuid: which UUID the routing metadata must name, from the UUIDs the target shards report
// for the collection (listCollections info.uuid). The rule: config.collections.uuid equals the
// collection's UUID on every shard owning its chunks (mongodb/mongo jstests/libs/check_uuids.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UUID, type Binary } from 'mongodb';
import { decideUuid, holdersOf, uuidHex } from '../../../src/cluster/routing-uuids.ts';

const A = new UUID('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
const B = new UUID('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');

test('the shards kept the source UUID the metadata names: nothing to rewrite', () => {
  const found = new Map<string, Binary | undefined>([['s1', new UUID(A.toHexString())], ['s2', new UUID(A.toHexString())]]);
  assert.deepEqual(decideUuid(A, ['s1', 's2'], found), { kind: 'keep' });
});

test('the shards agree on a UUID of their own: the metadata is rewritten to it', () => {
  const found = new Map<string, Binary | undefined>([['s1', B], ['s2', B]]);
  const decision = decideUuid(A, ['s1', 's2'], found);
  assert.equal(decision.kind, 'rewrite');
  assert.equal(decision.kind === 'rewrite' && uuidHex(decision.uuid), 'bbbbbbbbbbbb4bbb8bbbbbbbbbbbbbbb');
  assert.equal(decision.kind === 'rewrite' && decision.mismatch, undefined);
});

test('shards that differ: the lowest chunk owner wins and the mismatch is reported', () => {
  const found = new Map<string, Binary | undefined>([['s2', B], ['s1', A]]);
  const decision = decideUuid(A, ['s2', 's1'], found);
  assert.equal(decision.kind, 'rewrite');
  assert.ok(decision.kind === 'rewrite');
  assert.equal(uuidHex(decision.uuid), 'bbbbbbbbbbbb4bbb8bbbbbbbbbbbbbbb');
  assert.deepEqual(decision.mismatch, { ns: '', shards: { s2: 'bbbbbbbbbbbb4bbb8bbbbbbbbbbbbbbb', s1: 'aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa' }, chosen: 's2' });
});

test('a holding shard without the collection does not count; none at all leaves the metadata as it is', () => {
  assert.deepEqual(decideUuid(A, ['s1', 's2'], new Map([['s1', undefined], ['s2', A]])), { kind: 'keep' });
  assert.deepEqual(decideUuid(A, ['s1'], new Map([['s1', undefined]])), { kind: 'absent' });
});

test('holdersOf: distinct owners, the lowest chunk first', () => {
  const chunks = [{ min: { k: 100 }, max: { k: 200 }, shard: 's1' }, { min: { k: 0 }, max: { k: 100 }, shard: 's2' }, { min: { k: 200 }, max: { k: 300 }, shard: 's2' }];
  assert.deepEqual(holdersOf({ ns: 'app.orders', key: { k: 1 }, uuid: A, chunks }), ['s2', 's1']);
});
