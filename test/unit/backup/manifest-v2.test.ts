// Manifest format 2 on a real folder store: commits write the head and, every SEGMENT_CHUNKS
// chunks, one sealed segment; the head alone answers status; readManifest loads every record
// back, checked by sha256; a format-1 manifest is read as it is and converted by the first
// commit, losing nothing; a crash between a segment and its head loses nothing either.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { planRestore, verifyContinuity } from '../../../src/archive/chain-window.ts';
import { SEGMENT_CHUNKS } from '../../../src/archive/index-segment.ts';
import { addChunk, chainChunkCount, chainOpCount, serializeManifest, type Manifest } from '../../../src/archive/manifest.ts';
import { MANIFEST_KEY } from '../../../src/archive/object-keys.ts';
import { ManifestCommitter, readHead, readManifest } from '../../../src/backup/commit.ts';
import { migrate } from '../../../src/backup/migrate.ts';
import { IntegrityError, StoreError } from '../../../src/errors.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import { appendChunks, syntheticBase, syntheticChunk, withPutIfMatch } from '../../support/synthetic-chain.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function freshStore(): Promise<{ store: FolderStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-v2-'));
  dirs.push(dir);
  return { store: new FolderStore(dir), dir };
}

/** Counts the bytes every put and putIfMatch writes. */
function counting(store: FolderStore): { store: ReturnType<typeof withPutIfMatch>; written: () => { objects: number; bytes: number }; reset: () => void } {
  let objects = 0;
  let bytes = 0;
  const wrapped = withPutIfMatch(store, async (key, body, etag) => {
    objects++;
    bytes += body.length;
    return store.putIfMatch(key, body, etag);
  });
  return { store: wrapped, written: () => ({ objects, bytes }), reset: () => ((objects = 0), (bytes = 0)) };
}

describe('manifest format 2', () => {
  test('a commit writes the head and at most one segment; the head holds fewer than SEGMENT_CHUNKS records', async () => {
    const { store } = await freshStore();
    const counted = counting(store);
    const committer = await ManifestCommitter.open(counted.store);
    let chain = await syntheticBase(store, committer);
    chain = await appendChunks(store, committer, chain, 1, 3 * SEGMENT_CHUNKS + 5);
    const { manifest: head } = await readHead(store);
    const headChain = head.chains[0];
    assert.ok(headChain?.history, 'the head keeps a history summary');
    assert.equal(head.formatVersion, 2);
    assert.equal(headChain.chunks.length, 5);
    assert.equal(headChain.history.segment?.seq, 2);
    assert.equal(chainChunkCount(headChain), 3 * SEGMENT_CHUNKS + 5);
    assert.equal(chainOpCount(headChain), 1 + 2 * (3 * SEGMENT_CHUNKS + 5));
    // One more chunk: one object (the head) unless it seals a segment.
    counted.reset();
    chain = await appendChunks(store, committer, chain, 3 * SEGMENT_CHUNKS + 6, 1);
    assert.deepEqual(counted.written().objects, 1);
    const headBytes = (await readFile(join(store.rootDir, MANIFEST_KEY))).length;
    assert.ok(headBytes < 1500 * SEGMENT_CHUNKS, `head is ${headBytes} bytes`);

    const { manifest } = await readManifest(store);
    const whole = manifest.chains[0];
    assert.ok(whole);
    assert.equal(whole.history, undefined);
    assert.equal(whole.chunks.length, 3 * SEGMENT_CHUNKS + 6);
    assert.deepEqual(whole.chunks.map((chunk) => chunk.firstTs.t - 1_700_000_000), Array.from({ length: 3 * SEGMENT_CHUNKS + 6 }, (_, n) => n + 1));
    verifyContinuity(whole);
    assert.equal(whole.indexKeys?.length, 3);
  });

  test('planning or verifying on a head-only chain is refused, not silently short', async () => {
    const { store } = await freshStore();
    const committer = await ManifestCommitter.open(store);
    const chain = await syntheticBase(store, committer);
    await appendChunks(store, committer, chain, 1, SEGMENT_CHUNKS + 1);
    const { manifest: head } = await readHead(store);
    const headChain = head.chains[0];
    assert.ok(headChain);
    assert.throws(() => verifyContinuity(headChain), IntegrityError);
    assert.throws(() => planRestore(head, undefined), IntegrityError);
  });

  test('a format-1 manifest is read as it is and converted by the first commit, nothing lost', async () => {
    const { store } = await freshStore();
    // Today's format: one manifest.json with every chunk (what the v1 committer wrote).
    const committer = await ManifestCommitter.open(store);
    let chain = await syntheticBase(store, committer);
    const chunks = [];
    for (let n = 1; n <= 2 * SEGMENT_CHUNKS + 3; n++) {
      const chunk = await syntheticChunk(store, chain, n);
      chunks.push(chunk);
      chain = { ...chain, chunks: [...chain.chunks, chunk] };
    }
    const v1: Manifest = { formatVersion: 1, chains: [chain] };
    await writeFile(join(store.rootDir, MANIFEST_KEY), serializeManifest(v1));
    const before = (await readManifest(store)).manifest;
    assert.equal(before.formatVersion, 1);
    assert.deepEqual(before.chains[0]?.chunks, chunks);

    const converting = await ManifestCommitter.open(store);
    const next = await syntheticChunk(store, chain, 2 * SEGMENT_CHUNKS + 4);
    await converting.commit((head) => addChunk(head, chain.id, next));
    const { manifest: head } = await readHead(store);
    assert.equal(head.formatVersion, 2);
    assert.equal(head.chains[0]?.chunks.length, 4);
    const after = (await readManifest(store)).manifest.chains[0];
    assert.ok(after);
    assert.deepEqual(after.chunks, [...chunks, next]);
    assert.deepEqual(after.base, chain.base);
    verifyContinuity(after);
  });

  test('migrate converts a format-1 manifest, keeps the original as manifest-v1.json, and reads back the same chains', async () => {
    const { store } = await freshStore();
    const committer = await ManifestCommitter.open(store);
    let chain = await syntheticBase(store, committer);
    for (let n = 1; n <= SEGMENT_CHUNKS + 2; n++) chain = { ...chain, chunks: [...chain.chunks, await syntheticChunk(store, chain, n)] };
    const v1: Manifest = { formatVersion: 1, chains: [chain] };
    await writeFile(join(store.rootDir, MANIFEST_KEY), serializeManifest(v1));
    const result = await migrate(store);
    assert.deepEqual(result, { fromVersion: 1, toVersion: 2, chains: 1, chunks: SEGMENT_CHUNKS + 2, converted: true });
    assert.deepEqual(JSON.parse(await readFile(join(store.rootDir, 'manifest-v1.json'), 'utf8')), v1);
    const { manifest: head } = await readHead(store);
    assert.equal(head.chains[0]?.chunks.length, 2);
    assert.deepEqual((await readManifest(store)).manifest.chains[0]?.chunks, chain.chunks);
    assert.equal((await migrate(store)).converted, false);
  });

  test('a crash between a segment and its head leaves an unreferenced segment and loses nothing', async () => {
    const { store, dir } = await freshStore();
    const committer = await ManifestCommitter.open(store);
    let chain = await syntheticBase(store, committer);
    chain = await appendChunks(store, committer, chain, 1, SEGMENT_CHUNKS - 1);
    // The sealing commit's head write fails (the process dies there).
    const failing = withPutIfMatch(store, async (key, body, etag) => {
      if (key === MANIFEST_KEY) throw new StoreError('io', 'simulated crash before the head');
      return store.putIfMatch(key, body, etag);
    });
    const crashed = await ManifestCommitter.open(failing);
    const lost = await syntheticChunk(store, chain, SEGMENT_CHUNKS);
    await assert.rejects(crashed.commit((head) => addChunk(head, chain.id, lost)), StoreError);
    const segmentsAfterCrash = await readdir(join(dir, 'index', chain.id));
    assert.equal(segmentsAfterCrash.length, 1, 'the segment was stored before the head');
    // The next run: still SEGMENT_CHUNKS - 1 chunks, then goes on and seals its own segment.
    const next = await ManifestCommitter.open(store);
    assert.equal(chainChunkCount(next.manifest.chains[0] ?? chain), SEGMENT_CHUNKS - 1);
    chain = next.manifest.chains[0] ?? chain;
    chain = await appendChunks(store, next, chain, SEGMENT_CHUNKS, 2);
    const whole = (await readManifest(store)).manifest.chains[0];
    assert.ok(whole);
    assert.equal(whole.chunks.length, SEGMENT_CHUNKS + 1);
    verifyContinuity(whole);
    const segments = await readdir(join(dir, 'index', chain.id));
    assert.equal(segments.length, 2);
    assert.equal(whole.indexKeys?.length, 1, 'only the committed segment is referenced');
    assert.ok(!segments.map((name) => `index/${chain.id}/${name}`).filter((key) => whole.indexKeys?.includes(key)).includes(`index/${chain.id}/${segmentsAfterCrash[0]}`));
  });

  test('commits from one process queue up: concurrent updates (a stream and its compaction) both land', async () => {
    const { store } = await freshStore();
    const committer = await ManifestCommitter.open(store);
    const chain = await syntheticBase(store, committer);
    const first = await syntheticChunk(store, chain, 1);
    const second = await syntheticChunk(store, { ...chain, chunks: [first] }, 2);
    await Promise.all([
      committer.commit((head) => addChunk(head, chain.id, first)),
      committer.commit((head) => addChunk(head, chain.id, second)),
    ]);
    assert.equal((await readManifest(store)).manifest.chains[0]?.chunks.length, 2);
  });

  test('a changed segment fails the read with IntegrityError', async () => {
    const { store, dir } = await freshStore();
    const committer = await ManifestCommitter.open(store);
    const chain = await syntheticBase(store, committer);
    await appendChunks(store, committer, chain, 1, SEGMENT_CHUNKS);
    const [name] = await readdir(join(dir, 'index', chain.id));
    assert.ok(name);
    const path = join(dir, 'index', chain.id, name);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"count":2', '"count":3'));
    await assert.rejects(readManifest(store), IntegrityError);
  });
});
