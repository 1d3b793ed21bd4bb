// cluster.json is written by compare-and-swap: two passes that read the same version cannot both
// write; the loser gets ConflictError and the winner's timeline stands.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { noteMembers } from '../../../src/archive/cluster-manifest.ts';
import { ClusterCommitter, isClusterStore, readClusterManifest } from '../../../src/cluster/cluster-committer.ts';
import { ConflictError } from '../../../src/errors.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';

const member = (name: string) => ({ role: 'shard' as const, name, setName: `rs-${name}`, replicaSetId: null });

test('two passes at once: the second commit on the same version is a conflict', async () => {
  const store = new FolderStore(await mkdtemp(join(tmpdir(), 'cluster-commit-')));
  await store.check();
  assert.equal(await isClusterStore(store), false);
  const a = await ClusterCommitter.open(store);
  const b = await ClusterCommitter.open(store);
  await a.commit((manifest) => noteMembers(manifest, [member('s1')], 'x').manifest);
  await assert.rejects(b.commit((manifest) => noteMembers(manifest, [member('s2')], 'x').manifest), ConflictError);
  assert.equal(await isClusterStore(store), true);
  const { manifest } = await readClusterManifest(store);
  assert.deepEqual(manifest.members.map((entry) => entry.name), ['s1']);
  // The winner keeps committing on its own version.
  await a.commit((current) => noteMembers(current, [member('s1'), member('s3')], 'y').manifest);
  assert.deepEqual((await readClusterManifest(store)).manifest.members.map((entry) => entry.name), ['s1', 's3']);
});
