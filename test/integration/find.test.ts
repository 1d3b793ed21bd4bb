// Searching the archive: a real chain from FerretDB (inserts, updates, deletes), one more chunk
// appended by hand through the library from mongo-tools' real drop_db.bson (its ts moved past
// the chain's end), and a second chain whose base oplog repeats an op of the first. find must
// report an _id's ops, a namespace's deletes, the dropDatabase, each op once; and inside a
// transaction's applyOps, the inner ops, marked as such (on local files).
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, before } from 'node:test';
import { BSON, Long, Timestamp, UUID } from 'mongodb';
import { readBsonFile } from '../../src/archive/bson-frames.ts';
import { decodeDocument } from '../../src/archive/bson-decode.ts';
import { addChunk, chainEnd, type Chain, type Chunk } from '../../src/archive/manifest.ts';
import { chunkKey } from '../../src/archive/object-keys.ts';
import { readOplogHeader, type RawOplogEntry } from '../../src/archive/oplog-header.ts';
import { ManifestCommitter, readManifest } from '../../src/backup/commit.ts';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { writeOplogObject } from '../../src/backup/write-oplog-object.ts';
import { compileOpFilter, findOps, findOpsInFile, parseIdJson, type FoundOp, type OpFilterSpec } from '../../src/restore/find-ops.ts';
import type { Store } from '../../src/store/store.ts';
import { compareTs, formatTs, tsToBson, type Ts } from '../../src/timestamp.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { readOplogObject } from '../support/chain-reader.ts';
import { runCli } from '../support/cli.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, SHARED_DIR, uniqueName } from '../support/test-env.ts';

const FIXTURES = join(SHARED_DIR, 'fixtures/mongo-tools/oplogs/bson');

async function collect(found: AsyncIterable<FoundOp>): Promise<FoundOp[]> {
  const all: FoundOp[] = [];
  for await (const op of found) all.push(op);
  return all;
}

const filterOf = (spec: OpFilterSpec): ReturnType<typeof compileOpFilter> => compileOpFilter(spec, JSON.stringify(spec));

/** Appends the entries of a fixture file as one chunk of `chain`, re-stamped to follow it. */
async function appendFixtureChunk(store: Store, chain: Chain, file: string): Promise<Chunk> {
  const end = chainEnd(chain);
  const entries: RawOplogEntry[] = [];
  let ts: Ts = end.lastTs;
  for await (const raw of readBsonFile(file)) {
    ts = { t: ts.t, i: ts.i + 1 };
    const entry = decodeDocument(raw);
    const raw2 = Buffer.from(BSON.serialize({ ...entry, ts: tsToBson(ts), wall: new Date(ts.t * 1000) }));
    entries.push({ raw: raw2, header: readOplogHeader(raw2) });
  }
  const first = entries[0]?.header.ts ?? end.lastTs;
  const written = await writeOplogObject(store, chunkKey(chain.id, first, 'f1x7a9e0'), (async function* () { yield* entries; })(), end.lastTs);
  const chunk: Chunk = {
    ...written.object,
    afterTs: end.lastTs,
    prevSha256: end.sha256,
    sealedAt: new Date().toISOString(),
    lagMs: null,
    commitPoint: 'lastWritten',
    stats: { byNs: written.byNs },
  };
  const committer = await ManifestCommitter.open(store);
  await committer.commit((manifest) => addChunk(manifest, chain.id, chunk));
  return chunk;
}

for (const kind of STORE_KINDS) {
  describe(`find on the ${kind.name} store`, { skip: NO_MONGO || kind.skip }, () => {
    const suite = useBackupSuite(kind);
    let dropChunk: Chunk;
    const db = uniqueName('find');
    const ns = `${db}.docs`;

    before(async () => {
      const { client, source, store } = suite;
      const docs = client.db(db).collection<{ _id: number; name: string; n?: number }>('docs');
      const other = client.db(db).collection<{ _id: number; name: string }>('other');
      await docs.insertMany([1, 2, 3, 4, 5].map((n) => ({ _id: n, name: `doc ${n}` })));
      await backupBase({ source, store });
      await docs.updateOne({ _id: 2 }, { $set: { n: 1 } });
      await other.insertOne({ _id: 2, name: 'same _id, other collection' });
      await docs.deleteOne({ _id: 3 });
      await other.deleteOne({ _id: 2 });
      await docs.deleteOne({ _id: 4 });
      await docs.insertOne({ _id: 6, name: 'doc 6' });
      await docs.updateOne({ _id: 2 }, { $set: { n: 2 } });
      await backupOplog({ source, store });
      const [chain] = (await readManifest(store)).manifest.chains;
      assert.ok(chain);
      dropChunk = await appendFixtureChunk(store, chain, join(FIXTURES, 'drop_db.bson'));
      // A second chain: its base oplog starts at the newest server op, already in the first.
      await backupBase({ source, store });
      const chains = (await readManifest(store)).manifest.chains;
      assert.equal(chains.length, 2);
      const repeated = await readOplogObject(store, chains[1]?.base.oplog ?? dropChunk);
      assert.ok(repeated.some((entry) => entry.ns === ns && entry.op === 'u'), 'the second base repeats the last update of _id 2');
    });
    test("an _id's ops in one namespace, each once, oldest first", async () => {
      const found = await collect(findOps({ store: suite.store, filter: filterOf({ ns: [ns], id: 2 }) }));
      assert.deepEqual(found.map((op) => [op.op, op.ns, op.id]), [['u', ns, 2], ['u', ns, 2]]);
      assert.ok(found.every((op) => !op.inTransaction && op.chainId !== null));
      assert.ok(compareTs(found[0]?.ts ?? { t: 0, i: 0 }, found[1]?.ts ?? { t: 0, i: 0 }) < 0, 'oldest first');
      // Without the namespace, the other collection's _id 2 shows up too: insert and delete.
      const anywhere = await collect(findOps({ store: suite.store, filter: filterOf({ ns: [`${db}.*`], id: 2 }) }));
      assert.deepEqual(anywhere.map((op) => `${op.op} ${op.ns.slice(db.length + 1)}`), ['u docs', 'i other', 'd other', 'u docs']);
    });

    test("a namespace's deletes, and time bounds", async () => {
      const deletes = await collect(findOps({ store: suite.store, filter: filterOf({ ns: [ns], op: ['d'] }) }));
      assert.deepEqual(deletes.map((op) => op.id), [3, 4]);
      assert.deepEqual(deletes.map((op) => op.summary), ['_id 3', '_id 4']);
      const at = formatTs(deletes[0]?.ts ?? { t: 0, i: 0 });
      const from = await collect(findOps({ store: suite.store, filter: filterOf({ ns: [ns], op: ['delete'], from: at }) }));
      assert.deepEqual(from.map((op) => op.id), [3, 4]);
      const until = await collect(findOps({ store: suite.store, filter: filterOf({ ns: [ns], op: ['d'], until: at }) }));
      assert.deepEqual(until, []);
      const limited = await collect(findOps({ store: suite.store, filter: filterOf({ ns: [ns], op: ['d'] }), limit: 1 }));
      assert.deepEqual(limited.map((op) => op.id), [3]);
    });

    test('the dropDatabase of the hand-appended fixture chunk', async () => {
      const found = await collect(findOps({ store: suite.store, filter: filterOf({ op: ['c'], command: ['dropDatabase'], ns: ['test.*'] }) }));
      assert.equal(found.length, 1);
      assert.equal(found[0]?.key, dropChunk.key);
      assert.deepEqual(found[0]?.ts, dropChunk.firstTs);
      assert.equal(found[0]?.ns, 'test.$cmd');
      assert.equal(found[0]?.command, 'dropDatabase');
      const none = await collect(findOps({ store: suite.store, filter: filterOf({ command: ['dropDatabase'], ns: [`${db}.*`] }) }));
      assert.deepEqual(none, []);
    });

    test('the CLI: flags and a JSON filter, lines and --json', async () => {
      const json = await runCli(['find', '--json', '--ns', ns, '--id', '2', ...suite.cli.cliArgs], suite.cli.env);
      assert.equal(json.code, 0, json.stderr);
      const lines = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(lines.map((line) => [line.op, line.ns, line.id, line.inTransaction]), [['u', ns, 2, false], ['u', ns, 2, false]]);
      assert.match(String(lines[0]?.ts), /^\d+:\d+$/);
      const text = await runCli(['find', '{"command":"dropDatabase","ns":"test.*"}', ...suite.cli.cliArgs], suite.cli.env);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(text.stdout, `${formatTs(dropChunk.firstTs)}  ${new Date(dropChunk.firstTs.t * 1000).toISOString()}  c  test.$cmd  dropDatabase\n`);
      assert.match(text.stderr, /1 matching op;/);
      const twice = await runCli(['find', '--op', 'd', '{"op":"d"}', ...suite.cli.cliArgs], suite.cli.env);
      assert.equal(twice.code, 2, 'a criterion given twice is a usage error');
    });
  });
}

describe('find over local oplog files', () => {
  test('the real drop_db.bson and an applyOps batch (not a transaction)', async () => {
    const drop = await collect(findOpsInFile(join(FIXTURES, 'drop_db.bson'), filterOf({ command: ['dropDatabase'] })));
    assert.deepEqual(drop.map((op) => [formatTs(op.ts), op.ns, op.summary]), [['1616671599:3', 'test.$cmd', 'dropDatabase']]);
    const inserts = await collect(findOpsInFile(join(FIXTURES, 'vectored_insert.bson'), filterOf({ op: ['i'], ns: ['mongodump_test_db.*'] })));
    assert.deepEqual(inserts.map((op) => [op.id, op.inTransaction]), [[100, false], [200, false]]);
    const byId = await collect(findOpsInFile(join(FIXTURES, 'vectored_insert.bson'), filterOf({ id: parseIdJson('{"$numberLong":"200"}') })));
    assert.deepEqual(byId.map((op) => op.id), [200], 'int32 200 matches --id as int64');
  });

  test("a transaction's inner ops match, and say so", async () => {
    const lsid = { id: new UUID(), uid: new BSON.Binary(Buffer.alloc(32)) };
    const ts = new Timestamp({ t: 1_700_000_000, i: 7 });
    const entries = [
      { op: 'i', ns: 'shop.orders', o: { _id: 1, total: 10 }, ts: new Timestamp({ t: 1_700_000_000, i: 6 }), wall: new Date(1_700_000_000_000), v: 2 },
      {
        op: 'c', ns: 'admin.$cmd', ts, wall: new Date(1_700_000_000_000), v: 2, lsid, txnNumber: Long.fromNumber(3), prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) },
        o: { applyOps: [{ op: 'd', ns: 'shop.orders', o: { _id: 1 } }, { op: 'i', ns: 'shop.audit', o: { _id: 'a1', what: 'cancel' } }] },
      },
    ];
    const file = join(await mkdtemp(join(tmpdir(), 'mongo-pitr-find-')), 'oplog.bson');
    await writeFile(file, Buffer.concat(entries.map((entry) => BSON.serialize(entry))));
    const deletes = await collect(findOpsInFile(file, filterOf({ op: ['d'], ns: ['shop.*'] })));
    assert.deepEqual(deletes.map((op) => [formatTs(op.ts), op.ns, op.id, op.inTransaction]), [['1700000000:7', 'shop.orders', 1, true]]);
    const ofOrder = await collect(findOpsInFile(file, filterOf({ id: 1 })));
    assert.deepEqual(ofOrder.map((op) => [op.op, op.inTransaction]), [['i', false], ['d', true]]);
    const audit = await collect(findOpsInFile(file, filterOf({ id: parseIdJson('"a1"') })));
    assert.deepEqual(audit.map((op) => op.ns), ['shop.audit']);
    const wrapper = await collect(findOpsInFile(file, filterOf({ command: ['applyOps'] })));
    assert.deepEqual(wrapper.map((op) => [op.summary, op.inTransaction]), [['applyOps: 2 ops', true]]);
  });
});
