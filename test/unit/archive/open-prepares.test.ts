// OpenPrepares over raw entries in the shapes a shard writes (db/op_observer/op_observer_impl.cpp
// onTransactionPrepare / onPreparedTransactionCommit / onTransactionAbort and, for a large
// transaction, the `partialTxn: true` applyOps entries before the prepare; db/repl/oplog_entry.h).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Binary, BSON, Long, Timestamp, UUID, type Document } from 'mongodb';
import { readOplogHeader, type RawOplogEntry } from '../../../src/archive/oplog-header.ts';
import { OpenPrepares, transactionHash } from '../../../src/archive/open-prepares.ts';

const S = 1_764_583_200;
const SESSION = { id: new UUID('0f1e2d3c-4b5a-4697-8876-655443322110'), uid: new Binary(Buffer.alloc(32, 7)) };
const UI = new UUID('11111111-2222-4333-8444-555555555555');

function raw(i: number, fields: Document): RawOplogEntry {
  const bytes = Buffer.from(BSON.serialize({ op: 'c', ns: 'admin.$cmd', ...fields, ts: new Timestamp({ t: S, i }), t: Long.fromNumber(1), v: Long.fromNumber(2), wall: new Date(S * 1000 + i) }));
  return { raw: bytes, header: readOplogHeader(bytes) };
}

const txn = (txnNumber: number, prevI = 0): Document => ({
  lsid: SESSION, txnNumber: Long.fromNumber(txnNumber),
  prevOpTime: { ts: new Timestamp({ t: prevI === 0 ? 0 : S, i: prevI }), t: Long.fromNumber(prevI === 0 ? -1 : 1) },
});
const ops = [{ op: 'i', ns: 'shop.orders', ui: UI, o: { _id: 1, prepare: true }, o2: { _id: 1 } }];

test('a large prepared transaction opens at its prepare entry, not at its partialTxn entries', () => {
  const set = new OpenPrepares();
  set.observe(raw(1, { ...txn(5), o: { applyOps: ops, partialTxn: true } }));
  assert.deepEqual(set.records(), []);
  set.observe(raw(2, { ...txn(5, 1), o: { applyOps: ops, prepare: true } }));
  assert.deepEqual(set.records().map((record) => record.ts), [{ t: S, i: 2 }]);
});

test('an unprepared transaction (a field named prepare inside its operations) opens nothing', () => {
  const set = new OpenPrepares();
  set.observe(raw(1, { ...txn(5), o: { applyOps: ops } }));
  assert.deepEqual(set.records(), []);
});

test('a decision closes only its own transaction (lsid and txnNumber), one without its prepare is ignored', () => {
  const set = new OpenPrepares();
  set.observe(raw(1, { ...txn(5), o: { applyOps: ops, prepare: true } }));
  set.observe(raw(2, { ...txn(6), o: { applyOps: ops, prepare: true } }));
  set.observe(raw(3, { ...txn(4, 0), o: { abortTransaction: 1 } }));
  assert.equal(set.records().length, 2);
  set.observe(raw(4, { ...txn(6, 2), o: { commitTransaction: 1, commitTimestamp: new Timestamp({ t: S, i: 3 }) } }));
  assert.deepEqual(set.records().map((record) => record.ts), [{ t: S, i: 1 }]);
  const carried = new OpenPrepares(set.records());
  carried.observe(raw(5, { ...txn(5, 1), o: { abortTransaction: 1 } }));
  assert.deepEqual(carried.records(), []);
});

test('the id is an opaque hash of lsid and txnNumber', () => {
  const id = transactionHash(SESSION, Long.fromNumber(5));
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(transactionHash(SESSION, 5), id, 'an int64 and a plain number are the same txnNumber');
  assert.notEqual(transactionHash(SESSION, Long.fromNumber(6)), id);
});
