// A cluster stream's metrics without servers: two members' series kept apart in one registry by
// their member and role labels (a chunk of one never moves the other's), and the cluster window's
// gauges from the newest window, labelled by its cluster base, absent (not 0) while there is none.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Chunk } from '../../../src/archive/manifest.ts';
import { BackupMetrics, MEMBER_LABELS } from '../../../src/metrics/backup-metrics.ts';
import { ClusterWindowMetrics } from '../../../src/metrics/cluster-window-metrics.ts';

async function values(metrics: BackupMetrics, name: string): Promise<{ labels: Record<string, unknown>; value: number }[]> {
  return ((await metrics.registry.getSingleMetric(name)?.get())?.values ?? []).map(({ labels, value }) => ({ labels, value }));
}

const chunk = (count: number): Chunk => ({ count, storedBytes: 10 * count, lastTs: { t: 200, i: 1 }, afterTs: { t: 100, i: 1 }, commitPointTs: { t: 201, i: 0 }, lagMs: 500, prevSha256: 'x', sha256: 'y' }) as unknown as Chunk;

test('members\' series apart: labelled by set name, member and role; each starts at zero', async () => {
  const metrics = new BackupMetrics({ labelNames: MEMBER_LABELS });
  const shard = metrics.sourceMetrics({ set_name: 'rs-a', member: 'shard01', role: 'shard' });
  metrics.sourceMetrics({ set_name: 'cfgRS', member: 'config', role: 'config' });
  shard.observeChunk(chunk(7));
  assert.deepEqual(await values(metrics, 'mongo_pitr_oplog_entries_archived_total'), [
    { labels: { set_name: 'rs-a', member: 'shard01', role: 'shard' }, value: 7 },
    { labels: { set_name: 'cfgRS', member: 'config', role: 'config' }, value: 0 },
  ]);
  assert.deepEqual(await values(metrics, 'mongo_pitr_restorable_window_end_timestamp_seconds'), [{ labels: { set_name: 'rs-a', member: 'shard01', role: 'shard' }, value: 201 }]);
});

test('the cluster window: the newest window\'s start and end in seconds; absent while there is none', async () => {
  const metrics = new BackupMetrics({ labelNames: MEMBER_LABELS });
  const window = new ClusterWindowMetrics(metrics.registry);
  window.observeWindows([]);
  assert.doesNotMatch(await metrics.registry.metrics(), /^mongo_pitr_cluster_window_(start|end)_timestamp_seconds/m);
  window.observeWindows([{ baseId: 'b1', from: { t: 10, i: 1 }, to: { t: 20, i: 3 } }]);
  window.observeWindows([{ baseId: 'b1', from: { t: 10, i: 1 }, to: { t: 20, i: 3 } }, { baseId: 'b2', from: { t: 30, i: 2 }, to: { t: 45, i: 9 } }]);
  assert.deepEqual(await values(metrics, 'mongo_pitr_cluster_window_start_timestamp_seconds'), [{ labels: { cluster_base: 'b2' }, value: 30 }], 'the newest window only');
  assert.deepEqual(await values(metrics, 'mongo_pitr_cluster_window_end_timestamp_seconds'), [{ labels: { cluster_base: 'b2' }, value: 45 }]);
  window.observeWindows([]);
  assert.deepEqual(await values(metrics, 'mongo_pitr_cluster_window_end_timestamp_seconds'), [], 'gone with the window');
});
