// The history stage: does a commit cost the same on day 1 and day 365, and does a restore of a
// long window stay fast? Run on demand (not a timed test):
//   node test/bench/history.ts [--chunks 1000,10000,100000] [--out test/bench/results/history.json]
// On a folder store, one chain of small synthetic chunks 1 s apart (insert ops in mongod's shape,
// gzip'ed raw BSON, as the archiver writes them; test/support/synthetic-chain.ts), grown to each
// count. At each count: the bytes and wall time of single-chunk commits (what `stream
// --flush-interval 1s` does every second), `mongo-pitr status` as a child process (wall, peak
// RSS), and a restore's planning (read the head and every index object, plan the whole window)
// and download (every object of the window, verified, through the restore's download-ahead
// feed). After the last count: `compact`, then planning and download again.
// `status` runs dist/ (npm run build first), as an installed package does.
// Goals (issue 14): commit bytes and time ≤ 1.25× from the first count to the last; status
// < 0.5 s and < 150 MiB at 100,000 chunks; objects fetched cut ≥ 100× after compaction.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { planRestore } from '../../src/archive/chain-window.ts';
import { addChunk, chainEnd, linkOf, type Chain, type Chunk } from '../../src/archive/manifest.ts';
import { chunkKey, newRunId } from '../../src/archive/object-keys.ts';
import { ManifestCommitter, readManifest } from '../../src/backup/commit.ts';
import { compact } from '../../src/backup/compact.ts';
import { ChunkFeed } from '../../src/restore/chunk-feed.ts';
import { FolderStore } from '../../src/store/folder-store.ts';
import type { Store } from '../../src/store/store.ts';
import { BIN } from '../support/cli.ts';
import { insertEntry, START_T, syntheticBase, withPutIfMatch } from '../support/synthetic-chain.ts';
import { SEGMENT_CHUNKS } from '../../src/archive/index-segment.ts';
import { runMeasured } from './child.ts';

const MiB = 1024 * 1024;
/** status runs the build, as an installed package does (type stripping adds start-up; test/bench/README.md). */
const STATUS_RUN = { env: { MONGO_PITR_FROM: 'dist' } };
/** A whole seal cycle, so the average does not depend on where in it a count falls. */
const MEASURED_COMMITS = SEGMENT_CHUNKS;
const BULK_PER_COMMIT = 1000;

const { values } = parseArgs({ options: { chunks: { type: 'string', default: '1000,10000,100000' }, out: { type: 'string', default: 'test/bench/results/history.json' } } });
const counts = values.chunks.split(',').map(Number);

/** Chunk n, written the way writeOplogObject does (gzip of concatenated raw entries), fast. */
async function writeChunk(store: Store, chain: Chain, n: number): Promise<Chunk> {
  const previous = chainEnd(chain);
  const entries = [insertEntry({ t: START_T + n, i: 1 }, 2 * n - 1), insertEntry({ t: START_T + n, i: 2 }, 2 * n)];
  const raw = Buffer.concat(entries.map((entry) => entry.raw));
  const gz = gzipSync(raw);
  const key = chunkKey(chain.id, { t: START_T + n, i: 1 }, newRunId());
  await store.put(key, gz);
  const wall = (i: number) => new Date((START_T + n) * 1000 + i).toISOString();
  return {
    key, rawBytes: raw.length, storedBytes: gz.length, sha256: createHash('sha256').update(gz).digest('hex'),
    firstTs: { t: START_T + n, i: 1 }, lastTs: { t: START_T + n, i: 2 }, firstWall: wall(1), lastWall: wall(2), count: 2,
    afterTs: previous.lastTs, prevSha256: linkOf(previous), sealedAt: new Date().toISOString(), lagMs: 0, commitPoint: 'lastWritten',
    commitPointTs: { t: START_T + n, i: 2 }, commitPointWall: wall(2), stats: { byNs: { 'synthetic.items': { i: 2 } } },
  };
}

function chainOf(committer: ManifestCommitter): Chain {
  const chain = committer.manifest.chains[0];
  if (!chain) throw new Error('no chain');
  return chain;
}

async function restoreWindow(store: Store, workDir: string): Promise<{ planMs: number; downloadMs: number; objects: number }> {
  const t0 = performance.now();
  const { manifest } = await readManifest(store);
  const plan = planRestore(manifest, undefined);
  const t1 = performance.now();
  const dir = await mkdtemp(join(workDir, 'restore-'));
  const feed = new ChunkFeed(store, [plan.base.oplog, ...plan.chunks], dir);
  let objects = 0;
  for await (const _file of feed.files()) objects++;
  await feed.close();
  await rm(dir, { recursive: true, force: true });
  return { planMs: t1 - t0, downloadMs: performance.now() - t1, objects };
}

const workDir = await mkdtemp(join(tmpdir(), 'mongo-pitr-history-'));
const store = new FolderStore(join(workDir, 'store'));
let written = { objects: 0, bytes: 0 };
const counted = withPutIfMatch(store, async (key, body, etag) => {
  written = { objects: written.objects + 1, bytes: written.bytes + body.length };
  return store.putIfMatch(key, body, etag);
});
const committer = await ManifestCommitter.open(counted);
await syntheticBase(store, committer);
let n = 0;
const rows: Record<string, unknown>[] = [];
try {
  for (const count of counts) {
    const t = performance.now();
    while (n < count - MEASURED_COMMITS) {
      const batch: Chunk[] = [];
      let end = chainOf(committer);
      for (let k = 0; k < BULK_PER_COMMIT && n < count - MEASURED_COMMITS; k++) {
        const chunk = await writeChunk(store, end, ++n);
        batch.push(chunk);
        end = { ...end, chunks: [...end.chunks, chunk] };
      }
      await committer.commit((head) => batch.reduce((next, chunk) => addChunk(next, end.id, chunk), head));
    }
    process.stderr.write(`grown to ${n} chunks in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    // Single-chunk commits, as stream makes them: bytes and objects written, wall time.
    written = { objects: 0, bytes: 0 };
    const commitMs: number[] = [];
    for (let k = 0; k < MEASURED_COMMITS; k++) {
      const chunk = await writeChunk(store, chainOf(committer), ++n);
      const started = performance.now();
      await committer.commit((head) => addChunk(head, chunk.key.split('/')[1] ?? '', chunk));
      commitMs.push(performance.now() - started);
    }
    const status = await runMeasured(process.execPath, [BIN, 'status', '--store', store.rootDir, '--json'], STATUS_RUN);
    if (status.code !== 0) throw new Error(`status failed: ${status.stderr}`);
    const restore = await restoreWindow(store, workDir);
    rows.push({
      chunks: n,
      commitBytes: Math.round(written.bytes / MEASURED_COMMITS),
      commitObjects: written.objects / MEASURED_COMMITS,
      commitMs: commitMs.reduce((a, b) => a + b, 0) / commitMs.length,
      commitMsMedian: [...commitMs].sort((a, b) => a - b)[Math.floor(commitMs.length / 2)],
      statusMs: status.wallMs,
      statusCpuS: status.cpuSeconds,
      statusPeakMiB: (status.peakRssBytes ?? 0) / MiB,
      restorePlanMs: restore.planMs,
      restoreDownloadMs: restore.downloadMs,
      restoreObjects: restore.objects,
    });
    process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
  }
  const t = performance.now();
  const compacted = await compact({ store, committer });
  const compactMs = performance.now() - t;
  const after = await restoreWindow(store, workDir);
  const status = await runMeasured(process.execPath, [BIN, 'status', '--store', store.rootDir, '--json'], STATUS_RUN);
  const result = { rows, compaction: { ...compacted, compactMs, ...after, statusMs: status.wallMs, statusCpuS: status.cpuSeconds, statusPeakMiB: (status.peakRssBytes ?? 0) / MiB } };
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify(result, null, 1)}\n`);
  process.stdout.write(`${report(result)}\n`);
} finally {
  await rm(workDir, { recursive: true, force: true });
}

function report(result: { rows: Record<string, unknown>[]; compaction: Record<string, unknown> }): string {
  const num = (value: unknown, digits = 0) => (typeof value === 'number' ? value.toFixed(digits) : String(value));
  const lines = [
    '| chunks | bytes / commit | objects / commit | commit ms (mean / median) | status wall s (CPU s) | status peak MiB | plan s | download s | objects fetched |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of result.rows) {
    lines.push(`| ${row.chunks} | ${num(row.commitBytes)} | ${num(row.commitObjects, 2)} | ${num(row.commitMs, 1)} / ${num(row.commitMsMedian, 1)} | ${num(Number(row.statusMs) / 1000, 2)} (${num(row.statusCpuS, 2)}) | ${num(row.statusPeakMiB)} | ${num(Number(row.restorePlanMs) / 1000, 2)} | ${num(Number(row.restoreDownloadMs) / 1000, 1)} | ${row.restoreObjects} |`);
  }
  const c = result.compaction;
  const last = result.rows.at(-1) ?? {};
  lines.push(`| ${last.chunks} compacted | | | | ${num(Number(c.statusMs) / 1000, 2)} (${num(c.statusCpuS, 2)}) | ${num(c.statusPeakMiB)} | ${num(Number(c.planMs) / 1000, 2)} | ${num(Number(c.downloadMs) / 1000, 1)} | ${c.objects} |`);
  lines.push('', `compaction: ${c.replaced} chunks into ${c.merged} objects in ${num(Number(c.compactMs) / 1000, 1)} s`);
  return lines.join('\n');
}
