// The metrics are primed from the manifest's head, not from every index segment: `stream` and
// `run` (cli/metrics.ts attach, and run's read after the pass) and a cluster's members
// (cli/cluster-metrics.ts member) read manifest.json alone, so what priming costs does not grow
// with the chain's age, and the values are those the whole manifest gives. Two folder stores with
// one chain each, one of 3 sealed segments and one of 30 (SEGMENT_CHUNKS records each, committed
// through ManifestCommitter, which seals them as a stream's commits do; the records are written
// as archive-oplog.ts makes them, their objects left out: the metrics never read a chunk), each
// with an unsealed tail. Every store GET is counted through an instrumented store.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { headLinksUp } from '../../../src/archive/chain-window.ts';
import { SEGMENT_CHUNKS } from '../../../src/archive/index-segment.ts';
import { addChunk, chainEnd, linkOf, type Chain, type Chunk, type Manifest } from '../../../src/archive/manifest.ts';
import { chunkKey } from '../../../src/archive/object-keys.ts';
import { ManifestCommitter, readHead, readManifest } from '../../../src/backup/commit.ts';
import { startClusterMetrics } from '../../../src/cli/cluster-metrics.ts';
import type { Context } from '../../../src/cli/context.ts';
import { startMetrics } from '../../../src/cli/metrics.ts';
import { BackupMetrics } from '../../../src/metrics/backup-metrics.ts';
import type { Source } from '../../../src/source/connect-source.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { START_T, syntheticBase } from '../../support/synthetic-chain.ts';

const SOURCE = { setName: 'synthetic', replicaSetId: null };
const TAIL = 5;

/** Chunk n's record, as archive-oplog.ts makes one (two inserts in second START_T + n). */
function record(chain: Chain, n: number, lagMs: number): Chunk {
  const previous = chainEnd(chain);
  const first = { t: START_T + n, i: 1 };
  const last = { t: START_T + n, i: 2 };
  const wall = (i: number) => new Date((START_T + n) * 1000 + i).toISOString();
  return {
    key: chunkKey(chain.id, first, 'run0000000'), rawBytes: 200, storedBytes: 100, sha256: createHash('sha256').update(`chunk ${n}`).digest('hex'),
    firstTs: first, lastTs: last, firstWall: wall(1), lastWall: wall(2), count: 2,
    afterTs: previous.lastTs, prevSha256: linkOf(previous), sealedAt: new Date().toISOString(), lagMs, commitPoint: 'majority',
    // A pass that reads up to the majority point seals its last chunk there (past its last op).
    commitPointTs: { t: START_T + n, i: 7 }, commitPointWall: wall(7), stats: { byNs: { 'synthetic.items': { i: 2 } } },
  };
}

/** A store holding one chain of `segments` sealed segments and an unsealed tail of TAIL records. */
async function storeWith(segments: number): Promise<FolderStore> {
  const store = new FolderStore(await mkdtemp(join(tmpdir(), 'mongo-pitr-metrics-head-')));
  const committer = await ManifestCommitter.open(store);
  await syntheticBase(store, committer);
  const total = segments * SEGMENT_CHUNKS + TAIL;
  for (let n = 1; n <= total; ) {
    // A segment's worth a commit, then the tail in one commit: sealed as a stream's commits seal.
    const upTo = Math.min(total, n + SEGMENT_CHUNKS - 1);
    await committer.commit((head) => {
      let next = head;
      for (let k = n; k <= upTo; k++) {
        const chain = next.chains[0];
        assert.ok(chain);
        next = addChunk(next, chain.id, record(chain, k, k === total ? 2500 : 1000));
      }
      return next;
    });
    n = upTo + 1;
  }
  const head = (await readHead(store)).manifest.chains[0];
  assert.equal(head?.history?.segment?.seq, segments - 1, `${segments} sealed segments`);
  assert.equal(head?.chunks.length, TAIL, 'an unsealed tail');
  return store;
}

/** The store, its GETs counted (manifest.json and index segments alike). */
function countingGets(store: Store): { store: Store; gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    store: {
      url: store.url,
      put: (key, body, options) => store.put(key, body, options),
      get: (key, options) => {
        gets.push(key);
        return store.get(key, options);
      },
      stat: (key) => store.stat(key),
      list: (prefix) => store.list(prefix),
      delete: (key) => store.delete(key),
      putIfMatch: (key, body, etag) => store.putIfMatch(key, body, etag),
      check: () => store.check(),
      close: () => store.close(),
    },
  };
}

/** A context whose log keeps the metrics server's address. */
function quietContext(): { context: Context; url: () => string } {
  let url = '';
  const log = { event: (_type: string, _message: string, fields?: { url?: string }) => (url = fields?.url ?? url), status: () => {}, warn: () => {} };
  return { context: { log } as unknown as Context, url: () => url };
}

const SERIES = [
  'mongo_pitr_restorable_window_start_timestamp_seconds',
  'mongo_pitr_restorable_window_end_timestamp_seconds',
  'mongo_pitr_newest_archived_op_timestamp_seconds',
  'mongo_pitr_lag_seconds',
  'mongo_pitr_chain_healthy',
  'mongo_pitr_chain_verified_timestamp_seconds',
];

async function valuesOf(metrics: BackupMetrics): Promise<Record<string, number | undefined>> {
  const out: Record<string, number | undefined> = {};
  for (const name of SERIES) out[name] = (await metrics.registry.getSingleMetric(name)?.get())?.values.find((sample) => sample.labels.set_name === SOURCE.setName)?.value;
  return out;
}

/** The per-source series of a scrape (a cluster member's), by name. */
async function scraped(url: string): Promise<Record<string, number | undefined>> {
  const text = await (await fetch(url)).text();
  const out: Record<string, number | undefined> = {};
  for (const name of SERIES) {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes('member="shard01"'));
    out[name] = line === undefined ? undefined : Number(line.split(' ').at(-1));
  }
  return out;
}

/** What the whole manifest (every segment read) gives: the values the head must give too. */
async function fromWholeManifest(store: Store): Promise<Record<string, number | undefined>> {
  const whole = new BackupMetrics();
  whole.forSource(SOURCE);
  const { manifest } = await readManifest(store);
  whole.observeManifest(manifest, SOURCE);
  return valuesOf(whole);
}

test('stream/run metrics are primed from the head alone: one GET however many sealed segments, the values of the whole manifest', async () => {
  const gets: number[] = [];
  for (const segments of [3, 30]) {
    const store = await storeWith(segments);
    const expected = await fromWholeManifest(store);
    const last = START_T + segments * SEGMENT_CHUNKS + TAIL;
    // The whole chain's end: the last tail record's, sealed at its commit point, healthy.
    assert.deepEqual(expected, {
      mongo_pitr_restorable_window_start_timestamp_seconds: START_T,
      mongo_pitr_restorable_window_end_timestamp_seconds: last,
      mongo_pitr_newest_archived_op_timestamp_seconds: last,
      mongo_pitr_lag_seconds: 2.5,
      mongo_pitr_chain_healthy: 1,
      mongo_pitr_chain_verified_timestamp_seconds: 0,
    });
    const counted = countingGets(store);
    const { context } = quietContext();
    const metrics = await startMetrics(context, { metricsAddr: '127.0.0.1:0' });
    assert.ok(metrics);
    try {
      await metrics.attach({ identity: SOURCE } as unknown as Source, counted.store);
      assert.deepEqual(await valuesOf(metrics.metrics), expected, 'the values the whole manifest gives');
    } finally {
      await metrics.close();
    }
    assert.deepEqual(counted.gets, ['manifest.json'], 'only the head is read');
    gets.push(counted.gets.length);
  }
  assert.equal(gets[0], gets[1], 'the same reads at 30 segments as at 3');
});

test('a cluster member\'s series are primed from its head alone, with the whole manifest\'s values', async () => {
  const store = await storeWith(30);
  const expected = await fromWholeManifest(store);
  const counted = countingGets(store);
  const { context, url } = quietContext();
  const metrics = await startClusterMetrics(context, '127.0.0.1:0');
  assert.ok(metrics);
  try {
    await metrics.member({ name: 'shard01', role: 'shard', identity: SOURCE }, counted.store);
    assert.deepEqual(counted.gets, ['manifest.json'], 'only the head is read');
    assert.deepEqual(await scraped(url()), expected);
  } finally {
    await metrics.close();
  }
});

test('from a head, a chain is unhealthy when its unsealed records do not link onto the last sealed one', async () => {
  const store = await storeWith(1);
  const { manifest } = await readHead(store);
  const chain = manifest.chains[0];
  assert.ok(chain?.history && chain.chunks[0]);
  assert.equal(headLinksUp(chain), true);
  // The first unsealed record names a predecessor other than the last sealed record.
  const broken: Manifest = { ...manifest, chains: [{ ...chain, chunks: [{ ...chain.chunks[0], prevSha256: '0'.repeat(64) }, ...chain.chunks.slice(1)] }] };
  const metrics = new BackupMetrics();
  metrics.forSource(SOURCE);
  metrics.observeManifest(broken, SOURCE);
  assert.equal((await valuesOf(metrics)).mongo_pitr_chain_healthy, 0);
  metrics.observeManifest(manifest, SOURCE);
  assert.equal((await valuesOf(metrics)).mongo_pitr_chain_healthy, 1);
  // Damage a read-back recorded in the head.
  metrics.observeManifest({ ...manifest, chains: [{ ...chain, damage: { key: 'k', reason: 'sha256 differs', detectedAt: new Date().toISOString() } }] }, SOURCE);
  assert.equal((await valuesOf(metrics)).mongo_pitr_chain_healthy, 0);
});
