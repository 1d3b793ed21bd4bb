// Issue 11 point 9: stream never archives an entry that a failover rolls back. Scripted member
// (test/support/fake-member.ts): the old primary's entry B {ts 11, t 1} is read by the tail while
// the majority point is still at A; then the member rolls B back and the new term's entry C
// {ts 12, t 2} becomes majority-committed, so the majority point passes B's ts in another term.
// Server facts: optimes {ts, t} (mongodb/mongo src/mongo/db/repl/optime.h); the member's
// majority point is on its own branch (repl/topology_coordinator.cpp), and rollback removes only
// uncommitted entries (repl/rollback_impl.cpp).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UUID, type Document } from 'mongodb';
import { tailOplog } from '../../../src/source/oplog-reader.ts';
import { formatTs } from '../../../src/timestamp.ts';
import { fakeSource, memberHello, oplogEntry } from '../../support/fake-member.ts';

const A = { t: 10, i: 1 };
const B = { t: 11, i: 1 };
const C = { t: 12, i: 1 };
const insert = (ts: typeof A, term: number, _id: number): Document => oplogEntry(ts, term, { op: 'i', ns: 'shop.orders', ui: new UUID().toBinary(), o: { _id }, o2: { _id } });

test('an entry of the old primary rolled back after a failover is never yielded, the new term’s entries are', async () => {
  const state = {
    oplog: [insert(A, 1, 1), insert(B, 1, 2)],
    collections: new Map<string, Document[]>(),
    hello: (call: number): Document => {
      if (call <= 2) return memberHello({ ts: B, t: 1 }, { ts: A, t: 1 });
      // The failover: B is rolled back, C written in term 2 and majority-committed.
      state.oplog = [insert(A, 1, 1), insert(C, 2, 3)];
      return memberHello({ ts: C, t: 2 }, { ts: C, t: 2 });
    },
  };
  const source = fakeSource(state);
  const controller = new AbortController();
  const yielded: string[] = [];
  const deadline = setTimeout(() => controller.abort(), 2_000);
  try {
    for await (const entry of tailOplog(source, { from: A, idleMs: 20 }, controller.signal)) {
      if (!entry) continue;
      yielded.push(formatTs(entry.header.ts));
      if (yielded.length >= 2 || entry.header.term === 2) break;
    }
  } finally {
    clearTimeout(deadline);
    controller.abort();
  }
  assert.deepEqual(yielded, [formatTs(C)]);
});

test('an entry still in the member’s oplog with its term is released once a later term commits past it', async () => {
  const state = {
    oplog: [insert(A, 1, 1), insert(B, 1, 2), insert(C, 2, 3)],
    collections: new Map<string, Document[]>(),
    hello: (): Document => memberHello({ ts: C, t: 2 }, { ts: C, t: 2 }),
  };
  const controller = new AbortController();
  const yielded: string[] = [];
  const deadline = setTimeout(() => controller.abort(), 2_000);
  try {
    for await (const entry of tailOplog(fakeSource(state), { from: A, idleMs: 20 }, controller.signal)) {
      if (!entry) continue;
      yielded.push(formatTs(entry.header.ts));
      if (yielded.length >= 2) break;
    }
  } finally {
    clearTimeout(deadline);
    controller.abort();
  }
  assert.deepEqual(yielded, [formatTs(B), formatTs(C)]);
});
