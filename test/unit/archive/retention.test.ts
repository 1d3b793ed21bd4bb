// The retention rules on hand-made manifests: which chains a horizon keeps, and which listed
// objects are orphans (test/integration/prune.test.ts runs them against real stores).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addPendingCollection, recordPendingRun, type Chain, type Manifest } from '../../../src/archive/manifest.ts';
import { ConflictError } from '../../../src/errors.ts';
import { chainEndMs, findOrphans, planRetention, withoutChains, type ListedObject } from '../../../src/archive/retention.ts';

const HOUR_MS = 60 * 60 * 1000;

function fakeChain(id: string, setName: string, endWall: string): Chain {
  const ts = { t: Math.floor(Date.parse(endWall) / 1000), i: 1 };
  const oplog = { key: `bases/${id}/oplog.bson.gz`, rawBytes: 1, storedBytes: 1, sha256: 'x', firstTs: ts, lastTs: ts, firstWall: endWall, lastWall: endWall, count: 1 };
  return {
    id,
    source: { setName, replicaSetId: null },
    base: { id, startTs: ts, endTs: ts, startedAt: endWall, finishedAt: endWall, collections: [], oplog, commitPoint: 'lastWritten' },
    chunks: [],
  };
}

const info = (key: string, iso: string): ListedObject => ({ key, lastModified: new Date(iso) });

describe('retention rules', () => {
  test('per source: the newest chain stays; others stay while they end at or after the horizon', () => {
    const manifest: Manifest = {
      formatVersion: 1,
      chains: [
        fakeChain('a1', 'rsA', '2024-01-01T00:00:00.000Z'),
        fakeChain('b1', 'rsB', '2024-01-02T00:00:00.000Z'),
        fakeChain('a2', 'rsA', '2024-01-10T00:00:00.000Z'),
        fakeChain('a3', 'rsA', '2024-01-20T00:00:00.000Z'),
      ],
    };
    const plan = planRetention(manifest, Date.parse('2024-01-10T00:00:00.000Z'));
    assert.deepEqual(plan.remove.map((chain) => chain.id), ['a1']);
    assert.deepEqual(plan.keep.map(({ chain, reason }) => [chain.id, reason]), [['b1', 'newest'], ['a2', 'in-retention'], ['a3', 'newest']]);
    const later = planRetention(manifest, Date.parse('2024-01-10T00:00:00.001Z'));
    assert.deepEqual(later.remove.map((chain) => chain.id), ['a1', 'a2']);
  });

  test('orphans: referenced keys and pending bases are spoken for; a base folder ages by its newest object', () => {
    const chain = fakeChain('0000000000001-0000000000-aaaaaaaa', 'rs', '2024-01-01T00:00:00.000Z');
    const manifest: Manifest = {
      formatVersion: 1,
      chains: [chain],
      pendingBases: [{ id: 'pending', source: chain.source, startTs: { t: 1, i: 0 }, startedAt: '2024-01-01T00:00:00.000Z', collections: [] }],
    };
    const old = '2024-01-01T00:00:00.000Z';
    const listing = [
      info(chain.base.oplog.key, old),
      info('bases/pending/db/c.bson.gz', old),
      info('bases/crashed/db/a.bson.gz', old),
      info('bases/crashed/db/b.bson.gz', '2024-01-01T09:30:00.000Z'),
      info('bases/dead/db/a.bson.gz', old),
      info(`chunks/${chain.id}/0000000000002-0000000000-bbbbbbbb.bson.gz`, old),
      info(`chunks/${chain.id}/0000000000003-0000000000-cccccccc.bson.gz`, '2024-01-01T09:30:00.000Z'),
    ];
    const scan = findOrphans(listing, [manifest], Date.parse('2024-01-01T10:00:00.000Z'), HOUR_MS);
    assert.deepEqual(scan.orphans.map((object) => object.key), ['bases/dead/db/a.bson.gz', `chunks/${chain.id}/0000000000002-0000000000-bbbbbbbb.bson.gz`]);
    assert.deepEqual(scan.young.map((object) => object.key), [
      'bases/crashed/db/a.bson.gz',
      'bases/crashed/db/b.bson.gz',
      `chunks/${chain.id}/0000000000003-0000000000-cccccccc.bson.gz`,
    ]);
  });

  test('a chain ends at its newest op\'s wall clock, else at the end of that op\'s ts second', () => {
    const chain = fakeChain('a1', 'rsA', '2024-01-01T00:00:00.250Z');
    assert.equal(chainEndMs(chain), Date.parse('2024-01-01T00:00:00.250Z'));
    const noWall: Chain = { ...chain, base: { ...chain.base, oplog: { ...chain.base.oplog, lastWall: null } } };
    assert.equal(chainEndMs(noWall), Date.parse('2024-01-01T00:00:00.999Z'));
  });

  test('withoutChains drops the named chains and keeps everything else', () => {
    const manifest: Manifest = { formatVersion: 1, chains: [fakeChain('a1', 'rsA', '2024-01-01T00:00:00.000Z'), fakeChain('a2', 'rsA', '2024-01-02T00:00:00.000Z')] };
    assert.deepEqual(withoutChains(manifest, new Set(['a1'])), { formatVersion: 1, chains: [manifest.chains[1]] });
  });
  test('pieces a compaction replaced age from when the compaction was recorded, not from when they were written', () => {
    const chain = fakeChain('0000000000001-0000000000-aaaaaaaa', 'rs', '2024-01-01T00:00:00.000Z');
    const merged = {
      ...chain.base.oplog, key: `chunks/${chain.id}/0000000001000-0000000001-L2-bbbbbbbb.bson.gz`, firstTs: { t: 1000, i: 1 }, lastTs: { t: 4000, i: 1 },
      afterTs: { t: 999, i: 1 }, prevSha256: 'x', sealedAt: '2024-01-01T00:00:00.000Z', lagMs: 0, commitPoint: 'lastWritten' as const, stats: { byNs: {} },
      level: 2, pieces: 3, compactedAt: '2024-01-01T09:30:00.000Z', endSha256: 'y',
    };
    const manifest: Manifest = { formatVersion: 2, chains: [{ ...chain, chunks: [merged] }] };
    const old = '2024-01-01T00:00:00.000Z';
    const piece = `chunks/${chain.id}/0000000002000-0000000001-cccccccc.bson.gz`;
    const outside = `chunks/${chain.id}/0000000005000-0000000001-dddddddd.bson.gz`;
    const segment = `index/${chain.id}/seg-0000000000-eeeeeeee.json`;
    const listing = [info(piece, old), info(outside, old), info(segment, old)];
    const soon = findOrphans(listing, [manifest], Date.parse('2024-01-01T10:00:00.000Z'), HOUR_MS);
    assert.deepEqual(soon.orphans.map((object) => object.key), [outside]);
    assert.deepEqual(soon.young.map((object) => object.key), [piece, segment]);
    const later = findOrphans(listing, [manifest], Date.parse('2024-01-01T10:30:00.001Z'), HOUR_MS);
    assert.deepEqual(later.orphans.map((object) => object.key), [piece, outside, segment]);
  });

  test('a pending base is recorded with its run folder before any object, and prune spares every folder of it', () => {
    const source = { setName: 'rs', replicaSetId: null };
    const base = { id: '0000000000005-0000000000-aaaaaaaa', source, startTs: { t: 5, i: 0 }, startedAt: '2024-01-01T00:00:00.000Z' };
    // The first run records the base and its folder before writing; nothing is stored yet.
    let manifest = recordPendingRun({ formatVersion: 1, chains: [] }, base, base.id);
    assert.deepEqual(manifest.pendingBases?.[0]?.folders, [base.id]);
    assert.deepEqual(manifest.pendingBases?.[0]?.collections, []);
    // A resumed run writes under a folder of its own, recorded the same way, before its objects.
    const resumedFolder = '0000000000005-0000000000-bbbbbbbb';
    manifest = recordPendingRun(manifest, base, resumedFolder);
    manifest = recordPendingRun(manifest, base, resumedFolder);
    assert.deepEqual(manifest.pendingBases?.[0]?.folders, [base.id, resumedFolder]);
    const metadata = { key: `bases/${base.id}/db/a.metadata.json.gz`, rawBytes: 1, storedBytes: 1, sha256: 'x' };
    manifest = addPendingCollection(manifest, base, { db: 'db', coll: 'a', type: 'collection', docs: 0, data: null, metadata });
    assert.deepEqual(manifest.pendingBases?.[0]?.folders, [base.id, resumedFolder], 'a stored collection keeps the folders');

    // Hours later: a big collection's metadata is long complete in the resumed run's folder while
    // its data is still uploading (not listed yet). None of it is an orphan.
    const old = '2024-01-01T00:00:00.000Z';
    const listing = [info(`bases/${resumedFolder}/db/big.metadata.json.gz`, old), info(`bases/${base.id}/db/b.metadata.json.gz`, old)];
    const scan = findOrphans(listing, [manifest], Date.parse('2024-01-01T10:00:00.000Z'), HOUR_MS);
    assert.deepEqual(scan.orphans, []);

    // Another base for the same source is a conflict, before anything is written.
    assert.throws(() => recordPendingRun(manifest, { ...base, id: 'other' }, 'other'), ConflictError);
  });
});
