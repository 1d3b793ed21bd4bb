// A cutoff past a prepared transaction whose commit or abort is not archived is refused before
// the target is touched: the manifest's records say which prepares the archive left open
// (archive/open-prepares.ts). FerretDB logs no commands, so the shard's prepare entry is written
// straight into local.oplog.rs (a server of this suite's own), in the shape a shard writes it:
// db/op_observer/op_observer_impl.cpp onTransactionPrepare (an `applyOps` command on admin.$cmd
// with `prepare: true`, lsid, txnNumber, stmtId, prevOpTime {ts: Timestamp(0, 0), t: -1} for a
// one-entry transaction), db/repl/oplog_entry.h.
import { instantText } from '../../src/words.ts';
import assert from 'node:assert/strict';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Binary, Long, Timestamp, UUID, type MongoClient } from 'mongodb';
import { readManifest } from '../../src/backup/commit.ts';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { ExitCode } from '../../src/errors.ts';
import { connectSource, type Source } from '../../src/source/connect-source.ts';
import type { Store } from '../../src/store/store.ts';
import { tsFromBson, type Ts } from '../../src/timestamp.ts';
import { runCli } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

async function newestOp(client: MongoClient): Promise<Ts> {
  const [op] = await client.db('local').collection('oplog.rs').find({}, { projection: { ts: 1 } }).sort({ $natural: -1 }).limit(1).toArray();
  assert.ok(op && op.ts instanceof Timestamp, 'the oplog has an op');
  return tsFromBson(op.ts);
}

async function databaseExists(client: MongoClient, name: string): Promise<boolean> {
  const { databases } = await client.db('admin').admin().listDatabases();
  return databases.some((entry) => entry.name === name);
}

describe('a cutoff past an undecided prepare', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();
  const db = uniqueName('prepared');
  let source: Source;
  let store: Store;
  let storeUrl: string;
  let prepared: Ts;

  before(async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    ({ store, url: storeUrl } = await kind.open());
    const client = server.client();
    const orders = client.db(db).collection<{ _id: number }>('orders');
    await orders.insertOne({ _id: 1 });
    source = await connectSource(server.mongo().uri);
    await backupBase({ source, store });
    await orders.insertOne({ _id: 2 });
    // The shard's prepare, right after the last write: nothing after it decides it.
    const last = await newestOp(client);
    prepared = { t: last.t, i: last.i + 1 };
    const ui = new UUID();
    await client.db('local').collection('oplog.rs').insertOne({
      op: 'c',
      ns: 'admin.$cmd',
      o: { applyOps: [{ op: 'i', ns: `${db}.orders`, ui, o: { _id: 3 }, o2: { _id: 3 } }], prepare: true },
      lsid: { id: new UUID('0f1e2d3c-4b5a-4697-8876-655443322110'), uid: new Binary(Buffer.alloc(32, 7)) },
      txnNumber: Long.fromNumber(3),
      stmtId: [0],
      prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) },
      ts: new Timestamp({ t: prepared.t, i: prepared.i }),
      t: Long.fromNumber(1),
      v: Long.fromNumber(2),
      wall: new Date(prepared.t * 1000),
    });
    // FerretDB logs that insert too (an `i` on local.oplog.rs, after it): a later op, decided nothing.
    assert.equal(await client.db('local').collection('oplog.rs').countDocuments({ ts: new Timestamp({ t: prepared.t, i: prepared.i }) }), 1, 'the prepare is in the oplog');
    await backupOplog({ source, store });
  });

  after(async () => {
    await source?.client.close();
    await store?.close();
  });

  test('the chain records the prepare as open at its end', async () => {
    const { manifest } = await readManifest(store);
    const chain = manifest.chains.at(-1);
    assert.ok(chain);
    assert.deepEqual(chain.chunks.at(-1)?.openPrepares?.map((record) => record.ts), [prepared]);
  });

  test('restore --until past it exits 2 in one line naming it, and writes nothing', async () => {
    const restored = uniqueName('prepared_restored');
    const past = `${prepared.t}:${prepared.i + 1}`;
    const args = ['restore', '--quiet', '--store', storeUrl, '--to', server.mongo().uri, '--until', past, '--nsFrom', `${db}.*`, '--nsTo', `${restored}.*`];
    const result = await runCli(args);
    assert.equal(result.code, ExitCode.usage, result.stderr);
    // Refused before anything is written (the end-of-replay check alone left the target written).
    assert.equal(await databaseExists(server.client(), restored), false, 'the target database does not exist');
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 1, result.stderr);
    // The prepare's time first (its second, local with UTC beside it), then the position --until takes.
    assert.ok(lines[0]?.includes(`past a transaction prepared at ${instantText(prepared.t * 1000, {})} [${prepared.t}:${prepared.i}] whose commit or abort is not archived yet`), lines[0]);
    assert.ok(lines[0]?.includes(`pick a cutoff at or before it (--until ${prepared.t}:${prepared.i}, or ${new Date(prepared.t * 1000).toISOString()}), or wait for the next oplog pass`), lines[0]);

    const dry = await runCli(['restore', '--quiet', '--store', storeUrl, '--dry-run', '--until', past]);
    assert.equal(dry.code, ExitCode.usage, dry.stderr);
    assert.match(dry.stderr, /past a transaction prepared at/);
  });

  test('export --until past it exits 2 and creates no folder', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'mongo-pitr-prepared-')), 'dump');
    const result = await runCli(['export', '--quiet', '--store', storeUrl, '--until', `${prepared.t}:${prepared.i + 1}`, dir]);
    assert.equal(result.code, ExitCode.usage, result.stderr);
    assert.ok(result.stderr.includes(`past a transaction prepared at ${instantText(prepared.t * 1000, {})} [${prepared.t}:${prepared.i}]`), result.stderr);
    // planRestore refuses it before the export reads anything (export-dump.ts checks again while reading).
    assert.ok(result.stderr.includes(`pick a cutoff at or before it (--until ${prepared.t}:${prepared.i}, or ${new Date(prepared.t * 1000).toISOString()})`), result.stderr);
    await assert.rejects(stat(dir), { code: 'ENOENT' });
  });

  test('a cutoff at the prepare restores everything before it', async () => {
    const restored = uniqueName('prepared_restored');
    const args = ['restore', '--quiet', '--store', storeUrl, '--to', server.mongo().uri, '--until', `${prepared.t}:${prepared.i}`, '--nsFrom', `${db}.*`, '--nsTo', `${restored}.*`];
    const result = await runCli(args);
    assert.equal(result.code, 0, result.stderr);
    const ids = await server.client().db(restored).collection<{ _id: number }>('orders').find().sort({ _id: 1 }).toArray();
    assert.deepEqual(ids.map((doc) => doc._id), [1, 2]);
  });
});
