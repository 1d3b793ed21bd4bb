// The cluster retention rules on hand-made manifests (test/e2e/cluster-ops.test.ts runs them
// through `prune` on a simulated cluster).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_FORMAT_VERSION, CLUSTER_MANIFEST_KIND, type ClusterBase, type ClusterManifest } from '../../../src/archive/cluster-manifest.ts';
import type { Chain } from '../../../src/archive/manifest.ts';
import { planRetention, protectChains } from '../../../src/archive/retention.ts';
import { planClusterRetention } from '../../../src/cluster/cluster-retention.ts';

function fakeChain(id: string, setName: string, startWall: string, endWall: string): Chain {
  const ts = { t: Math.floor(Date.parse(endWall) / 1000), i: 1 };
  const oplog = { key: `bases/${id}/oplog.bson.gz`, rawBytes: 1, storedBytes: 1, sha256: 'x', firstTs: ts, lastTs: ts, firstWall: endWall, lastWall: endWall, count: 1 };
  return { id, source: { setName, replicaSetId: null }, base: { id, startTs: ts, endTs: ts, startedAt: startWall, finishedAt: startWall, collections: [], oplog, commitPoint: 'lastWritten' }, chunks: [] };
}

const member = (name: string) => ({ role: name === 'config' ? ('config' as const) : ('shard' as const), name, setName: name, replicaSetId: null, prefix: `members/${name}/`, firstSeenAt: '2024-01-01T00:00:00.000Z' });
const clusterBase = (id: string, at: string, parts: Record<string, string>): ClusterBase => ({
  id,
  startedAt: at,
  finishedAt: at,
  members: Object.entries(parts).map(([name, baseId]) => ({ name, baseId, endTs: { t: Math.floor(Date.parse(at) / 1000), i: 1 } })),
  restorableFromTs: { t: Math.floor(Date.parse(at) / 1000), i: 1 },
});

// Day 1, 5 and 10 cluster bases; s1 restarted on its own on day 7 (an oplog gap), so cluster base
// cb5's window ends there while s1's chain of cb10 is its newest.
const chains = new Map<string, Chain[]>([
  ['config', [fakeChain('c1', 'config', '2024-01-01T00:00:00Z', '2024-01-05T00:00:00Z'), fakeChain('c5', 'config', '2024-01-05T00:00:00Z', '2024-01-10T00:00:00Z'), fakeChain('c10', 'config', '2024-01-10T00:00:00Z', '2024-01-20T00:00:00Z')]],
  ['s1', [fakeChain('a1', 's1', '2024-01-01T00:00:00Z', '2024-01-05T00:00:00Z'), fakeChain('a5', 's1', '2024-01-05T00:00:00Z', '2024-01-07T00:00:00Z'), fakeChain('a7', 's1', '2024-01-07T00:00:00Z', '2024-01-10T00:00:00Z'), fakeChain('a10', 's1', '2024-01-10T00:00:00Z', '2024-01-20T00:00:00Z')]],
]);
const manifest: ClusterManifest = {
  formatVersion: CLUSTER_FORMAT_VERSION,
  kind: CLUSTER_MANIFEST_KIND,
  members: [member('config'), member('s1')],
  bases: [clusterBase('cb1', '2024-01-01T00:00:00Z', { config: 'c1', s1: 'a1' }), clusterBase('cb5', '2024-01-05T00:00:00Z', { config: 'c5', s1: 'a5' }), clusterBase('cb10', '2024-01-10T00:00:00Z', { config: 'c10', s1: 'a10' })],
};

test('a cluster base is kept while its first member chain to end ends at or after the horizon; the newest always', () => {
  const plan = planClusterRetention(manifest, chains, Date.parse('2024-01-06T00:00:00Z'));
  assert.deepEqual(plan.remove.map((base) => base.id), ['cb1']);
  assert.deepEqual(plan.keep.map(({ base, reason }) => [base.id, reason]), [['cb5', 'in-retention'], ['cb10', 'newest']]);
  // s1's a5 ends on day 7: past that horizon cb5 restores nothing, though config's c5 runs to day 10.
  const later = planClusterRetention(manifest, chains, Date.parse('2024-01-08T00:00:00Z'));
  assert.deepEqual(later.remove.map((base) => base.id), ['cb1', 'cb5']);
  const all = planClusterRetention(manifest, chains, Date.parse('2030-01-01T00:00:00Z'));
  assert.deepEqual(all.keep.map(({ base }) => base.id), ['cb10']);
});

test('a member chain a kept cluster base names stays on its member even where the member\'s own rule would drop it', () => {
  const plan = planClusterRetention(manifest, chains, Date.parse('2024-01-06T00:00:00Z'));
  assert.deepEqual([...(plan.protect.get('s1') ?? [])], ['a5', 'a10']);
  const horizon = Date.parse('2024-01-09T00:00:00Z');
  // The member's own rule drops a5 (it ended on day 7, before that horizon) ...
  const own = planRetention({ formatVersion: 1, chains: chains.get('s1') ?? [] }, horizon);
  assert.ok(own.remove.some((chain) => chain.id === 'a5'));
  // ... a cluster base kept at an earlier horizon keeps it.
  const held = protectChains(own, plan.protect.get('s1') ?? new Set());
  assert.ok(!held.remove.some((chain) => chain.id === 'a5'));
  assert.deepEqual(held.keep.find(({ chain }) => chain.id === 'a5')?.reason, 'cluster-base');
});

test('the member bases a cluster base in progress already has are protected', () => {
  const pending = { ...manifest, bases: manifest.bases.slice(0, 2), pendingBase: { id: 'cb10', startedAt: '2024-01-10T00:00:00Z', members: ['config', 's1'] } };
  const plan = planClusterRetention(pending, chains, Date.parse('2030-01-01T00:00:00Z'));
  assert.deepEqual(plan.keep.map(({ base }) => base.id), ['cb5']);
  assert.ok(plan.protect.get('s1')?.has('a10'));
  assert.ok(plan.protect.get('config')?.has('c10'));
});
