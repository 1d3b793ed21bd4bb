// An idle shard keeps the cluster window moving, through its periodic no-op writes.
//
// On a real cluster every replica-set primary writes `{op: 'n', ns: '', o: {msg: 'periodic noop'}}`
// when nothing else was written for an interval: src/mongo/db/repl/noop_writer.cpp (the
// NoopWriter, formerly periodic_noop_writer.cpp: kMsgObj {msg: "periodic noop"}, written through
// OpObserver::onOpMessage only while the last applied optime is unchanged since the previous
// tick), switched by `writePeriodicNoops`, default true (src/mongo/db/repl/repl_server_parameters.idl),
// every `periodicNoopIntervalSecs` seconds, 10 by default (the shard servers' jstests lower it
// to 1 to make change streams advance on idle shards). Its exact shape here is the one a
// MongoDB 7/8 server wrote, read from ../shared/fixtures/pbm/ops_n.json.
//
// mongo-pitr reads every oplog entry (source/oplog-reader.ts has no `op` filter), so the noops
// land in the idle shard's chunks, its majority point (hello.lastWrite.majorityOpTime) moves
// with them, and its chain window (archive/chain-window.ts windowOf) and the cluster window
// (cluster/cluster-window.ts) advance. Without them an idle shard would hold the whole cluster
// window at its last real write. This test fails if noops are ever dropped from the archive.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BSON, Timestamp, UUID, type Document } from 'mongodb';
import { windowOf } from '../../../src/archive/chain-window.ts';
import type { Chain } from '../../../src/archive/manifest.ts';
import { readOplogHeader } from '../../../src/archive/oplog-header.ts';
import { archiveOplog } from '../../../src/backup/archive-oplog.ts';
import { ManifestCommitter } from '../../../src/backup/commit.ts';
import { takeBase } from '../../../src/backup/take-base.ts';
import { clusterWindows } from '../../../src/cluster/cluster-window.ts';
import { openStore } from '../../../src/store/open-store.ts';
import type { Ts } from '../../../src/timestamp.ts';
import { fakeSource, oplogEntry, settledMember, type MemberState } from '../../support/fake-member.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const S = 1_764_583_200;
const at = (second: number, i = 1): Ts => ({ t: S + second, i });
const UI = new UUID('11111111-2222-4333-8444-555555555555').toBinary();
const ONE_CHUNK_A_SECOND = { chunkBytes: 16 * 1024 * 1024, chunkSpanSeconds: 1 };

/** The noop a real server wrote (pbm/ops_n.json), moved to `ts`: every field but ts and wall as written. */
async function periodicNoop(): Promise<(ts: Ts) => Document> {
  const [recorded] = BSON.EJSON.parse(await readFile(join(SHARED_DIR, 'fixtures/pbm/ops_n.json'), 'utf8'), { relaxed: false }) as Document[];
  assert.ok(recorded);
  assert.deepEqual([recorded.op, recorded.ns, recorded.o], ['n', '', { msg: 'periodic noop' }], 'the fixture is a periodic noop');
  return (ts) => ({ ...recorded, ts: new Timestamp({ t: ts.t, i: ts.i }), wall: new Date(ts.t * 1000) });
}

function insert(ts: Ts, _id: number): Document {
  return oplogEntry(ts, 1, { op: 'i', ns: 'shop.orders', ui: UI, o: { _id }, o2: { _id } });
}

async function chainAfterPass(state: MemberState): Promise<{ chain: () => Chain; pass: () => Promise<number> }> {
  const source = fakeSource(state);
  const store = await openStore(await mkdtemp(join(tmpdir(), 'mongo-pitr-noops-')));
  const committer = await ManifestCommitter.open(store);
  const base = await takeBase({ source, store, committer });
  assert.equal(base.stoppedEarly, false);
  const chain = (): Chain => {
    const found = committer.manifest.chains[0];
    assert.ok(found);
    return found;
  };
  return {
    chain,
    pass: async () => (await archiveOplog({ source, store, committer, chain: chain(), limits: ONE_CHUNK_A_SECOND })).ops,
  };
}

test('the archiver reads a periodic noop like any entry: ns "" and op "n" parse', async () => {
  const noop = await periodicNoop();
  const header = readOplogHeader(Buffer.from(BSON.serialize(noop(at(3)))));
  assert.deepEqual([header.op, header.ns, header.ts], ['n', '', at(3)]);
  assert.equal(header.term, 1);
});

test('an idle shard\'s noops advance its chain window and the cluster window past its last write', async () => {
  const noop = await periodicNoop();
  const busy = settledMember([insert(at(0), 1)]);
  const idle = settledMember([insert(at(0, 2), 1)]);
  const busyChain = await chainAfterPass(busy);
  const idleChain = await chainAfterPass(idle);

  // The busy shard writes through second 40; the idle one writes nothing after its base, only a
  // noop every 10 s (periodicNoopIntervalSecs' default).
  for (let second = 1; second <= 40; second++) busy.oplog.push(insert(at(second), second + 1));
  for (const second of [10, 20, 30]) idle.oplog.push(noop(at(second, 3)));
  assert.equal(await busyChain.pass(), 40);
  assert.equal(await idleChain.pass(), 3, 'the three noops are archived');

  const idleWindow = windowOf(idleChain.chain());
  assert.deepEqual(idleWindow.to, at(30, 3), 'the idle shard is restorable up to its newest noop');
  const base = (name: string, chain: Chain) => ({ name, endTs: chain.base.oplog.lastTs });
  const report = clusterWindows(
    [{ name: 's1', windows: [windowOf(busyChain.chain())] }, { name: 's2', windows: [idleWindow] }],
    [{ id: 'cb-1', members: [base('s1', busyChain.chain()), base('s2', idleChain.chain())] }],
  );
  const [window] = report.windows;
  assert.ok(window);
  assert.deepEqual(window.to, at(30, 3), 'the cluster window ends at the idle shard\'s newest noop, not at its last write (second 0)');
  assert.deepEqual(window.limits.at(-1)?.member, 's2');

  // Ten seconds later the next noop moves it again.
  idle.oplog.push(noop(at(40, 3)));
  assert.equal(await idleChain.pass(), 1);
  const [later] = clusterWindows(
    [{ name: 's1', windows: [windowOf(busyChain.chain())] }, { name: 's2', windows: [windowOf(idleChain.chain())] }],
    [{ id: 'cb-1', members: [base('s1', busyChain.chain()), base('s2', idleChain.chain())] }],
  ).windows;
  assert.deepEqual(later?.to, at(40, 1), 'now the busy shard\'s last write (40:1) limits it');
});
