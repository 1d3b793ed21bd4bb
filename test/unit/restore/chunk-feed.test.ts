// The download-ahead feed on a real folder store: objects arrive in order and in parallel, disk
// stays inside the budget (each file deleted once replay moves on), and a corrupt object stops
// the feed at that object with IntegrityError.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BSON } from 'mongodb';
import type { OplogObject } from '../../../src/archive/manifest.ts';
import { readBsonFile } from '../../../src/archive/bson-frames.ts';
import { ManifestCommitter, readManifest } from '../../../src/backup/commit.ts';
import { IntegrityError } from '../../../src/errors.ts';
import { ChunkFeed } from '../../../src/restore/chunk-feed.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { appendChunks, syntheticBase } from '../../support/synthetic-chain.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-feed-'));
  dirs.push(dir);
  return dir;
}

async function chainObjects(count: number): Promise<{ store: FolderStore; objects: OplogObject[] }> {
  const store = new FolderStore(await tempDir());
  const committer = await ManifestCommitter.open(store);
  const base = await syntheticBase(store, committer);
  await appendChunks(store, committer, base, 1, count, { perCommit: count });
  const chain = (await readManifest(store)).manifest.chains[0];
  assert.ok(chain);
  return { store, objects: [chain.base.oplog, ...chain.chunks] };
}

/** Counts gets running at once. */
function measuring(store: FolderStore): { store: Store; peak: () => number } {
  let running = 0;
  let peak = 0;
  const wrapped: Store = {
    url: store.url,
    put: (key, body, options) => store.put(key, body, options),
    get: async (key, options) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const body = await store.get(key, options);
      body.once('close', () => running--);
      return body;
    },
    stat: (key) => store.stat(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    putIfMatch: (key, body, etag) => store.putIfMatch(key, body, etag),
    check: () => store.check(),
    close: () => store.close(),
  };
  return { store: wrapped, peak: () => peak };
}

describe('chunk feed', () => {
  test('in order, in parallel, within the disk budget, each file deleted after use', async () => {
    const { store, objects } = await chainObjects(40);
    const measured = measuring(store);
    const dir = await tempDir();
    const budget = (objects[1]?.storedBytes ?? 0) * 6;
    const feed = new ChunkFeed(measured.store, objects, dir, { aheadBytes: budget, concurrency: 4 });
    assert.equal(feed.fitsAhead, false);
    const ids: number[] = [];
    let maxFiles = 0;
    for await (const file of feed.files()) {
      maxFiles = Math.max(maxFiles, (await readdir(join(dir, 'oplog'))).length);
      for await (const raw of readBsonFile(file)) ids.push(BSON.deserialize(raw).o._id as number);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await feed.close();
    assert.deepEqual(ids, Array.from({ length: 81 }, (_, n) => n));
    assert.ok(measured.peak() >= 2, `peak ${measured.peak()} gets at once`);
    assert.ok(maxFiles <= 7, `${maxFiles} files on disk at once`);
    assert.deepEqual(await readdir(join(dir, 'oplog')), []);
  });

  test('a corrupt object stops the feed there with IntegrityError', async () => {
    const { store, objects } = await chainObjects(10);
    const bad = objects[5];
    assert.ok(bad);
    await writeFile(join(store.rootDir, bad.key), Buffer.from('not what was stored'));
    const feed = new ChunkFeed(store, objects, await tempDir());
    assert.equal(feed.fitsAhead, true);
    await assert.rejects(feed.allFetched(), IntegrityError);
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const file of feed.files()) seen.push(file);
    }, IntegrityError);
    assert.ok(seen.length <= 5);
    await feed.close();
  });
});
