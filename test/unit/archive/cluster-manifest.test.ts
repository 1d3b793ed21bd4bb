// cluster.json as pure data: members noticed and marked removed, cluster bases restorable from
// their largest member T1, a newer format refused.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  emptyClusterManifest,
  memberPrefix,
  membersWithoutClusterBase,
  noteMembers,
  parseClusterManifest,
  recordClusterBase,
  serializeClusterManifest,
  startClusterBase,
} from '../../../src/archive/cluster-manifest.ts';
import { clusterBaseReason } from '../../../src/cluster/cluster-run.ts';

const seen = (names: string[]) => [
  { role: 'config' as const, name: 'config', setName: 'cfgRS', replicaSetId: null },
  ...names.map((name) => ({ role: 'shard' as const, name, setName: `rs-${name}`, replicaSetId: null })),
];

describe('cluster manifest', () => {
  test('a new shard is added with its own prefix; a shard no longer seen is marked removed, not dropped', () => {
    const first = noteMembers(emptyClusterManifest(), seen(['s1', 's2']), '2026-12-01T10:00:00.000Z');
    assert.deepEqual(first.added, ['config', 's1', 's2']);
    assert.equal(first.manifest.members.find((member) => member.name === 's2')?.prefix, 'members/s2/');
    const second = noteMembers(first.manifest, seen(['s1', 's3']), '2026-12-01T11:00:00.000Z');
    assert.deepEqual(second.added, ['s3']);
    assert.deepEqual(second.removed, ['s2']);
    const s2 = second.manifest.members.find((member) => member.name === 's2');
    assert.equal(s2?.removedAt, '2026-12-01T11:00:00.000Z');
    // Seen again: active again, the same prefix (its archive continues).
    const third = noteMembers(second.manifest, seen(['s1', 's2', 's3']), '2026-12-01T12:00:00.000Z');
    assert.deepEqual(third.added, ['s2']);
    assert.equal(third.manifest.members.find((member) => member.name === 's2')?.removedAt, undefined);
  });

  test('a member name that cannot be a path segment is escaped in its prefix', () => {
    assert.equal(memberPrefix('a/b'), 'members/a%2fb/');
  });

  test('a cluster base restores from the largest member T1 and clears the pending base', () => {
    const members = noteMembers(emptyClusterManifest(), seen(['s1']), 'x').manifest;
    const pending = startClusterBase(members, { id: 'cb1', startedAt: 'x', members: ['config', 's1'] });
    assert.equal(pending.pendingBase?.id, 'cb1');
    const done = recordClusterBase(pending, {
      id: 'cb1',
      startedAt: 'x',
      finishedAt: 'y',
      members: [
        { name: 'config', baseId: 'b-c', endTs: { t: 100, i: 9 } },
        { name: 's1', baseId: 'b-1', endTs: { t: 101, i: 2 } },
      ],
    });
    assert.deepEqual(done.bases[0]?.restorableFromTs, { t: 101, i: 2 });
    assert.equal(done.pendingBase, undefined);
    const round = parseClusterManifest(serializeClusterManifest(done));
    assert.deepEqual(round, done);
  });

  test('a shard without a base in the newest cluster base makes a new cluster base due', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    let manifest = noteMembers(emptyClusterManifest(), seen(['s1']), 'x').manifest;
    assert.equal(clusterBaseReason(manifest, false, undefined, now), 'no-base');
    manifest = recordClusterBase(manifest, { id: 'cb1', startedAt: 'x', finishedAt: '2026-12-01T11:00:00Z', members: [{ name: 'config', baseId: 'a', endTs: { t: 1, i: 1 } }, { name: 's1', baseId: 'b', endTs: { t: 1, i: 2 } }] });
    assert.equal(clusterBaseReason(manifest, false, undefined, now), undefined);
    assert.equal(clusterBaseReason(manifest, true, undefined, now), 'member-restarted');
    assert.equal(clusterBaseReason(manifest, false, 30 * 60_000, now), 'base-age');
    manifest = noteMembers(manifest, seen(['s1', 's2']), 'y').manifest;
    assert.deepEqual(membersWithoutClusterBase(manifest), ['s2']);
    assert.equal(clusterBaseReason(manifest, false, undefined, now), 'new-member');
    // A removed shard that was never in a cluster base does not hold the cluster back.
    manifest = noteMembers(manifest, seen(['s1']), 'z').manifest;
    assert.equal(clusterBaseReason(manifest, false, undefined, now), undefined);
    // One that was ends its chain: the remaining members start a new cluster base.
    const gone = noteMembers(manifest, seen([]), 'w').manifest;
    assert.equal(clusterBaseReason(gone, false, undefined, now), 'member-removed');
    assert.equal(clusterBaseReason(startClusterBase(manifest, { id: 'cb2', startedAt: 'z', members: [] }), false, undefined, now), 'resume');
  });

  test('a newer format is refused with the upgrade hint; a member manifest is not a cluster manifest', () => {
    assert.throws(() => parseClusterManifest(JSON.stringify({ ...emptyClusterManifest(), formatVersion: 99 })), /format 99/);
    assert.throws(() => parseClusterManifest(JSON.stringify({ formatVersion: 2, chains: [] })), /not a mongo-pitr cluster manifest/);
  });
});
