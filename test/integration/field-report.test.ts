// The scenario from the field report this product grew from (shared/seeds/000_*): write 20,001
// documents, take a base; write 200,000 more, archive; write 1 more, archive. The chain must
// hold one base (20,001 documents plus its consistency oplog) and chunks whose ops add up to
// 200,001, in order, with no gap and no overlap, the 200,000 spread over several chunks. Then
// drop the database and restore: exactly 220,002 documents, and the newest equals the last one
// written. On both stores.
// In `npm test` it runs at a tenth of the report's numbers (2,001 + 20,000 + 1) with 256 KiB
// chunks, so the oplog still spans several chunks and every assertion below still bites; the
// report's own numbers (16 MiB chunks) with FIELD_REPORT_FULL=1 (about 4 minutes alone on 2
// cores with FerretDB, which inserting 220,002 documents into dominates).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import { backupBase, backupOplog, DEFAULT_LIMITS } from '../../src/backup/run-due.ts';
import type { ChunkLimits } from '../../src/archive/chunker.ts';
import { readManifest } from '../../src/backup/commit.ts';
import { compareTs, tsFromBson, tsEquals } from '../../src/timestamp.ts';
import { restore } from '../../src/restore/restore.ts';
import { readObjectDocuments, readOplogObject } from '../support/chain-reader.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import type { Store } from '../../src/store/store.ts';
import { startFerretDB } from '../servers/ferretdb.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, isFerretDB, uniqueName } from '../support/test-env.ts';

const FULL = process.env.FIELD_REPORT_FULL === '1';
const SCALE = FULL ? 1 : 10;
/** Documents before the base, inserts archived by the first oplog run, and their total with the last one. */
const BASE_DOCS = 20_000 / SCALE + 1;
const OPLOG_DOCS = 200_000 / SCALE;
const TOTAL_DOCS = BASE_DOCS + OPLOG_DOCS + 1;
const LIMITS: ChunkLimits = FULL ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, chunkBytes: 256 * 1024 };

type Doc = { _id: number; name: string; n: number; tags: string[] };
const doc = (n: number): Doc => ({ _id: n, name: `document ${n}`, n, tags: [`t${n % 7}`] });

async function insertRange(client: MongoClient, ns: { db: string; coll: string }, from: number, count: number): Promise<void> {
  const collection = client.db(ns.db).collection<Doc>(ns.coll);
  for (let start = from; start < from + count; start += 5000) {
    const docs: Doc[] = [];
    for (let n = start; n < Math.min(from + count, start + 5000); n++) docs.push(doc(n));
    await collection.insertMany(docs, { ordered: false });
  }
}

// The data is written once and backed up to both stores side by side (the same base, the same
// oplog runs); each store's chain is then read back and restored on its own, under a database
// name of its own. The two stores' tests share nothing but the source (read only by then), so
// they run side by side: the restores wait on the server, not on this process.
describe('field-report scenario on both stores', { skip: NO_MONGO, concurrency: true }, () => {
  const suite = useBackupSuite();
  const ns = { db: uniqueName('field'), coll: 'docs' };
  const nsName = `${ns.db}.${ns.coll}`;
  const kinds = STORE_KINDS.filter((kind) => !kind.skip);
  const stores = new Map<string, Store>();
  // Where the restores go. On FerretDB, a server of their own started as a standalone: it keeps
  // no oplog, and logging each restored insert into a capped oplog is most of
  // FerretDB's work in a restore (20,000 inserts measured 1.0-1.5 s standalone, 3.1-5.7 s with
  // the oplog). The assertions read what the restore wrote, which the target's oplog does not
  // change. With a mongod, the suite's server.
  let target: { uri: string; client: MongoClient; stop(): Promise<void> } | undefined;

  before(async () => {
    const { client, source } = suite;
    const bin = process.env.TEST_FERRETDB_BIN;
    if (isFerretDB() && bin) {
      const server = await startFerretDB(bin, undefined, { standalone: true });
      const targetClient = new MongoClient(server.uri);
      target = { uri: server.uri, client: targetClient, stop: async () => { await targetClient.close(); await server.stop(); } };
    } else {
      target = { uri: suite.mongo.uri, client, stop: async () => undefined };
    }
    for (const kind of kinds) stores.set(kind.name, (await kind.open()).store);
    const each = async <T>(run: (store: Store) => Promise<T>): Promise<T[]> => Promise.all([...stores.values()].map(run));
    await insertRange(client, ns, 0, BASE_DOCS);
    for (const base of await each((store) => backupBase({ source, store, limits: LIMITS }))) assert.equal(base.documents >= BASE_DOCS, true);
    await insertRange(client, ns, BASE_DOCS, OPLOG_DOCS);
    const first = await each((store) => backupOplog({ source, store, limits: LIMITS }));
    await insertRange(client, ns, BASE_DOCS + OPLOG_DOCS, 1);
    const second = await each((store) => backupOplog({ source, store, limits: LIMITS }));
    for (const [index] of first.entries()) assert.ok((first[index]?.ops ?? 0) >= OPLOG_DOCS && (second[index]?.ops ?? 0) >= 1);
  }, { timeout: 30 * 60_000 });

  after(async () => {
    for (const store of stores.values()) await store.close();
    await target?.stop();
  });

  for (const kind of STORE_KINDS) {
    test(`${kind.name} store: base + ${OPLOG_DOCS.toLocaleString('en')} + 1 archive as one contiguous chain, and restore to ${TOTAL_DOCS.toLocaleString('en')} documents`, { skip: kind.skip, timeout: 30 * 60_000 }, async () => {
      const store = stores.get(kind.name);
      assert.ok(store && target);
      const { uri: targetUri, client } = target;
      const { manifest } = await readManifest(store);
      assert.equal(manifest.chains.length, 1);
      const [chain] = manifest.chains;
      assert.ok(chain);
      const collection = chain.base.collections.find((entry) => entry.db === ns.db && entry.coll === ns.coll);
      assert.equal(collection?.docs, BASE_DOCS);
      const dumped = await readObjectDocuments(store, collection?.data?.key ?? '');
      assert.equal(dumped.length, BASE_DOCS);

      // Chunk stats say every insert after the base is on our namespace; reading the chunks back agrees.
      const statOps = chain.chunks.reduce((sum, chunk) => sum + (chunk.stats.byNs[nsName]?.i ?? 0), 0);
      assert.equal(statOps, OPLOG_DOCS + 1);
      assert.ok(chain.chunks.filter((chunk) => (chunk.stats.byNs[nsName]?.i ?? 0) > 0).length >= 2, 'the inserts span several chunks');
      let previous = chain.base.oplog;
      let previousTs = chain.base.oplog.lastTs;
      const ids: number[] = [];
      for (const chunk of chain.chunks) {
        assert.ok(tsEquals(chunk.afterTs, previous.lastTs), 'each chunk starts where the previous object ended');
        assert.equal(chunk.prevSha256, previous.sha256);
        const entries = await readOplogObject(store, chunk);
        assert.equal(entries.length, chunk.count);
        for (const entry of entries) {
          const ts = tsFromBson(entry.ts);
          assert.ok(compareTs(ts, previousTs) > 0, 'strictly increasing ts: no overlap');
          previousTs = ts;
          if (entry.ns === nsName) ids.push(entry.o._id as number);
        }
        previous = chunk;
      }
      assert.equal(ids.length, OPLOG_DOCS + 1);
      assert.ok(ids.every((id, index) => id === BASE_DOCS + index), 'every op exactly once, in order');

      // Restored under a name of this store's own (the two stores' restores run side by side).
      const into = `${ns.db}_${kind.name}`;
      await client.db(into).dropDatabase();
      try {
        const result = await restore({ store, targetUri, namespaces: { include: [`${ns.db}.*`], from: [`${ns.db}.*`], to: [`${into}.*`] } });
        assert.equal(result.base?.documents, BASE_DOCS);
        const restored = client.db(into).collection<Doc>(ns.coll);
        assert.equal(await restored.countDocuments(), TOTAL_DOCS);
        const newest = await restored.find().sort({ _id: -1 }).limit(1).next();
        assert.deepEqual(newest, doc(TOTAL_DOCS - 1));
        assert.equal(result.receipt?.lastApplied?.ns, `${into}.${ns.coll}`);
      } finally {
        await client.db(into).dropDatabase();
      }
    });
  }
});
