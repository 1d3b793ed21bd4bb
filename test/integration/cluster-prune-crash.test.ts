// Crash consistency of `prune` on a cluster store (cluster/cluster-prune.ts), on a folder store
// holding a cluster store built from synthetic member chains (test/support/synthetic-chain.ts):
// three cluster bases over two members, all ended long before the horizon. A write failing at
// each step stands for a crash there (the store wrapper is fault injection, the store is real):
//   - cluster.json's commit fails: no member chain was touched;
//   - a member's manifest commit fails after cluster.json's: cluster.json names only member bases
//     that still exist (the reference went first), and the next prune finishes the members.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLUSTER_FORMAT_VERSION, CLUSTER_MANIFEST_KIND, serializeClusterManifest, type ClusterManifest } from '../../src/archive/cluster-manifest.ts';
import type { Chain } from '../../src/archive/manifest.ts';
import { ManifestCommitter, readHead } from '../../src/backup/commit.ts';
import { readClusterManifest } from '../../src/cluster/cluster-committer.ts';
import { pruneCluster } from '../../src/cluster/cluster-prune.ts';
import { clusterReferenceProblems } from '../../src/cluster/cluster-references.ts';
import { memberStore } from '../../src/cluster/member-store.ts';
import { StoreError } from '../../src/errors.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/store.ts';
import { syntheticBase, withPutIfMatch } from '../support/synthetic-chain.ts';

const MEMBERS = ['config', 's1'];
const DAY_MS = 24 * 60 * 60 * 1000;

async function clusterStore(): Promise<{ store: Store; bases: Map<string, Chain[]> }> {
  const store = await openStore(await mkdtemp(join(tmpdir(), 'mongo-pitr-cluster-prune-')));
  const bases = new Map<string, Chain[]>();
  for (const name of MEMBERS) {
    const member = memberStore(store, `members/${name}/`);
    const committer = await ManifestCommitter.open(member);
    const chains: Chain[] = [];
    for (let n = 0; n < 3; n++) chains.push(await syntheticBase(member, committer));
    bases.set(name, chains);
  }
  const manifest: ClusterManifest = {
    formatVersion: CLUSTER_FORMAT_VERSION,
    kind: CLUSTER_MANIFEST_KIND,
    members: MEMBERS.map((name) => ({ role: name === 'config' ? 'config' : 'shard', name, setName: 'synthetic', replicaSetId: null, prefix: `members/${name}/`, firstSeenAt: new Date(0).toISOString() })),
    bases: [0, 1, 2].map((n) => ({
      id: `cb${n}`,
      startedAt: new Date(n).toISOString(),
      finishedAt: new Date(n).toISOString(),
      members: MEMBERS.map((name) => {
        const chain = bases.get(name)?.[n];
        assert.ok(chain);
        return { name, baseId: chain.id, endTs: chain.base.endTs };
      }),
      restorableFromTs: { t: 1, i: 1 },
    })),
  };
  await store.putIfMatch('cluster.json', serializeClusterManifest(manifest), null);
  return { store, bases };
}

/** The store with the commit of `key` failing, as a crash right there would leave it. */
function failingCommit(store: Store, key: string): Store {
  return withPutIfMatch(store, (written, body, etag) => {
    if (written === key) return Promise.reject(new StoreError('io', `injected: ${key} not written`));
    return store.putIfMatch(written, body, etag);
  });
}

async function memberChainIds(store: Store): Promise<Map<string, Set<string>>> {
  const entries = await Promise.all(MEMBERS.map(async (name) => [name, new Set((await readHead(memberStore(store, `members/${name}/`))).manifest.chains.map((chain) => chain.id))] as const));
  return new Map(entries);
}

test('cluster.json\'s commit failing leaves every member chain in place', async () => {
  const { store } = await clusterStore();
  try {
    const before = await memberChainIds(store);
    await assert.rejects(pruneCluster({ store: failingCommit(store, 'cluster.json'), keepMs: DAY_MS }), StoreError);
    assert.deepEqual(await memberChainIds(store), before);
    assert.equal((await readClusterManifest(store)).manifest.bases.length, 3);
  } finally {
    await store.close();
  }
});

test('a member\'s commit failing after cluster.json\'s leaves cluster.json naming only member bases that exist; the next prune finishes', async () => {
  const { store, bases } = await clusterStore();
  try {
    await assert.rejects(pruneCluster({ store: failingCommit(store, 'members/s1/manifest.json'), keepMs: DAY_MS }), StoreError);
    const { manifest } = await readClusterManifest(store);
    assert.deepEqual(manifest.bases.map((base) => base.id), ['cb2'], 'the older cluster bases went first');
    assert.deepEqual(clusterReferenceProblems(manifest, await memberChainIds(store)), [], 'every member base cluster.json names exists');
    assert.equal((await memberChainIds(store)).get('s1')?.size, 3, 's1 was not pruned yet');

    const result = await pruneCluster({ store, keepMs: DAY_MS });
    assert.deepEqual(result.removedClusterBases, [], 'nothing left to drop from cluster.json');
    const ids = await memberChainIds(store);
    for (const name of MEMBERS) assert.deepEqual([...(ids.get(name) ?? [])], [bases.get(name)?.[2]?.id], `${name} keeps the newest cluster base's chain only`);
  } finally {
    await store.close();
  }
});
