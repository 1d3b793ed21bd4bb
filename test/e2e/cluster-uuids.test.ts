// A cluster restore leaves the routing metadata naming every sharded collection by the UUID the
// collection has on the target shards holding its chunks: on a real cluster the routing table is
// keyed by that UUID and the server's own hook checks the equality (mongodb/mongo
// jstests/libs/check_uuids.js, checkUUIDsConsistentAcrossCluster). Before, the restored
// config.collections.uuid was the source's while the shards' collections were created fresh.
//
// On the FerretDB simulation no UUID can be kept (no applyOps; its `create` ignores a uuid
// option), so every target shard's collection has a UUID of its own: a collection held by one
// shard is named exactly; one spread over two shards cannot be, and the restore says so. On a
// real target (applyOps, --drop) the shards keep the source UUIDs, and the same check holds with
// nothing rewritten (test/integration/preserve-uuid.test.ts shows the UUID kept on a mongod).
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Binary, type Document } from 'mongodb';
import { runCli } from '../support/cli.ts';
import { shardCollection, SIM_MAX, SIM_MIN, startSimCluster, type SimCluster } from '../support/sim-cluster.ts';
import { markCutoff, passCutoff } from '../support/cluster-workload.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { isFerretDB, NO_MONGO } from '../support/test-env.ts';

const BIN = process.env.TEST_FERRETDB_BIN;
const SKIP = NO_MONGO || (!isFerretDB() || !BIN ? 'the simulated cluster is built from FerretDB binaries (TEST_FERRETDB_BIN)' : false);
const SHARDS = ['shard01', 'shard02'];

function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

function hex(value: unknown): string | undefined {
  return value instanceof Binary ? Buffer.from(value.buffer).toString('hex') : undefined;
}

async function shardUuid(cluster: SimCluster, shard: string, db: string, coll: string): Promise<string | undefined> {
  const [info] = (await cluster.shard(shard).client.db(db).listCollections({ name: coll }).toArray()) as Document[];
  return hex(info?.info?.uuid);
}

describe('cluster restore: routing metadata UUIDs equal the target shards\' (folder store)', { skip: SKIP }, () => {
  let source: SimCluster;
  let target: SimCluster;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-cluster-uuids-'));
    source = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(dir, 'source-')));
    target = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(dir, 'target-')));
  });
  after(async () => {
    await source?.stop();
    await target?.stop();
  });

  test('a collection on one shard is named by that shard\'s UUID; one over two shards is reported; --preserve-uuid on FerretDB exits 2 before writing', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store, url, cliArgs } = await kind.open();
    const cli = (args: string[]) => runCli(['--json', ...cliArgs, ...args]);
    try {
      // app.orders over both shards; app.local wholly on shard01.
      await shardCollection(source, { db: 'app', coll: 'orders', key: 'k', primary: 'shard01', chunks: [{ min: SIM_MIN, max: 100, shard: 'shard01' }, { min: 100, max: SIM_MAX, shard: 'shard02' }] });
      await shardCollection(source, { db: 'app', coll: 'local', key: 'k', primary: 'shard01', chunks: [{ min: SIM_MIN, max: 0, shard: 'shard01' }, { min: 0, max: SIM_MAX, shard: 'shard01' }] });
      for (let k = 0; k < 200; k++) await source.shard(k < 100 ? 'shard01' : 'shard02').client.db('app').collection('orders').insertOne({ _id: k, k } as Document);
      await source.shard('shard01').client.db('app').collection('local').insertMany(Array.from({ length: 20 }, (_, k) => ({ _id: k, k }) as Document));
      const first = await cli(['run', '--topology', source.topologyFile]);
      assert.equal(first.code, 0, first.stderr);
      await passCutoff(source, await markCutoff(source));
      const second = await cli(['run', '--topology', source.topologyFile]);
      assert.equal(second.code, 0, second.stderr);

      // A member store is a replica-set store: --preserve-uuid onto FerretDB (no applyOps) is
      // refused in one line with the usage exit code, and the target gets nothing.
      const refused = await runCli(['--store', join(url, 'members', 'shard01'), 'restore', '--to', target.shard('shard01').uri, '--drop', '--preserve-uuid', '--force']);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /--preserve-uuid needs a target with applyOps/);
      const dbs = (await target.shard('shard01').client.db('admin').admin().listDatabases()).databases.map((db) => db.name);
      assert.ok(!dbs.includes('app'), `nothing written: ${dbs.join(', ')}`);

      const restored = await cli(['restore', '--to-topology', target.topologyFile, '--drop']);
      assert.equal(restored.code, 0, restored.stderr);
      const result = json(restored.stdout) as { uuids?: { matched: number; rewritten: number; mismatched: { ns: string; chosen: string; shards: Record<string, string> }[] } };

      const config = target.config.client.db('config');
      const local = await config.collection('collections').findOne({ _id: 'app.local' } as Document);
      const localUuid = await shardUuid(target, 'shard01', 'app', 'local');
      assert.ok(localUuid, 'the target shard reports info.uuid');
      assert.equal(hex(local?.uuid), localUuid, 'config.collections.uuid of app.local equals its UUID on shard01');
      const localChunks = await config.collection('chunks').find({ uuid: local?.uuid }).toArray();
      assert.equal(localChunks.length, 2, 'its chunks are found by that UUID');
      assert.equal(await shardUuid(target, 'shard02', 'app', 'local'), undefined, 'shard02 holds no app.local');

      // Over two FerretDB shards the UUIDs differ: named by shard01's (lowest chunk), and reported.
      const orders = await config.collection('collections').findOne({ _id: 'app.orders' } as Document);
      const ordersOn01 = await shardUuid(target, 'shard01', 'app', 'orders');
      const ordersOn02 = await shardUuid(target, 'shard02', 'app', 'orders');
      assert.equal(hex(orders?.uuid), ordersOn01);
      assert.equal((await config.collection('chunks').find({ uuid: orders?.uuid }).toArray()).length, 2);
      assert.notEqual(ordersOn01, ordersOn02, 'FerretDB gives each shard its own UUID');
      assert.deepEqual(result.uuids?.mismatched, [{ ns: 'app.orders', chosen: 'shard01', shards: { shard01: ordersOn01, shard02: ordersOn02 } }]);
      assert.equal(result.uuids?.rewritten, 2);
    } finally {
      await store.close();
    }
  });
});
