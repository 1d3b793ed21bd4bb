// Compaction on a real folder store: closed hours of sealed chunks merge into one object each,
// every entry kept in order; the chain still verifies (sha256 of every object, continuity by
// the archived chunks' hash chain); replaced pieces stay until the grace period has passed since
// the compaction was recorded; a crash before the head commit loses nothing and the next run
// resumes.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { planRestore, verifyContinuity } from '../../../src/archive/chain-window.ts';
import { chainChunkCount, type Chain, type Manifest } from '../../../src/archive/manifest.ts';
import { MANIFEST_KEY } from '../../../src/archive/object-keys.ts';
import { ManifestCommitter, readHead, readManifest } from '../../../src/backup/commit.ts';
import { compact, sweepRetired } from '../../../src/backup/compact.ts';
import { StoreError } from '../../../src/errors.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { parseCutoff } from '../../../src/timestamp.ts';
import { readObjectDocuments } from '../../support/chain-reader.ts';
import { appendChunks, START_T, syntheticBase, withPutIfMatch } from '../../support/synthetic-chain.ts';

const HOUR_MS = 3_600_000;
const CHUNKS = 200;
const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A chain of CHUNKS chunks one minute apart (about 3.3 hours), two inserts each. */
async function minuteChain(): Promise<{ store: FolderStore; chain: Chain }> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-compact-'));
  dirs.push(dir);
  const store = new FolderStore(dir);
  const committer = await ManifestCommitter.open(store);
  const base = await syntheticBase(store, committer);
  await appendChunks(store, committer, base, 1, CHUNKS, { stepSeconds: 60, perCommit: 20 });
  const { manifest } = await readManifest(store);
  const chain = manifest.chains[0];
  assert.ok(chain);
  return { store, chain };
}

async function insertedIds(store: Store, manifest: Manifest): Promise<number[]> {
  const chain = manifest.chains[0];
  assert.ok(chain);
  const ids: number[] = [];
  for (const object of [chain.base.oplog, ...chain.chunks]) {
    for (const entry of await readObjectDocuments(store, object.key)) ids.push(entry.o._id as number);
  }
  return ids;
}

async function keys(store: Store): Promise<Set<string>> {
  const all = new Set<string>();
  for (const prefix of ['chunks/', 'index/']) for await (const object of store.list(prefix)) all.add(object.key);
  return all;
}

function assertNoKeyTwice(chain: Chain): void {
  const list = chain.chunks.map((chunk) => chunk.key);
  assert.equal(new Set(list).size, list.length, 'no object referenced twice');
}

describe('compaction', () => {
  test('merges closed hours of sealed chunks, keeps every entry in order, and verifies', async () => {
    const { store, chain } = await minuteChain();
    const before = (await readManifest(store)).manifest;
    const result = await compact({ store });
    assert.ok(result.merged >= 1, `merged ${result.merged}`);
    assert.equal(result.deleted, 0, 'nothing deleted inside the grace period');
    const { manifest } = await readManifest(store);
    const whole = manifest.chains[0];
    assert.ok(whole);
    verifyContinuity(whole);
    assertNoKeyTwice(whole);
    assert.ok(whole.chunks.length < chain.chunks.length - 50, `${whole.chunks.length} records`);
    assert.ok(whole.chunks.some((chunk) => (chunk.level ?? 0) >= 1));
    assert.equal(chainChunkCount((await readHead(store)).manifest.chains[0] ?? whole), CHUNKS);
    // Every entry, in order: what the pieces held, the merged objects hold.
    assert.deepEqual(await insertedIds(store, manifest), await insertedIds(store, before));
    assert.deepEqual(await insertedIds(store, manifest), Array.from({ length: 2 * CHUNKS + 1 }, (_, n) => n));
    // A cutoff inside a merged object: that object is in the plan, and nothing after it.
    const merged = whole.chunks.find((chunk) => (chunk.level ?? 0) >= 1);
    assert.ok(merged);
    const plan = planRestore(manifest, parseCutoff(`${merged.firstTs.t + 90}:1`));
    assert.equal(plan.chunks.at(-1)?.key, merged.key);
    // Again: nothing new to merge at level 1; the pieces go only once the grace period has passed.
    const old = await keys(store);
    assert.equal(await sweepRetired(store, Date.now(), HOUR_MS), 0);
    const deleted = await sweepRetired(store, Date.now() + HOUR_MS + 1000, HOUR_MS);
    assert.ok(deleted >= result.replaced, `deleted ${deleted}`);
    const left = await keys(store);
    for (const chunk of whole.chunks) assert.ok(left.has(chunk.key), `${chunk.key} is still stored`);
    for (const key of whole.indexKeys ?? []) assert.ok(left.has(key));
    assert.equal(old.size - left.size, deleted);
    assert.deepEqual(await insertedIds(store, (await readManifest(store)).manifest), Array.from({ length: 2 * CHUNKS + 1 }, (_, n) => n));
    void START_T;
  });

  test('a crash before the head commit leaves the recorded chain as it was; the next run resumes', async () => {
    const { store } = await minuteChain();
    const before = (await readManifest(store)).manifest;
    const crashing = withPutIfMatch(store, async (key, body, etag) => {
      if (key === MANIFEST_KEY) throw new StoreError('io', 'simulated kill before the head');
      return store.putIfMatch(key, body, etag);
    });
    await assert.rejects(compact({ store: crashing }), StoreError);
    const unchanged = (await readManifest(store)).manifest;
    assert.deepEqual(unchanged.chains[0]?.chunks, before.chains[0]?.chunks);
    const resumed = await compact({ store });
    assert.ok(resumed.merged >= 1);
    const whole = (await readManifest(store)).manifest.chains[0];
    assert.ok(whole);
    verifyContinuity(whole);
    assertNoKeyTwice(whole);
    assert.deepEqual(await insertedIds(store, (await readManifest(store)).manifest), Array.from({ length: 2 * CHUNKS + 1 }, (_, n) => n));
  });
});
