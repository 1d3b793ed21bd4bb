// The scenario from the field report this product grew from (shared/seeds/000_*): write 20,001
// documents, take a base; write 200,000 more, archive; write 1 more, archive. The chain must
// hold one base (20,001 documents plus its consistency oplog) and chunks whose ops add up to
// 200,001, in order, with no gap and no overlap. Then drop the database and restore: exactly
// 220,002 documents, and the newest equals the last one written. Run on both stores.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { readManifest } from '../../src/backup/commit.ts';
import { compareTs, tsFromBson, tsEquals } from '../../src/timestamp.ts';
import { restore } from '../../src/restore/restore.ts';
import { readObjectDocuments, readOplogObject } from '../support/chain-reader.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

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

for (const kind of STORE_KINDS) {
  describe(`field-report scenario on the ${kind.name} store`, { skip: NO_MONGO || kind.skip }, () => {
    const suite = useBackupSuite();
    const ns = { db: uniqueName('field'), coll: 'docs' };
    const nsName = `${ns.db}.${ns.coll}`;

    test('base + 200,000 + 1 archive as one contiguous chain, and restore to 220,002 documents', { timeout: 30 * 60_000 }, async () => {
      const { mongo, client, source } = suite;
      const { store } = await kind.open();
      try {
        await insertRange(client, ns, 0, 20_001);
        const base = await backupBase({ source, store });
        assert.equal(base.documents >= 20_001, true);
        await insertRange(client, ns, 20_001, 200_000);
        const first = await backupOplog({ source, store });
        await insertRange(client, ns, 220_001, 1);
        const second = await backupOplog({ source, store });
        assert.ok(first.ops >= 200_000 && second.ops >= 1);

        const { manifest } = await readManifest(store);
        assert.equal(manifest.chains.length, 1);
        const [chain] = manifest.chains;
        assert.ok(chain);
        const collection = chain.base.collections.find((entry) => entry.db === ns.db && entry.coll === ns.coll);
        assert.equal(collection?.docs, 20_001);
        const dumped = await readObjectDocuments(store, collection?.data?.key ?? '');
        assert.equal(dumped.length, 20_001);

        // Chunk stats say 200,001 ops on our namespace; reading the chunks back agrees.
        const statOps = chain.chunks.reduce((sum, chunk) => sum + (chunk.stats.byNs[nsName]?.i ?? 0), 0);
        assert.equal(statOps, 200_001);
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
        assert.equal(ids.length, 200_001);
        assert.ok(ids.every((id, index) => id === 20_001 + index), 'every op exactly once, in order');

        await client.db(ns.db).dropDatabase();
        const result = await restore({ store, targetUri: mongo.uri, namespaces: { include: [`${ns.db}.*`] } });
        assert.equal(result.base?.documents, 20_001);
        const restored = client.db(ns.db).collection<Doc>(ns.coll);
        assert.equal(await restored.countDocuments(), 220_002);
        const newest = await restored.find().sort({ _id: -1 }).limit(1).next();
        assert.deepEqual(newest, doc(220_001));
        assert.equal(result.receipt?.lastApplied?.ns, nsName);
      } finally {
        await store.close();
      }
    });
  });
}
