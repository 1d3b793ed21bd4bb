import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_FORMAT_VERSION, CLUSTER_MANIFEST_KIND, type ClusterManifest } from '../../../src/archive/cluster-manifest.ts';
import { clusterReferenceProblems } from '../../../src/cluster/cluster-references.ts';

const member = (name: string) => ({ role: name === 'config' ? ('config' as const) : ('shard' as const), name, setName: `rs-${name}`, replicaSetId: null, prefix: `members/${name}/`, firstSeenAt: '2026-01-01T00:00:00Z' });
const base = (id: string, parts: Record<string, string>) => ({
  id,
  startedAt: '2026-01-01T00:00:00Z',
  finishedAt: '2026-01-01T00:01:00Z',
  members: Object.entries(parts).map(([name, baseId]) => ({ name, baseId, endTs: { t: 10, i: 1 } })),
  restorableFromTs: { t: 10, i: 1 },
});
const manifest: ClusterManifest = {
  formatVersion: CLUSTER_FORMAT_VERSION,
  kind: CLUSTER_MANIFEST_KIND,
  members: [member('config'), member('s1')],
  bases: [base('cb1', { config: 'c1', s1: 'a1' }), base('cb2', { config: 'c2', s1: 'a2', gone: 'x' })],
};

test('every member base a cluster base names must be held by its member; an unlisted member is named too', () => {
  const problems = clusterReferenceProblems(manifest, new Map([['config', new Set(['c1', 'c2'])], ['s1', new Set(['a2'])]]));
  assert.deepEqual(problems.map((problem) => `${problem.clusterBaseId}/${problem.member}`), ['cb1/s1', 'cb2/gone']);
});

test('a member whose manifest could not be read is not judged by its references (its own failure is the report)', () => {
  assert.deepEqual(clusterReferenceProblems(manifest, new Map([['config', new Set(['c1', 'c2'])]])).map((problem) => problem.member), ['gone']);
});
