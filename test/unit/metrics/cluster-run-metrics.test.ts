// A cluster run's metrics hooks without servers (cli/cluster-run-metrics.ts): a member's series
// exist once it is ready, its chunks and base objects are counted under its own labels while
// its progress bar still gets every hook it got before (the metrics wrap the bar, they never
// replace it), and the endpoint serves them. The store is an empty folder store: a member
// without a chain is primed unhealthy, and the cluster window is absent.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Chunk, CollectionEntry } from '../../../src/archive/manifest.ts';
import { startClusterMetrics } from '../../../src/cli/cluster-metrics.ts';
import { clusterRunMetrics } from '../../../src/cli/cluster-run-metrics.ts';
import type { Context } from '../../../src/cli/context.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';

const chunk = { count: 7, storedBytes: 70 } as unknown as Chunk;
const collection = { db: 'app', coll: 'orders', type: 'collection', docs: 3, data: { storedBytes: 30 }, metadata: { storedBytes: 4 } } as unknown as CollectionEntry;

test('a cluster run: each member counted under its own labels, its bar still fed', async () => {
  let url = '';
  const warnings: string[] = [];
  const log = { event: (_type: string, _message: string, fields?: { url?: string }) => (url = fields?.url ?? url), status: () => {}, warn: (message: string) => warnings.push(message) };
  const context = { log } as unknown as Context;
  const store = new FolderStore(await mkdtemp(join(tmpdir(), 'mongo-pitr-cluster-run-metrics-')));
  const metrics = await startClusterMetrics(context, '127.0.0.1:0');
  assert.ok(metrics);
  try {
    const fed = clusterRunMetrics(context, metrics, store);
    await fed.onMemberReady({ name: 'shard01', role: 'shard', identity: { setName: 'rs-a', replicaSetId: null } }, store);
    await fed.onMemberReady({ name: 'config', role: 'config', identity: { setName: 'cfgRS', replicaSetId: null } }, store);
    const bar: string[] = [];
    const hooks = fed.progress('shard01', { onChunk: () => bar.push('chunk'), onCollection: (entry) => bar.push(`collection ${entry.coll}`), onStage: (stage) => bar.push(`stage ${stage}`) });
    hooks.onStage?.('oplog', 'reading');
    hooks.onChunk?.(chunk);
    hooks.onChunk?.(chunk);
    hooks.onCollection?.(collection);
    assert.deepEqual(bar, ['stage oplog', 'chunk', 'chunk', 'collection orders'], 'the bar gets every hook');
    await fed.settle();

    const text = await (await fetch(url)).text();
    const shard = 'set_name="rs-a",member="shard01",role="shard"';
    const config = 'set_name="cfgRS",member="config",role="config"';
    const valueOf = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(valueOf('mongo_pitr_chunks_written_total', shard), 2);
    assert.equal(valueOf('mongo_pitr_oplog_entries_archived_total', shard), 14);
    assert.equal(valueOf('mongo_pitr_bytes_written_total', shard), 2 * 70 + 30 + 4);
    assert.equal(valueOf('mongo_pitr_chunks_written_total', config), 0, 'one member\'s chunks never move another\'s');
    assert.equal(valueOf('mongo_pitr_chain_healthy', config), 0, 'no chain yet: not healthy');
    assert.doesNotMatch(text, /^mongo_pitr_cluster_window_start_timestamp_seconds\{/m, 'no cluster window yet');
    assert.deepEqual(warnings, []);
  } finally {
    await metrics.close();
  }
});
