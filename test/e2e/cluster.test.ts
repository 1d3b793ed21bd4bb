// A sharded cluster backed up and restored through the CLI, on a simulated cluster: FerretDB
// members (config servers and two shards) with the config collections in the server's layout
// (test/support/sim-cluster.ts), described by --topology. What this shows and what it cannot:
// members, chains, the cluster base, the common cutoff, the config metadata and orphan removal
// all run for real against MongoDB-wire servers; routing, the balancer thread, the migration
// protocol and transactions do not exist here, so the test does a migration's writes itself in
// the server's order and writes a cross-shard transaction's entries into the oplogs in the
// server's shapes (test/support/cluster-workload.ts cites the server files).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BSON, MongoClient, type Document } from 'mongodb';
import { finished, onJsonLines, runCli, spawnCli } from '../support/cli.ts';
import { addDatabase, commitMigration, shardCollection, SIM_MAX, SIM_MIN, startSimCluster, type SimCluster } from '../support/sim-cluster.ts';
import { crossShardTransaction, formatCutoff, markCutoff, passCutoff, snapshotThroughRouter, type Ts } from '../support/cluster-workload.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { startFerretDB, type FerretDB } from '../servers/ferretdb.ts';
import { waitFor } from '../support/wait-for.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { isFerretDB, NO_MONGO, NO_S3 } from '../support/test-env.ts';
import { parseManifest } from '../../src/archive/manifest.ts';
import { parseClusterManifest } from '../../src/archive/cluster-manifest.ts';
import type { UUID } from 'mongodb';

const BIN = process.env.TEST_FERRETDB_BIN;
const SKIP = NO_MONGO || (!isFerretDB() || !BIN ? 'the simulated cluster is built from FerretDB binaries (TEST_FERRETDB_BIN)' : false);
const SHARDS = ['shard01', 'shard02'];
const DBS = ['app', 'crm'];

type AnyDoc = { _id: number | string; k?: number; qty?: number; note?: string; text?: string; pad?: string };

interface Snapshot {
  readonly cutoff: Ts;
  readonly docs: Map<string, string>;
}

function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe('a simulated 2-shard cluster, backed up to S3 and restored to several cutoffs', { skip: SKIP || NO_S3 }, () => {
  let source: SimCluster;
  let target: SimCluster;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-cluster-'));
    source = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(dir, 'source-')));
    target = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(dir, 'target-')));
  });
  after(async () => {
    await source?.stop();
    await target?.stop();
  });

  test('run takes a cluster base and archives every member; each cutoff restores the cluster as it was', async () => {
    const started = Date.now();
    const kind = STORE_KINDS[1];
    assert.ok(kind);
    const { store, cliArgs, env } = await kind.open();
    const random = seededRandom(17);
    const cli = (args: string[]) => runCli(['--json', ...cliArgs, ...args], env);
    try {
      // app.orders sharded on k: [-inf, 100) on shard01, [100, inf) on shard02; crm on shard02.
      const uuid = await shardCollection(source, { db: 'app', coll: 'orders', key: 'k', primary: 'shard01', chunks: [{ min: SIM_MIN, max: 100, shard: 'shard01' }, { min: 100, max: SIM_MAX, shard: 'shard02' }] });
      await addDatabase(source, 'crm', 'shard02');
      await targetLayout(target);
      const owner = (k: number) => source.shard(k < 100 ? 'shard01' : 'shard02');
      const orders = (k: number) => owner(k).client.db('app').collection<AnyDoc>('orders');
      for (let k = 0; k < 200; k++) await orders(k).insertOne({ _id: k, k, qty: 1, note: `order ${k}` });
      await source.shard('shard02').client.db('crm').collection<AnyDoc>('notes').insertMany(Array.from({ length: 20 }, (_, n) => ({ _id: n, text: `note ${n}` })));

      const first = await cli(['run', '--topology', source.topologyFile]);
      assert.equal(first.code, 0, first.stderr);
      const firstResult = json(first.stdout);
      const clusterBase = firstResult.clusterBase as { members: { name: string }[] } | undefined;
      assert.deepEqual(clusterBase?.members.map((member) => member.name).sort(), ['config', ...SHARDS], 'the cluster base holds a base of every member');

      const snapshots: Snapshot[] = [];
      // Phase A: inserts, updates and deletes on both shards.
      let next = 200;
      const live = new Set(Array.from({ length: 200 }, (_, k) => k));
      for (let n = 0; n < 120; n++) {
        const roll = random();
        const ids = [...live];
        const pick = ids[Math.floor(random() * ids.length)] ?? 0;
        if (roll < 0.4) {
          const k = next++;
          await orders(k).insertOne({ _id: k, k, qty: 1, note: `order ${k}` });
          live.add(k);
        } else if (roll < 0.8) {
          await orders(pick).updateOne({ _id: pick }, { $inc: { qty: 1 }, $set: { note: `updated ${n}` } });
        } else {
          await orders(pick).deleteOne({ _id: pick });
          live.delete(pick);
        }
      }
      await source.shard('shard02').client.db('crm').collection<AnyDoc>('notes').updateOne({ _id: 3 }, { $set: { text: 'edited' } });
      snapshots.push(await snapshotAt(source));

      // Phase B: a chunk migration of [150, inf) from shard02 to shard01, in the server's order
      // (db/s/migration_destination_manager.cpp clones onto the recipient; the config server
      // commits the chunk's new owner, sharding_catalog_manager_chunk_operations.cpp; the
      // donor's range deleter removes its copies later, db/s/range_deleter_service.cpp).
      const moving = await source.shard('shard02').client.db('app').collection<AnyDoc>('orders').find({ k: { $gte: 150 } }).toArray();
      await source.shard('shard01').client.db('app').collection<AnyDoc>('orders').insertMany(moving);
      await commitMigration(source, uuid as UUID, 'k', { min: 150, max: SIM_MAX, shard: 'shard01' }, 2);
      const migrated = moving[0]?._id as number | undefined;
      if (migrated !== undefined) await source.shard('shard01').client.db('app').collection<AnyDoc>('orders').updateOne({ _id: migrated }, { $set: { note: 'after the migration' } });
      // Between the commit and the range deletion: the donor's copies are orphans.
      snapshots.push(await snapshotAt(source));
      assert.ok((await snapshotThroughRouter(source, DBS)).orphans > 0, 'the cutoff falls while the donor still holds the moved documents');
      await source.shard('shard02').client.db('app').collection<AnyDoc>('orders').deleteMany({ k: { $gte: 150 } });

      // Phase C: a cross-shard transaction; the cutoff falls after its commitTimestamp and
      // before the second shard's commit entry.
      const before = (await snapshotThroughRouter(source, DBS)).docs;
      const txDocs = new Map([['shard01', [{ _id: 'tx-a', k: 50, qty: 9, note: 'transaction' }]], ['shard02', [{ _id: 'tx-b', k: 120, qty: 9, note: 'transaction' }]]]);
      const tx = await crossShardTransaction(source, 'app.orders', txDocs);
      for (const docs of txDocs.values()) for (const doc of docs) before.set(`app.orders/${BSON.EJSON.stringify(doc._id, { relaxed: false })}`, canonical(doc));
      snapshots.push({ cutoff: tx.cutoff, docs: before });
      await passCutoff(source, tx.cutoff);
      await orders(5).updateOne({ _id: 5 }, { $set: { note: 'after every cutoff' } });

      const second = await cli(['run', '--topology', source.topologyFile]);
      assert.equal(second.code, 0, second.stderr);
      const status = await cli(['status']);
      assert.equal(status.code, 0, status.stderr);
      const report = json(status.stdout) as { cluster: { windows: { from: string; to: string }[] }; members: { name: string; windows: unknown[] }[] };
      assert.equal(report.cluster.windows.length, 1, status.stdout);
      assert.deepEqual(report.members.map((member) => member.name).sort(), ['config', ...SHARDS]);
      for (const member of report.members) assert.equal(member.windows.length, 1, `${member.name} has one chain`);

      // The plan per shard, without a target: shards map onto their own names; nothing written.
      const dry = await cli(['restore', '--dry-run', '--until', formatCutoff(snapshots[0]?.cutoff ?? { t: 0, i: 0 })]);
      assert.equal(dry.code, 0, dry.stderr);
      const plan = json(dry.stdout) as { dryRun: boolean; members: { name: string; target: string; oplogEntries: number }[] };
      assert.equal(plan.dryRun, true);
      assert.deepEqual(plan.members.map((member) => `${member.name}→${member.target}`).sort(), ['config→config', 'shard01→shard01', 'shard02→shard02']);

      for (const snapshot of snapshots) {
        const restored = await cli(['restore', '--to-topology', target.topologyFile, '--until', formatCutoff(snapshot.cutoff), '--drop']);
        assert.equal(restored.code, 0, restored.stderr);
        const got = await snapshotThroughRouter(target, DBS);
        assert.equal(got.duplicates, 0, 'no document owned twice');
        assert.equal(got.orphans, 0, 'orphans were removed at the cutoff');
        assert.deepEqual(withoutClock(got.docs), withoutClock(snapshot.docs), `cutoff ${formatCutoff(snapshot.cutoff)}`);
      }
      console.log(`cluster e2e: ${Math.round((Date.now() - started) / 1000)} s`);
    } finally {
      await store.close();
    }
  });
});

describe('a cluster pass killed mid-way resumes (folder store)', { skip: SKIP }, () => {
  let source: SimCluster;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-cluster-kill-'));
    source = await startSimCluster(BIN ?? '', SHARDS, dir);
  });
  after(async () => source?.stop());

  test('SIGKILL during the member bases leaves every member chain consistent; the next run finishes the cluster base', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store, url, cliArgs } = await kind.open();
    try {
      for (const shard of source.shards) {
        const docs = Array.from({ length: 2000 }, (_, n) => ({ _id: n, k: n, pad: 'x'.repeat(200) }));
        await shard.client.db('app').collection<AnyDoc>('big').insertMany(docs);
      }
      const child = spawnCli(['--json', ...cliArgs, 'run', '--topology', source.topologyFile]);
      const exited = finished(child);
      // Killed once a member base has started: the cluster base is then recorded as pending.
      let baseStarted = false;
      onJsonLines(child.stderr, (event) => {
        if (event.type === 'run.member.base') baseStarted = true;
      });
      await waitFor('a member base under way', async () => baseStarted, 60_000);
      child.kill('SIGKILL');
      assert.equal((await exited).signal, 'SIGKILL');
      // Each member store is an ordinary replica-set store whose manifest (if any) parses.
      for (const name of await readdir(join(url, 'members')).catch(() => [])) {
        const bytes = await readFile(join(url, 'members', name, 'manifest.json')).catch(() => undefined);
        if (bytes) parseManifest(bytes);
      }
      const killed = parseClusterManifest(await readFile(join(url, 'cluster.json')));
      assert.equal(killed.bases.length, 0, 'no cluster base is recorded before every member base is committed');
      assert.ok(killed.pendingBase, 'the cluster base in progress is recorded');

      const resumed = await runCli(['--json', ...cliArgs, 'run', '--topology', source.topologyFile]);
      assert.equal(resumed.code, 0, resumed.stderr);
      const result = json(resumed.stdout);
      assert.equal(result.baseReason, 'resume');
      const done = parseClusterManifest(await readFile(join(url, 'cluster.json')));
      assert.equal(done.bases.length, 1);
      assert.equal(done.pendingBase, undefined);
      assert.equal(done.bases[0]?.id, killed.pendingBase.id, 'the resumed pass finished the same cluster base');
      assert.deepEqual(done.bases[0]?.members.map((member) => member.name).sort(), ['config', ...SHARDS]);
      // Every member's archive must pass the largest member T1 before the cluster window opens.
      await passCutoff(source, await markCutoff(source));
      const again = await runCli(['--json', ...cliArgs, 'run', '--topology', source.topologyFile]);
      assert.equal(again.code, 0, again.stderr);
      const status = await runCli(['--json', ...cliArgs, 'status']);
      assert.equal(status.code, 0, status.stderr);
      assert.equal((json(status.stdout) as { cluster: { windows: unknown[] } }).cluster.windows.length, 1, status.stdout);
    } finally {
      await store.close();
    }
  });
});

describe('cluster membership and the balancer between passes (folder store)', { skip: SKIP }, () => {
  let source: SimCluster;
  let dir: string;
  const extra: FerretDB[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-cluster-members-'));
    source = await startSimCluster(BIN ?? '', SHARDS, dir);
  });
  after(async () => {
    for (const server of extra) await server.stop();
    await source?.stop();
  });

  test('a running balancer is refused without a mongos unless --allow-balancer; a new shard starts a new cluster base; a removed one keeps its archive', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store, url, cliArgs } = await kind.open();
    const run = () => runCli(['--json', ...cliArgs, 'run', '--topology', source.topologyFile]);
    try {
      // A real member's oplog is never empty (an empty one reads as rolled over: a new base each pass).
      for (const shard of source.shards) await shard.client.db('app').collection<AnyDoc>('seed').insertOne({ _id: 1 });
      const settings = source.config.client.db('config').collection<AnyDoc>('settings');
      await settings.updateOne({ _id: 'balancer' }, { $set: { mode: 'full', stopped: false } });
      const refused = await run();
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /balancer is running/);
      assert.match(refused.stderr, /--allow-balancer/);
      const allowed = await runCli(['--json', ...cliArgs, 'run', '--topology', source.topologyFile, '--allow-balancer']);
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.equal(json(allowed.stdout).balancerWasRunning, true);
      await settings.updateOne({ _id: 'balancer' }, { $set: { mode: 'off', stopped: true } });

      // shard03 joins: a new cluster base with a base of every member, shard03's first.
      const shard03 = await startFerretDB(BIN ?? '', undefined, { setName: 'rs-shard03' });
      extra.push(shard03);
      const shard03Client = new MongoClient(shard03.uri);
      await shard03Client.db('app').collection<AnyDoc>('seed').insertOne({ _id: 1 });
      await shard03Client.close();
      const topology = JSON.parse(await readFile(source.topologyFile, 'utf8')) as { config: string; shards: Record<string, string> };
      await writeFile(source.topologyFile, JSON.stringify({ ...topology, shards: { ...topology.shards, shard03: shard03.uri } }));
      const joined = await run();
      assert.equal(joined.code, 0, joined.stderr);
      const joinedResult = json(joined.stdout) as { added: string[]; baseReason: string };
      assert.deepEqual(joinedResult.added, ['shard03']);
      assert.equal(joinedResult.baseReason, 'new-member');
      let manifest = parseClusterManifest(await readFile(join(url, 'cluster.json')));
      assert.equal(manifest.bases.length, 2);
      assert.deepEqual(manifest.bases[1]?.members.map((member) => member.name).sort(), ['config', ...SHARDS, 'shard03']);

      // shard03 leaves: marked removed, its archive stays; the others start a new cluster base.
      await writeFile(source.topologyFile, JSON.stringify(topology));
      const left = await run();
      assert.equal(left.code, 0, left.stderr);
      const leftResult = json(left.stdout) as { removed: string[]; baseReason: string };
      assert.deepEqual(leftResult.removed, ['shard03']);
      assert.equal(leftResult.baseReason, 'member-removed');
      manifest = parseClusterManifest(await readFile(join(url, 'cluster.json')));
      assert.ok(manifest.members.find((member) => member.name === 'shard03')?.removedAt);
      assert.equal(manifest.bases.length, 3, left.stdout);
      assert.deepEqual(manifest.bases[2]?.members.map((member) => member.name).sort(), ['config', ...SHARDS]);
      assert.ok((await readdir(join(url, 'members'))).includes('shard03'), 'the removed shard\'s archive stays');

      // A member's store is an ordinary replica-set store: verify reads it as one.
      const verified = await runCli(['--store', join(url, 'members', 'shard01'), 'verify']);
      assert.equal(verified.code, 0, verified.stderr);
    } finally {
      await store.close();
    }
  });
});

/** The target cluster's own config: the same shard names, balancer stopped (sim-cluster.ts did). */
async function targetLayout(_target: SimCluster): Promise<void> {}

/** A snapshot of the live cluster at a cutoff every member agrees on. */
async function snapshotAt(cluster: SimCluster): Promise<Snapshot> {
  const cutoff = await markCutoff(cluster);
  const { docs } = await snapshotThroughRouter(cluster, DBS);
  await passCutoff(cluster, cutoff);
  return { cutoff, docs };
}

function canonical(doc: Document): string {
  return BSON.EJSON.stringify(doc, { relaxed: false });
}

/** sim.clock is the test's own clock-advancing collection, not part of the comparison. */
function withoutClock(docs: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...docs].filter(([key]) => !key.startsWith('sim.')).sort(([a], [b]) => (a < b ? -1 : 1)));
}
