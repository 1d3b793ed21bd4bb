// A format-1 store, as today's code writes it (one manifest.json listing every chunk, no index
// objects), from a real backup: it restores as it is, `mongo-pitr migrate` converts it (the
// original kept as manifest-v1.json), and it then restores to the same documents, verifies, and
// takes new chunks. Chunks of one entry each (chunkBytes 1) give a chain longer than a segment.
import assert from 'node:assert/strict';
import { describe, test, before } from 'node:test';
import { SEGMENT_CHUNKS } from '../../src/archive/index-segment.ts';
import { serializeManifest, type Manifest } from '../../src/archive/manifest.ts';
import { INDEX_PREFIX, MANIFEST_KEY } from '../../src/archive/object-keys.ts';
import { readHead, readManifest } from '../../src/backup/commit.ts';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { restore } from '../../src/restore/restore.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { runCli } from '../support/cli.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

const ONE_ENTRY_CHUNKS = { chunkBytes: 1, chunkSpanSeconds: 3600 };

for (const kind of STORE_KINDS) {
  describe(`format 1 → 2 on the ${kind.name} store`, { skip: NO_MONGO || kind.skip }, () => {
    const suite = useBackupSuite(kind);
    const db = uniqueName('history');
    const docs = () => suite.client.db(db).collection<{ _id: number; n?: number }>('docs');

    const restored = async (downloadAheadBytes?: number): Promise<unknown[]> => {
      const target = uniqueName('restored');
      await restore({ store: suite.store, targetUri: suite.mongo.uri, downloadAheadBytes, namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${target}.*`] } });
      const found = await suite.client.db(target).collection('docs').find().sort({ _id: 1 }).toArray();
      await suite.client.db(target).dropDatabase();
      return found;
    };

    before(async () => {
      const { source, store } = suite;
      await docs().insertMany(Array.from({ length: 20 }, (_, n) => ({ _id: n, n })));
      await backupBase({ source, store });
      for (let n = 0; n < SEGMENT_CHUNKS + 20; n++) {
        if (n % 3 === 0) await docs().insertOne({ _id: 100 + n, n });
        else if (n % 3 === 1) await docs().updateOne({ _id: n % 20 }, { $set: { n: -n } });
        else await docs().deleteOne({ _id: 100 + n - 2 });
      }
      await backupOplog({ source, store, limits: ONE_ENTRY_CHUNKS });
      // Rewrite the store as format 1 wrote it: every chunk in manifest.json, no index objects.
      const { manifest } = await readManifest(store);
      assert.ok((manifest.chains.at(-1)?.chunks.length ?? 0) > SEGMENT_CHUNKS);
      const v1: Manifest = { ...manifest, formatVersion: 1, chains: manifest.chains.map(({ indexKeys: _keys, ...chain }) => chain) };
      const { etag } = await readHead(store);
      await store.putIfMatch(MANIFEST_KEY, serializeManifest(v1), etag);
      for await (const object of store.list(INDEX_PREFIX)) await store.delete(object.key);
    });

    test('restores as format 1, migrates, restores to the same documents, verifies, and goes on', async () => {
      const expected = await docs().find().sort({ _id: 1 }).toArray();
      assert.equal((await readHead(suite.store)).manifest.formatVersion, 1);
      assert.deepEqual(await restored(), expected);

      const migrated = await runCli(['migrate', '--json', ...suite.cli.cliArgs], suite.cli.env);
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.equal((JSON.parse(migrated.stdout) as { converted: boolean }).converted, true);
      const head = (await readHead(suite.store)).manifest;
      assert.equal(head.formatVersion, 2);
      assert.ok((head.chains.at(-1)?.chunks.length ?? Infinity) < SEGMENT_CHUNKS, 'sealed chunks left the head');
      assert.ok(await suite.store.stat('manifest-v1.json'));
      assert.deepEqual(await restored(), expected);
      // Pipelined: a disk budget of one object makes replay read each chunk as it downloads.
      assert.deepEqual(await restored(1), expected);

      const verified = await runCli(['verify', ...suite.cli.cliArgs], suite.cli.env);
      assert.equal(verified.code, 0, verified.stderr);
      const status = await runCli(['status', '--json', ...suite.cli.cliArgs], suite.cli.env);
      assert.equal(status.code, 0, status.stderr);
      assert.equal((JSON.parse(status.stdout) as { chains: { chunks: number }[] }).chains.at(-1)?.chunks, (await readManifest(suite.store)).manifest.chains.at(-1)?.chunks.length);

      await docs().insertOne({ _id: 9999, n: 9999 });
      await backupOplog({ source: suite.source, store: suite.store });
      assert.deepEqual(await restored(), await docs().find().sort({ _id: 1 }).toArray());
    });
  });
}
