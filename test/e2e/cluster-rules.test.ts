// restore --before-first and --nsInclude on a cluster store, through the CLI, on a simulated
// 2-shard cluster (FerretDB members, test/support/sim-cluster.ts) restored onto another one.
//   - --before-first: the first match across every member is the cutoff of all; the target
//     equals the source snapshot taken just before the matched op, on every shard, through the
//     routing (snapshotThroughRouter), and the receipt names the shard of the match.
//   - --before-first matching an op of a cross-shard PREPARED transaction (written into the
//     shards' oplogs in the server's shapes, cluster-workload.ts prepareOnShard/commitOnShard):
//     the cutoff is its commitTimestamp T, not shard01's prepare P, so the writes on shard02
//     between P and T are on the target and the transaction on no shard.
//   - --nsInclude: only that namespace's data lands on the target shards, and only its routing
//     (config.databases, collections, chunks) on the target config server.
//   - --nsFrom 'app.*' --nsTo 'copy.*': the database's data and routing under the new name;
//     renames of part of a database, or onto a database the backup has, refused.
// FerretDB members keep separate oplog counters within a second (the seconds are the machine's
// clock); a real cluster's hybrid logical clock orders causally related writes across shards
// (mongodb/mongo src/mongo/db/vector_clock/vector_clock.cpp). The test gives the same order by
// starting a new second before the matched op and again after it.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Document } from 'mongodb';
import { runCli } from '../support/cli.ts';
import { addDatabase, shardCollection, SIM_MAX, SIM_MIN, startSimCluster, type SimCluster } from '../support/sim-cluster.ts';
import { commitOnShard, commitTimestampFor, compareSimTs, lastOplogTs, newTransaction, passCutoff, prepareOnShard, snapshotThroughRouter, type Ts } from '../support/cluster-workload.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { isFerretDB, NO_MONGO } from '../support/test-env.ts';

const BIN = process.env.TEST_FERRETDB_BIN;
const SKIP = NO_MONGO || (!isFerretDB() || !BIN ? 'the simulated cluster is built from FerretDB binaries (TEST_FERRETDB_BIN)' : false);
const SHARDS = ['shard01', 'shard02'];
const DBS = ['app', 'crm'];
/** What a test clears on the target before its restore: the source's databases and the renamed copy. */
const CLEARED = [...DBS, 'copy', 'ledger'];

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

/** Waits until the machine's clock is in a new second: every later oplog ts is past every earlier one. */
async function nextSecond(): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + 20);
}

describe('cluster restore with --before-first and --nsInclude (folder store)', { skip: SKIP }, () => {
  let source: SimCluster;
  let target: SimCluster;
  let cliArgs: string[];
  let close: () => Promise<void> = async () => {};
  let beforeDelete: Map<string, string>;
  /** The cross-shard prepared transaction on ledger.entries: shard01's prepare, T, the snapshot just before T. */
  let ledgerTxn: { prepare: Ts; commitTimestamp: Ts; between: Ts; before: Map<string, string> };
  const cli = (args: string[]) => runCli(['--json', ...cliArgs, ...args]);
  const orders = (cluster: SimCluster, shard: string) => cluster.shard(shard).client.db('app').collection('orders');

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-cluster-rules-'));
    source = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(dir, 'source-')));
    target = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(dir, 'target-')));
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const opened = await kind.open();
    cliArgs = opened.cliArgs;
    close = () => opened.store.close();
    // app.orders over both shards (k < 100 on shard01), app.items wholly on shard01, crm unsharded on shard02.
    await shardCollection(source, { db: 'app', coll: 'orders', key: 'k', primary: 'shard01', chunks: [{ min: SIM_MIN, max: 100, shard: 'shard01' }, { min: 100, max: SIM_MAX, shard: 'shard02' }] });
    await shardCollection(source, { db: 'app', coll: 'items', key: 'k', primary: 'shard01', chunks: [{ min: SIM_MIN, max: SIM_MAX, shard: 'shard01' }] });
    await shardCollection(source, { db: 'ledger', coll: 'entries', key: 'k', primary: 'shard01', chunks: [{ min: SIM_MIN, max: 100, shard: 'shard01' }, { min: 100, max: SIM_MAX, shard: 'shard02' }] });
    await addDatabase(source, 'crm', 'shard02');
    for (let k = 0; k < 200; k += 10) await orders(source, k < 100 ? 'shard01' : 'shard02').insertOne({ _id: k, k, v: 0 } as Document);
    await source.shard('shard01').client.db('app').collection('items').insertMany([1, 2, 3].map((k) => ({ _id: k, k }) as Document));
    await source.shard('shard02').client.db('crm').collection('notes').insertMany([1, 2].map((n) => ({ _id: n, text: `note ${n}` }) as Document));
    const first = await cli(['run', '--topology', source.topologyFile]);
    assert.equal(first.code, 0, first.stderr);

    // After the base, on both shards: updates and inserts; then the snapshot.
    await orders(source, 'shard01').updateOne({ _id: 10 } as Document, { $set: { v: 1 } });
    await orders(source, 'shard02').updateOne({ _id: 150 } as Document, { $set: { v: 1 } });
    await orders(source, 'shard01').insertOne({ _id: 55, k: 55, v: 1 } as Document);
    await source.shard('shard02').client.db('crm').collection('notes').insertOne({ _id: 3, text: 'note 3' } as Document);
    beforeDelete = (await snapshotThroughRouter(source, DBS)).docs;
    // The matched op: the first delete of app.orders anywhere, on shard02 ...
    await nextSecond();
    await orders(source, 'shard02').deleteOne({ _id: 150 } as Document);
    // ... and what follows it on both shards (shard01's writes causally after it).
    await nextSecond();
    await orders(source, 'shard01').deleteOne({ _id: 20 } as Document);
    await orders(source, 'shard01').updateOne({ _id: 55 } as Document, { $set: { v: 2 } });
    await orders(source, 'shard02').insertOne({ _id: 175, k: 175, v: 2 } as Document);
    await source.shard('shard02').client.db('crm').collection('notes').deleteOne({ _id: 1 } as Document);
    // A cross-shard transaction on ledger.entries, prepared on shard01 at P, then real writes on
    // shard02 (after P: a new second), then shard02's prepare, so T (the newest prepare + 1) is
    // after those writes; then the commits and a write after them.
    await nextSecond();
    const ledger = (shard: string) => source.shard(shard).client.db('ledger').collection('entries');
    const txn = newTransaction();
    const prepare = await prepareOnShard(source.shard('shard01'), txn, 'ledger.entries', [{ _id: 'tx-50', k: 50 }]);
    await nextSecond();
    await ledger('shard02').insertMany([150, 151].map((k) => ({ _id: k, k }) as Document));
    const between = await lastOplogTs(source.shard('shard02'));
    const prepare2 = await prepareOnShard(source.shard('shard02'), txn, 'ledger.entries', [{ _id: 'tx-160', k: 160 }]);
    const commitTimestamp = commitTimestampFor([prepare, prepare2]);
    assert.ok(compareSimTs(prepare, between) < 0 && compareSimTs(between, commitTimestamp) < 0, 'the writes on shard02 are between P and T');
    ledgerTxn = { prepare, commitTimestamp, between, before: (await snapshotThroughRouter(source, [...DBS, 'ledger'])).docs };
    await commitOnShard(source.shard('shard01'), txn, prepare, commitTimestamp);
    await commitOnShard(source.shard('shard02'), txn, prepare2, commitTimestamp);
    await ledger('shard02').insertOne({ _id: 152, k: 152 } as Document);
    // Every member's oplog past all of it, so the cluster window covers it.
    await nextSecond();
    await passCutoff(source, { t: Math.floor(Date.now() / 1000), i: 0 });
    const second = await cli(['run', '--topology', source.topologyFile]);
    assert.equal(second.code, 0, second.stderr);
  });

  after(async () => {
    await close();
    await source?.stop();
    await target?.stop();
  });

  /** The target as no restore left it: its user databases and their routing gone. */
  async function clearTarget(): Promise<void> {
    for (const shard of target.shards) for (const db of CLEARED) await shard.client.db(db).dropDatabase();
    const config = target.config.client.db('config');
    await config.collection('databases').deleteMany({ _id: { $in: CLEARED } } as Document);
    const colls = await config.collection('collections').find({ _id: /^(app|crm|copy|ledger)\./ } as Document).toArray();
    await config.collection('chunks').deleteMany({ uuid: { $in: colls.map((doc) => doc.uuid as unknown) } });
    await config.collection('collections').deleteMany({ _id: /^(app|crm|copy|ledger)\./ } as Document);
  }

  test('--before-first: every shard as the source was just before the first matching op, the receipt naming its shard', async () => {
    await clearTarget();
    const restored = await cli(['restore', '--to-topology', target.topologyFile, '--drop', '--before-first', '{"op":"d","ns":"app.orders"}']);
    assert.equal(restored.code, 0, restored.stderr);
    const result = lastJson(restored.stdout) as { beforeFirst?: { member: string; op: string; ns: string; ts: string }; cutoff?: string };
    assert.equal(result.beforeFirst?.member, 'shard02');
    assert.equal(result.beforeFirst?.op, 'd');
    assert.equal(result.cutoff, result.beforeFirst?.ts, 'the match\'s ts is the cutoff of every member');
    const got = await snapshotThroughRouter(target, DBS);
    assert.equal(got.duplicates, 0);
    assert.deepEqual([...got.docs.entries()].sort(), [...beforeDelete.entries()].sort());

    // The same line-for-line errors as a replica-set store: no match is a usage error (exit 2).
    const none = await runCli([...cliArgs, 'restore', '--to-topology', target.topologyFile, '--before-first', '{"op":"c","command":"dropDatabase"}']);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /^mongo-pitr: usage error: no archived op matches --before-first .*\n/);

    // --dry-run prints the plan: the match, its member, the --until that repeats it, the rules.
    const dry = await runCli([...cliArgs, 'restore', '--dry-run', '--before-first', '{"op":"d","ns":"app.orders"}', '--nsInclude', 'app.*']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /first match of --before-first across the cluster, on shard shard02 \(rs-shard02\): .* d {2}app\.orders {2}_id 150/);
    assert.match(dry.stdout, new RegExp(`repeat this restore with --until ${result.cutoff ?? '?'}\n`));
    assert.match(dry.stdout, /namespaces: --nsInclude app\.\* on every shard/);
    assert.match(dry.stdout, /dry run: nothing written/);
  });

  // Failed before: the cutoff was shard01's prepare P, and the target lacked shard02's 150 and 151.
  test('--before-first an op of a prepared cross-shard transaction: cut at its commitTimestamp, the writes on another shard between its prepare and T kept, the transaction on no shard', async () => {
    await clearTarget();
    const restored = await cli(['restore', '--to-topology', target.topologyFile, '--drop', '--before-first', '{"ns":"ledger.entries","id":"tx-50"}']);
    assert.equal(restored.code, 0, restored.stderr);
    const got = await snapshotThroughRouter(target, [...DBS, 'ledger']);
    assert.equal(got.duplicates, 0);
    const ledgerDocs = [...got.docs.keys()].filter((key) => key.startsWith('ledger.')).sort();
    assert.deepEqual(ledgerDocs, ['ledger.entries/{"$numberInt":"150"}', 'ledger.entries/{"$numberInt":"151"}'], 'shard02\'s writes between P and T, not the transaction, not 152');
    assert.deepEqual([...got.docs.entries()].sort(), [...ledgerTxn.before.entries()].sort());
    const result = lastJson(restored.stdout) as { beforeFirst?: { member: string; ts: string; cutoff: string; visibleAt: string; until: string }; cutoff?: string };
    const text = (ts: Ts) => `${ts.t}:${ts.i}`;
    assert.equal(result.beforeFirst?.member, 'shard01');
    assert.equal(result.beforeFirst?.ts, text(ledgerTxn.prepare), 'the match is where find shows it: shard01\'s prepare');
    assert.equal(result.cutoff, text(ledgerTxn.commitTimestamp), 'every member is cut at T');
    assert.equal(result.beforeFirst?.visibleAt, 'commit-timestamp');
    assert.equal(result.beforeFirst?.until, text(ledgerTxn.commitTimestamp));
  });

  test('--nsFrom app.* --nsTo copy.*: app\'s data and routing under copy, crm as it was; part of a database, or onto one the backup has, refused in one line before writing', async () => {
    const partial = await runCli([...cliArgs, 'restore', '--to-topology', target.topologyFile, '--nsFrom', 'app.orders', '--nsTo', 'copy.orders']);
    assert.equal(partial.code, 2, partial.stderr);
    assert.match(partial.stderr, /^mongo-pitr: usage error: --nsFrom app\.orders --nsTo copy\.orders: a cluster restore renames whole databases only/);
    await clearTarget();
    const onto = await runCli([...cliArgs, 'restore', '--to-topology', target.topologyFile, '--drop', '--nsFrom', 'app.*', '--nsTo', 'crm.*']);
    assert.equal(onto.code, 2, onto.stderr);
    assert.match(onto.stderr, /^mongo-pitr: usage error: --nsFrom app\.\* --nsTo crm\.\*: the backup has a database crm of its own/m, "after the config metadata is read, before any shard");
    for (const shard of target.shards) {
      const dbs = (await shard.client.db('admin').admin().listDatabases()).databases.map((db) => db.name);
      assert.ok(!dbs.includes('crm') && !dbs.includes('app'), `nothing written on ${shard.name}: ${dbs.join(', ')}`);
    }
    assert.ok(!(await target.config.client.db('admin').admin().listDatabases()).databases.some((db) => db.name === 'mongo_pitr_config_restore'), 'the scratch copy is dropped');

    const renamed = await cli(['restore', '--to-topology', target.topologyFile, '--drop', '--nsFrom', 'app.*', '--nsTo', 'copy.*']);
    assert.equal(renamed.code, 0, renamed.stderr);
    const config = target.config.client.db('config');
    const databases = await config.collection('databases').find({ _id: { $in: [...DBS, 'copy'] } } as Document).sort({ _id: 1 }).toArray();
    assert.deepEqual(databases.map((doc) => [doc._id, doc.primary]), [['copy', 'shard01'], ['crm', 'shard02']]);
    const colls = await config.collection('collections').find({ _id: /^(app|copy|crm)\./ } as Document).sort({ _id: 1 }).toArray();
    assert.deepEqual(colls.map((doc) => doc._id), ['copy.items', 'copy.orders']);
    const orderChunks = await config.collection('chunks').find({ uuid: colls[1]?.uuid }).sort({ shard: 1 }).toArray();
    assert.deepEqual(orderChunks.map((chunk) => chunk.shard), ['shard01', 'shard02'], 'copy.orders routed by the UUID its shards hold');
    const want = [...(await snapshotThroughRouter(source, DBS)).docs.entries()].map(([key, doc]) => [key.replace(/^app\./, 'copy.'), doc]).sort();
    const got = await snapshotThroughRouter(target, ['copy', 'crm']);
    assert.equal(got.orphans, 0);
    assert.equal(got.duplicates, 0);
    assert.deepEqual([...got.docs.entries()].sort(), want);
    for (const shard of target.shards) {
      assert.ok(!(await shard.client.db('admin').admin().listDatabases()).databases.some((db) => db.name === 'app'), `${shard.name} holds no app`);
    }
  });

  test('--nsInclude app.orders: only its documents and its routing reach the target; the target\'s own app.items is left alone', async () => {
    await clearTarget();
    // The target's own sharded app.items (on shard02 there, shard01 in the source): an excluded
    // collection keeps its routing and documents (no orphan removal by the source's chunks).
    const ownItems = await shardCollection(target, { db: 'app', coll: 'items', key: 'k', primary: 'shard01', chunks: [{ min: SIM_MIN, max: SIM_MAX, shard: 'shard02' }] });
    await target.shard('shard02').client.db('app').collection('items').insertOne({ _id: 99, k: 99 } as Document);
    const restored = await cli(['restore', '--to-topology', target.topologyFile, '--drop', '--nsInclude', 'app.orders']);
    assert.equal(restored.code, 0, restored.stderr);
    const config = target.config.client.db('config');
    assert.deepEqual((await config.collection('databases').find({ _id: { $in: DBS } } as Document).toArray()).map((doc) => doc._id), ['app']);
    const colls = await config.collection('collections').find({ _id: /^(app|crm)\./ } as Document).sort({ _id: 1 }).toArray();
    assert.deepEqual(colls.map((doc) => doc._id), ['app.items', 'app.orders']);
    assert.deepEqual(colls[0]?.uuid, ownItems, 'app.items keeps the target\'s own routing');
    assert.deepEqual((await config.collection('chunks').find({ uuid: ownItems }).toArray()).map((chunk) => chunk.shard), ['shard02']);
    assert.equal(await config.collection('chunks').countDocuments({ uuid: colls[1]?.uuid }), 2);
    assert.deepEqual(await target.shard('shard02').client.db('app').collection('items').find({}).toArray(), [{ _id: 99, k: 99 }]);
    assert.equal(await target.shard('shard01').client.db('app').collection('items').countDocuments(), 0, 'the source\'s app.items (on shard01) is not restored');
    for (const shard of target.shards) {
      const dbs = (await shard.client.db('admin').admin().listDatabases()).databases.map((db) => db.name);
      assert.ok(!dbs.includes('crm'), `${shard.name} holds no crm`);
    }
    const want = [...(await snapshotThroughRouter(source, ['app'])).docs.entries()].filter(([key]) => key.startsWith('app.orders/')).sort();
    const got = await snapshotThroughRouter(target, ['app']);
    assert.equal(got.orphans, 0);
    assert.deepEqual([...got.docs.entries()].filter(([key]) => key.startsWith('app.orders/')).sort(), want);
  });
});
