// Crash safety of format 2, for real: SIGKILL a process while it seals index segments, and while
// it compacts. After each kill the store still reads back whole (head, segments, compacted index,
// every sha256), the hash chain holds, no object is referenced twice, every archived entry is
// there exactly once and in order, and `mongo-pitr verify` passes; the next run goes on.
// Synthetic chunks (test/support/synthetic-chain.ts) on a folder store: no server needed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { verifyContinuity } from '../../src/archive/chain-window.ts';
import { SEGMENT_CHUNKS } from '../../src/archive/index-segment.ts';
import { ManifestCommitter, readManifest } from '../../src/backup/commit.ts';
import { FolderStore } from '../../src/store/folder-store.ts';
import { readObjectDocuments } from '../support/chain-reader.ts';
import { finished, runCli, spawnCli } from '../support/cli.ts';
import { appendChunks, syntheticBase } from '../support/synthetic-chain.ts';
import { waitFor } from '../support/wait-for.ts';

const CHILD = fileURLToPath(new URL('../support/append-child.ts', import.meta.url));
const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function freshStore(): Promise<FolderStore> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-crash-'));
  dirs.push(dir);
  return new FolderStore(dir);
}

/** Everything a kill must leave true; returns the number of chunks recorded. */
async function assertWhole(store: FolderStore): Promise<number> {
  const { manifest } = await readManifest(store);
  const chain = manifest.chains[0];
  assert.ok(chain);
  verifyContinuity(chain);
  const keys = chain.chunks.map((chunk) => chunk.key);
  assert.equal(new Set(keys).size, keys.length, 'no object referenced twice');
  const ids: number[] = [];
  for (const object of [chain.base.oplog, ...chain.chunks]) for (const entry of await readObjectDocuments(store, object.key)) ids.push(entry.o._id as number);
  assert.deepEqual(ids, Array.from({ length: ids.length }, (_, n) => n), 'every entry once, in order');
  const verify = await runCli(['verify', '--store', store.rootDir]);
  assert.equal(verify.code, 0, verify.stderr);
  return chain.chunks.reduce((sum, chunk) => sum + (chunk.pieces ?? 1), 0);
}

describe('SIGKILL and format 2', () => {
  test('killed while sealing segments: nothing lost, nothing twice, verify passes, the next run goes on', async () => {
    const store = await freshStore();
    const committer = await ManifestCommitter.open(store);
    await syntheticBase(store, committer);
    let recorded = 0;
    for (const delayMs of [0, 3, 10, 25]) {
      const child = spawn(process.execPath, [CHILD, store.rootDir, String(recorded + 1), String(3 * SEGMENT_CHUNKS), '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exit = finished(child);
      // Kill it next to the next seal: once the commit before the sealing one is done.
      const sealAt = (Math.floor(recorded / SEGMENT_CHUNKS) + 1) * SEGMENT_CHUNKS;
      await new Promise<void>((resolve) => {
        let out = '';
        child.stdout?.on('data', (data: Buffer) => {
          out += data.toString();
          if (out.split('\n').some((line) => Number(line) >= sealAt - 1)) resolve();
        });
        child.on('close', () => resolve());
      });
      await sleep(delayMs);
      child.kill('SIGKILL');
      const result = await exit;
      assert.equal(result.signal, 'SIGKILL', `the child finished before the kill: ${result.stderr}`);
      const now = await assertWhole(store);
      assert.ok(now >= recorded, `${now} chunks recorded, ${recorded} before`);
      recorded = now;
    }
    assert.ok(recorded > SEGMENT_CHUNKS, `${recorded} chunks: at least one segment was sealed`);
    const next = await ManifestCommitter.open(store);
    const chain = next.manifest.chains[0];
    assert.ok(chain);
    await appendChunks(store, next, chain, recorded + 1, 3);
    assert.equal(await assertWhole(store), recorded + 3);
  });

  test('killed while compacting: nothing lost, nothing twice, verify passes, the next run resumes', async () => {
    const store = await freshStore();
    const committer = await ManifestCommitter.open(store);
    const base = await syntheticBase(store, committer);
    // 600 chunks a minute apart: ten closed hours to merge.
    await appendChunks(store, committer, base, 1, 600, { stepSeconds: 60, perCommit: 50 });
    const total = await assertWhole(store);
    const chainDir = join(store.rootDir, 'chunks', base.id);
    const merged = async () => (await readdir(chainDir)).filter((name) => /-L\d-/.test(name)).length;
    for (const delayMs of [0, 20, 60, 150]) {
      const child = spawnCli(['compact', '--store', store.rootDir]);
      const exit = finished(child);
      // Kill it once it has written a merged object more than before: in the middle of its work.
      const before = await merged();
      await waitFor('a merged object', async () => (await merged()) > before || child.exitCode !== null, 60_000);
      await sleep(delayMs);
      child.kill('SIGKILL');
      await exit;
      assert.equal(await assertWhole(store), total);
    }
    const done = await runCli(['compact', '--store', store.rootDir, '--json']);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(await assertWhole(store), total);
    const { manifest } = await readManifest(store);
    const records = manifest.chains[0]?.chunks ?? [];
    assert.ok(records.length < total / 3, `${records.length} records after compaction`);
    assert.ok(records.some((record) => (record.level ?? 0) >= 1));
  });
});
