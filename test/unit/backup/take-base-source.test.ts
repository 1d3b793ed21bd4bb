// take-base against a scripted member (test/support/fake-member.ts) for what FerretDB cannot
// show: a majority point that lags the member's last write (issue 11 point 2) and commands in
// the base oplog (point 3). Shapes: hello.lastWrite {opTime, majorityOpTime} with {ts, t}
// (mongodb/mongo src/mongo/db/repl/hello.idl, replication_coordinator_impl.cpp); oplog entries
// with t int64 and v 2 as in ../shared/fixtures/pbm/ops_i_u_d.json; renameCollection as
// src/mongo/db/op_observer/op_observer_impl.cpp preRenameCollection writes it.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UUID, type Document } from 'mongodb';
import { ManifestCommitter } from '../../../src/backup/commit.ts';
import { UnsafeBaseOplog } from '../../../src/backup/base-oplog-check.ts';
import { takeBase } from '../../../src/backup/take-base.ts';
import { SourceError } from '../../../src/errors.ts';
import { openStore } from '../../../src/store/open-store.ts';
import { fakeSource, memberHello, oplogEntry } from '../../support/fake-member.ts';
import { pendingBaseOf } from '../../../src/archive/manifest.ts';
import type { Store } from '../../../src/store/store.ts';

const T0 = { t: 1_700_000_100, i: 1 };
const W1 = { t: 1_700_000_101, i: 1 };
const W2 = { t: 1_700_000_102, i: 1 };
const insert = (ts: typeof T0, _id: number): Document => oplogEntry(ts, 7, { op: 'i', ns: 'shop.orders', ui: new UUID().toBinary(), o: { _id }, o2: { _id } });

async function open(): Promise<{ store: Store; committer: ManifestCommitter }> {
  const store = await openStore(await mkdtemp(join(tmpdir(), 'mongo-pitr-take-base-')));
  return { store, committer: await ManifestCommitter.open(store) };
}

test('T1 is the last write the dumping member had applied, sealed once the majority point reaches it', async () => {
  // The member has applied W1 and W2 (the local-read dump sees them) while the majority point
  // still sits at T0; it catches up on the fourth hello.
  const source = fakeSource({
    oplog: [insert(T0, 1), insert(W1, 2), insert(W2, 3)],
    collections: new Map([['shop.orders', [{ _id: 1 }, { _id: 2 }, { _id: 3 }]]]),
    hello: (call) => memberHello({ ts: W2, t: 7 }, { ts: call < 4 ? T0 : W2, t: 7 }),
  });
  const { store, committer: c } = await open();
  const result = await takeBase({ source, store, committer: c, majorityWaitMs: 5_000 });
  assert.equal(result.stoppedEarly, false);
  if (result.stoppedEarly) return;
  assert.deepEqual(result.chain.base.startTs, T0);
  assert.deepEqual(result.chain.base.endTs, W2, 'the base oplog reaches the newest write the dump can hold');
  assert.equal(result.chain.base.oplog.count, 3);
  assert.equal(result.chain.base.commitPoint, 'majority');
});

test('a majority point that never reaches T1 fails the base with both optimes named', async () => {
  const source = fakeSource({
    oplog: [insert(T0, 1), insert(W2, 3)],
    collections: new Map([['shop.orders', [{ _id: 1 }, { _id: 3 }]]]),
    hello: () => memberHello({ ts: W2, t: 7 }, { ts: T0, t: 7 }),
  });
  const { store, committer: c } = await open();
  await assert.rejects(takeBase({ source, store, committer: c, majorityWaitMs: 300 }), (error: unknown) => {
    assert.ok(error instanceof SourceError);
    assert.match(error.message, /majority point 1700000100:1 \(term 7\) did not reach T1 1700000102:1 \(term 7\)/);
    return true;
  });
});

function renameOverReport(ts: typeof T0): Document {
  return oplogEntry(ts, 7, {
    op: 'c',
    ns: 'shop.$cmd',
    ui: new UUID().toBinary(),
    o: { renameCollection: 'shop.tmp.agg_out.1a2b', to: 'shop.report', stayTemp: false, dropTarget: new UUID().toBinary() },
    o2: { numRecords: 4 },
  });
}

test('a $out rename of a collection older than T0 inside the base oplog is never sealed', async () => {
  const source = fakeSource({
    oplog: [insert(T0, 1), renameOverReport(W1), insert(W2, 3)],
    collections: new Map([['shop.orders', [{ _id: 1 }, { _id: 3 }]], ['shop.report', [{ _id: 'r1' }]]]),
    // Each base makes three hello calls: the T0 read, the T1 read, the majority wait. Every base
    // starts at T0, before the rename, and finds T1 = W2 majority-committed.
    hello: (n) => memberHello({ ts: W2, t: 7 }, { ts: n % 3 === 1 ? T0 : W2, t: 7 }),
  });
  const { store, committer: c } = await open();
  await assert.rejects(takeBase({ source, store, committer: c }), (error: unknown) => {
    assert.ok(error instanceof UnsafeBaseOplog);
    assert.deepEqual(error.problems[0]?.namespaces, ['shop.tmp.agg_out.1a2b', 'shop.report']);
    return true;
  });
  assert.equal(c.manifest.chains.length, 0, 'no chain was sealed');
  assert.equal(pendingBaseOf(c.manifest, source.identity), undefined, 'the spoiled base was dropped');
});

test('a base spoiled by a rename is taken again from a T0 after it', async () => {
  // First base: T0 before the rename. Every later hello reports the majority point at W2.
  const source = fakeSource({
    oplog: [insert(T0, 1), renameOverReport(W1), insert(W2, 3)],
    collections: new Map([['shop.orders', [{ _id: 1 }, { _id: 3 }]], ['shop.report', [{ _id: 'r1' }]]]),
    hello: (n) => memberHello({ ts: W2, t: 7 }, { ts: n === 1 ? T0 : W2, t: 7 }),
  });
  const { store, committer: c } = await open();
  const result = await takeBase({ source, store, committer: c });
  assert.equal(result.stoppedEarly, false);
  if (result.stoppedEarly) return;
  assert.deepEqual(result.chain.base.startTs, W2);
  assert.equal(c.manifest.chains.length, 1);
});
