// The cluster suite against a real sharded cluster (issue 17: "When TEST_MONGOS_URI names a real
// cluster, the same suite runs against it"). Everything the simulated-cluster files do by hand
// (config metadata written into FerretDB, a migration's writes in the server's order, a
// transaction's oplog entries) the real cluster does itself here, driven through its mongos:
// enableSharding and shardCollection (a ranged and a hashed key), inserts, updates and deletes,
// a transaction writing on two shards, a chunk migration (moveChunk: every version since 3.4
// has it; moveRange is 6.0+ only). Then `mongo-pitr run --uri <mongos>` twice (the cluster
// base, then the oplog of every member), and restores to several cutoffs onto a second, empty
// cluster (`restore --to <target mongos>`), each compared document by document with a snapshot
// of the source at that cutoff (test/support/real-cluster.ts says why atClusterTime = the
// greatest ts before the cutoff), and counted on each target shard directly: no document twice,
// no orphan.
//
// Needs: TEST_MONGOS_URI (MongoDB 5.0+ for snapshot reads outside transactions, at least two
// shards, credentials that also work on each shard and the config servers directly, as
// mongo-pitr's own need), TEST_MONGOS_TARGET_URI for the restores (a cluster whose data may be
// replaced: every database of the source is restored onto it). test/run.ts runs this file
// alone against them; without them it skips, saying which variable is missing.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { MongoClient, type ClientSession, type Document } from 'mongodb';
import { runCli } from '../support/cli.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { uniqueName } from '../support/test-env.ts';
import {
  NO_MONGOS, NO_MONGOS_TARGET, clusterTimeNow, cutoffAfter, mongosUri, placementIn, readState, readStateAt, shardMapOption, shardsOf,
  targetMongosUri, topologyOf, waitUntilMembersPass, type ClusterState,
} from '../support/real-cluster.ts';
import { compareTs, formatTs, type Ts } from '../../src/timestamp.ts';

/** Documents of every collection here: _ids are numbers and strings. */
type AnyDoc = { _id: number | string; k?: number; n?: number; qty?: number; note?: string; text?: string; seen?: number; tx?: boolean };

interface Expected {
  readonly why: string;
  readonly cutoff: Ts;
  readonly state: ClusterState;
}

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe('a real sharded cluster, backed up through its mongos and restored to several cutoffs', { skip: NO_MONGOS }, () => {
  const db = uniqueName('pitr_real');
  const orders = `${db}.orders`; // ranged shard key {k: 1}
  const events = `${db}.events`; // hashed shard key {_id: 'hashed'}
  const notes = `${db}.notes`; // unsharded: on the database's primary shard
  const NAMESPACES = [orders, events, notes];
  let client: MongoClient;
  let session: ClientSession;
  let storeDir: string;

  before(async () => {
    client = new MongoClient(mongosUri(), { appName: 'mongo-pitr-test' });
    await client.connect();
    session = client.startSession();
    storeDir = await mkdtemp(join(tmpdir(), 'mongo-pitr-real-cluster-'));
  });
  after(async () => {
    await session?.endSession();
    await client?.db(db).dropDatabase().catch(() => undefined);
    await client?.close();
    if (!NO_MONGOS_TARGET) {
      const target = new MongoClient(targetMongosUri(), { appName: 'mongo-pitr-test' });
      await target.db(db).dropDatabase().catch(() => undefined);
      await target.close();
    }
  });

  test('run twice through the mongos; every cutoff restores the cluster as its snapshot shows it', async (t) => {
    const admin = client.db('admin');
    const cli = (args: string[]) => runCli(['--json', '--store', storeDir, ...args]);
    const random = seededRandom(17);
    const { versionArray } = (await admin.command({ buildInfo: 1 })) as { versionArray?: number[] };
    assert.ok((versionArray?.[0] ?? 0) >= 5, `snapshot reads at a cluster time outside a transaction need MongoDB 5.0+ (TEST_MONGOS_URI runs ${versionArray?.join('.')})`);
    const source = await topologyOf(mongosUri());
    const shardNames = shardsOf(source).map((shard) => shard.name);
    assert.ok(shardNames.length >= 2, `the source cluster needs two shards for a cross-shard transaction and a migration (it has ${shardNames.join(', ')})`);

    // Layout: orders split at k 100, [100, max) moved off the primary shard; events hashed over
    // every shard (shardCollection's initial chunks); notes unsharded.
    await admin.command({ enableSharding: db });
    await admin.command({ shardCollection: orders, key: { k: 1 } });
    await admin.command({ shardCollection: events, key: { _id: 'hashed' } });
    const primary = String((await client.db('config').collection('databases').findOne({ _id: db as unknown as Document['_id'] }))?.primary ?? '');
    const other = shardNames.find((name) => name !== primary) ?? '';
    await admin.command({ split: orders, middle: { k: 100 } });
    await admin.command({ moveChunk: orders, find: { k: 100 }, to: other, _waitForDelete: true });
    const ordersOf = client.db(db).collection<AnyDoc>('orders');
    const eventsOf = client.db(db).collection<AnyDoc>('events');
    const notesOf = client.db(db).collection<AnyDoc>('notes');
    for (let k = 0; k < 200; k++) await ordersOf.insertOne({ _id: k, k, qty: 1, note: `order ${k}` }, { session });
    for (let n = 0; n < 100; n++) await eventsOf.insertOne({ _id: `e${n}`, n }, { session });
    for (let n = 0; n < 20; n++) await notesOf.insertOne({ _id: n, text: `note ${n}` }, { session });

    const first = await cli(['run', '--uri', mongosUri()]);
    assert.equal(first.code, 0, first.stderr);
    const clusterBase = lastJson(first.stdout).clusterBase as { members: { name: string }[]; restorableFromTs: Ts } | undefined;
    assert.deepEqual(clusterBase?.members.map((member) => member.name).sort(), ['config', ...source.shards.map((shard) => shard.name)].sort());
    // Cutoffs must fall after the largest member T1 (the cluster base is restorable from there):
    // member clocks agree only to within their wall clocks, so tick until the router's cluster
    // time is past it (a write in a collection no comparison reads).
    const restorableFrom = clusterBase?.restorableFromTs ?? { t: 0, i: 0 };
    while (compareTs(await clusterTimeNow(client, session), restorableFrom) <= 0) {
      await client.db(db).collection<AnyDoc>('clock').insertOne({ _id: Date.now() }, { session });
      await sleep(200);
    }

    const expected: Expected[] = [];
    /** A cutoff after everything written so far, and the source's state there, read at once (history is kept 300 s). */
    const mark = async (why: string): Promise<void> => {
      const cutoff = cutoffAfter(await clusterTimeNow(client, session));
      expected.push({ why, cutoff, state: await readStateAt(client, NAMESPACES, cutoff) });
    };

    // Phase A: inserts, updates and deletes on every collection; a cutoff in the middle.
    const live = new Set(Array.from({ length: 200 }, (_, k) => k));
    let next = 200;
    const midway = 20 + Math.floor(random() * 40);
    for (let n = 0; n < 80; n++) {
      const ids = [...live];
      const pick = ids[Math.floor(random() * ids.length)] ?? 0;
      const roll = random();
      if (roll < 0.35) {
        const k = next++;
        await ordersOf.insertOne({ _id: k, k, qty: 1, note: `order ${k}` }, { session });
        live.add(k);
      } else if (roll < 0.7) {
        await ordersOf.updateOne({ k: pick }, { $inc: { qty: 1 }, $set: { note: `updated ${n}` } }, { session });
      } else if (roll < 0.85) {
        await ordersOf.deleteOne({ k: pick }, { session });
        live.delete(pick);
      } else {
        await eventsOf.updateOne({ _id: `e${n}` }, { $set: { seen: n } }, { session });
        await notesOf.updateOne({ _id: n % 20 }, { $set: { text: `edited ${n}` } }, { session });
      }
      if (n === midway) await mark(`midway through phase A (op ${n})`);
    }
    await mark('after phase A');

    // Phase B: a transaction writing on two shards (orders k 50 on the primary shard, k 120 on
    // the other) and on the hashed collection; committed by the router's two-phase commit.
    await session.withTransaction(async () => {
      await ordersOf.insertOne({ _id: 'tx-a', k: 50, qty: 9, note: 'transaction' }, { session });
      await ordersOf.insertOne({ _id: 'tx-b', k: 120, qty: 9, note: 'transaction' }, { session });
      await eventsOf.updateOne({ _id: 'e1' }, { $set: { tx: true } }, { session });
    }, { writeConcern: { w: 'majority' } });
    await mark('after the cross-shard transaction');

    // Phase C: a chunk migration, [150, max) back to the primary shard; the donor's range
    // deletion is left to the server (orphans on the donor until then), then a write to a moved
    // document on its new owner.
    await admin.command({ split: orders, middle: { k: 150 } });
    await admin.command({ moveChunk: orders, find: { k: 150 }, to: primary });
    await ordersOf.updateOne({ k: 150 }, { $set: { note: 'after the migration' } }, { session });
    await mark('after the migration');

    // Phase D: writes after every cutoff, which no restore may show.
    await ordersOf.updateOne({ k: 5 }, { $set: { note: 'after every cutoff' } }, { session });
    await notesOf.deleteOne({ _id: 0 }, { session });
    const end = cutoffAfter(await clusterTimeNow(client, session));
    // Idle members (the config servers, a shard no write reached) pass it by their periodic noops.
    await waitUntilMembersPass(source, end);

    const second = await cli(['run', '--uri', mongosUri()]);
    assert.equal(second.code, 0, second.stderr);
    const status = await cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    const windows = (lastJson(status.stdout) as { cluster: { windows: { from: string; to: string }[] } }).cluster.windows;
    assert.equal(windows.length, 1, status.stdout);

    await t.test('each cutoff restores onto the target cluster: equal document by document, each document on one shard', { skip: NO_MONGOS_TARGET }, async () => {
      const target = new MongoClient(targetMongosUri(), { appName: 'mongo-pitr-test' });
      try {
        const targetTopology = await topologyOf(targetMongosUri());
        const shardMap = shardMapOption(shardNames, shardsOf(targetTopology).map((shard) => shard.name));
        for (const { why, cutoff, state } of expected) {
          const restored = await cli(['restore', '--to', targetMongosUri(), '--until', formatTs(cutoff), '--drop', '--shard-map', shardMap]);
          assert.equal(restored.code, 0, `${why}: ${restored.stderr}`);
          const got = await readState(target, NAMESPACES, { level: 'majority' });
          assert.deepEqual(got, state, `${why} (cutoff ${formatTs(cutoff)})`);
          for (const ns of NAMESPACES) {
            const placement = await placementIn(targetTopology, target, ns);
            assert.equal(placement.duplicates, 0, `${why}: no ${ns} document on two target shards`);
            assert.equal(placement.extra, 0, `${why}: no ${ns} document on a target shard that the router does not return (orphans)`);
          }
        }
      } finally {
        await target.close();
      }
    });
  });
});
