// The restorable window and the planner on hand-made manifests whose oplog bounds have the
// shapes a real mongod writes: ts (seconds, ordinal) from the server's LogicalClock and `wall`
// as a millisecond Date (src/mongo/db/repl/oplog_entry.idl: `ts`, `wall`), several ops per second.
// The window ends at the commit point the newest chunk was sealed at; every cutoff up to it is
// restorable, and no millisecond cutoff is accepted that the archive cannot decide.
import assert from 'node:assert/strict';
// Error texts give local times: pin the zone so they read the same on every machine.
process.env.TZ = 'UTC';
import { describe, test } from 'node:test';
import { planRestore, sealOf, verifyContinuity, windowOf } from '../../../src/archive/chain-window.ts';
import type { Chain, Chunk, Manifest, OplogObject, SourceIdentity } from '../../../src/archive/manifest.ts';
import { chainBeforeHole } from '../../../src/backup/close-hole.ts';
import { IntegrityError, UsageError } from '../../../src/errors.ts';
import { parseCutoff, type Ts } from '../../../src/timestamp.ts';

const T = 1_764_000_000; // a second; ops below are at T+n
const wallOf = (second: number, ms: number): string => new Date((T + second) * 1000 + ms).toISOString();

function oplogObject(key: string, first: [number, number, number], last: [number, number, number]): OplogObject {
  return {
    key, rawBytes: 1, storedBytes: 1, sha256: key,
    firstTs: { t: T + first[0], i: first[1] }, lastTs: { t: T + last[0], i: last[1] },
    firstWall: wallOf(first[0], first[2]), lastWall: wallOf(last[0], last[2]), count: 2,
  };
}

function chain(id: string, base: OplogObject, chunks: Chunk[] = [], source: SourceIdentity = { setName: 'rs0', replicaSetId: 'aaa' }): Chain {
  return {
    id, source, chunks,
    base: { id, startTs: base.firstTs, endTs: base.lastTs, startedAt: '', finishedAt: '', collections: [], oplog: base, commitPoint: 'majority' },
  };
}

function chunkAfter(previous: OplogObject, object: OplogObject, seal?: { ts: Ts; wall: string | null }): Chunk {
  return {
    ...object, afterTs: previous.lastTs, prevSha256: previous.sha256, sealedAt: '', lagMs: null, commitPoint: 'majority', stats: { byNs: {} },
    ...(seal && { commitPointTs: seal.ts, commitPointWall: seal.wall }),
  };
}

const manifestOf = (...chains: Chain[]): Manifest => ({ formatVersion: 1, chains });
const accepts = (manifest: Manifest, until: string): boolean => {
  try {
    planRestore(manifest, parseCutoff(until));
    return true;
  } catch (error) {
    if (error instanceof UsageError) return false;
    throw error;
  }
};

// Base: T+0:1 .. T+2:3 (T1). One chunk: T+3:1 (wall .100) .. T+5:4 (wall .400), without a
// recorded commit point, as manifests before the field were written.
const base = oplogObject('base', [0, 1, 0], [2, 3, 300]);
const chunk = chunkAfter(base, oplogObject('c1', [3, 1, 100], [5, 4, 400]));
const legacy = manifestOf(chain('A', base, [chunk]));

describe('the restorable window ends where the chain was sealed', () => {
  test('a ts cutoff just past the newest archived op restores to exactly that op', () => {
    assert.equal(accepts(legacy, `${T + 5}:5`), true, 'secs:ord+1 of the newest op');
    assert.equal(accepts(legacy, `${T + 5}:4`), true);
    assert.equal(accepts(legacy, `${T + 5}:6`), false, 'op :5 of that second may exist unarchived');
    assert.equal(accepts(legacy, `${T + 6}:0`), false);
    assert.equal(accepts(legacy, `${T + 5}`), true, 'a whole second up to the seal');
  });

  test('a millisecond cutoff in the newest archived second: only up to the seal\'s wall', () => {
    assert.equal(accepts(legacy, wallOf(5, 400)), true, 'the seal op itself is not applied; later ones are stamped later');
    assert.equal(accepts(legacy, wallOf(5, 399)), true);
    assert.equal(accepts(legacy, wallOf(5, 401)), false, 'later ops of that second may not be archived');
    assert.equal(accepts(legacy, wallOf(5, 999)), false);
    assert.equal(accepts(legacy, wallOf(4, 999)), true, 'an earlier second is archived whole');
    assert.equal(accepts(legacy, wallOf(6, 1)), false);
  });

  test('the window starts after the base\'s T1 op', () => {
    assert.equal(accepts(legacy, `${T + 2}:3`), false, 'T1 itself not applied: before the base is consistent');
    assert.equal(accepts(legacy, `${T + 2}:4`), true);
    assert.equal(accepts(legacy, wallOf(2, 300)), false);
    assert.equal(accepts(legacy, wallOf(2, 301)), true);
  });

  test('a recorded commit point past the last op extends the window to it, wall included', () => {
    const sealed = chunkAfter(base, oplogObject('c1', [3, 1, 100], [5, 4, 400]), { ts: { t: T + 7, i: 2 }, wall: wallOf(7, 250) });
    const manifest = manifestOf(chain('A', base, [sealed]));
    assert.deepEqual(sealOf(manifest.chains[0] as Chain), { ts: { t: T + 7, i: 2 }, wall: wallOf(7, 250) });
    assert.deepEqual(windowOf(manifest.chains[0] as Chain).to, { t: T + 7, i: 2 });
    assert.equal(accepts(manifest, `${T + 7}:3`), true);
    assert.equal(accepts(manifest, `${T + 7}:4`), false);
    assert.equal(accepts(manifest, wallOf(6, 999)), true);
    assert.equal(accepts(manifest, wallOf(7, 250)), true);
    assert.equal(accepts(manifest, wallOf(7, 251)), false);
  });

  test('a recorded commit point without a wall decides no millisecond cutoff in its second', () => {
    const sealed = chunkAfter(base, oplogObject('c1', [3, 1, 100], [5, 4, 400]), { ts: { t: T + 7, i: 2 }, wall: null });
    const manifest = manifestOf(chain('A', base, [sealed]));
    assert.equal(accepts(manifest, `${T + 7}:3`), true);
    assert.equal(accepts(manifest, wallOf(7, 1)), false);
  });

  test('a chain with no chunks is sealed at T1 and restores to exactly T1', () => {
    const manifest = manifestOf(chain('A', base));
    assert.equal(accepts(manifest, `${T + 2}:4`), true);
    assert.equal(accepts(manifest, `${T + 2}:5`), false);
  });

  test('a cutoff past the window: refused with the window as times first, positions in brackets, and a --until that restores to its end', () => {
    assert.throws(() => planRestore(legacy, parseCutoff(`${T + 9}:0`)), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, `--until ${T + 9}:0 is outside the restorable window: from 2025-11-24 16:00:02 UTC [${T + 2}:3] to 2025-11-24 16:00:05 UTC [${T + 5}:4]`);
      assert.equal(
        error.hint,
        `pick a time after a window's start and up to its end, as an ISO time or a position seconds:ordinal (up to the end's plus one ordinal); --until ${T + 5}:5 restores to the newest end (2025-11-24T16:00:05.400Z)`,
      );
      return true;
    });
    // The suggested cutoff is accepted.
    assert.equal(accepts(legacy, `${T + 5}:5`), true);
  });

  test('the planner reads the chunks the cutoff reaches into, and only those', () => {
    const c2 = chunkAfter(chunk, oplogObject('c2', [6, 1, 0], [8, 1, 0]));
    const manifest = manifestOf(chain('A', base, [chunk, c2]));
    assert.deepEqual(planRestore(manifest, parseCutoff(`${T + 5}:5`)).chunks.map((c) => c.key), ['c1']);
    assert.deepEqual(planRestore(manifest, parseCutoff(`${T + 8}:2`)).chunks.map((c) => c.key), ['c1', 'c2']);
  });
});

describe('verify: a chunk that does not continue the object before it', () => {
  test('is named with both ends as times and, since they may share a second, their positions', () => {
    const broken = { ...chunk, afterTs: { t: T + 2, i: 2 } };
    assert.throws(() => verifyContinuity(chain('A', base, [broken])), (error: unknown) => {
      assert.ok(error instanceof IntegrityError);
      assert.equal(error.message, `chain A is broken before c1: it follows 2025-11-24 16:00:02 UTC [${T + 2}:2], the previous object ends at 2025-11-24 16:00:02 UTC [${T + 2}:3]`);
      return true;
    });
  });
});

describe('which chain: one source per restore', () => {
  // Two shards' replica sets archive into one store, and rs0 was once restored into a new set
  // with the same name (a new settings.replicaSetId, src/mongo/db/repl/repl_set_config.idl).
  const shard0 = { setName: 'shard0', replicaSetId: '65f0aaaaaaaaaaaaaaaaaaaa' };
  const shard1 = { setName: 'shard1', replicaSetId: '65f0bbbbbbbbbbbbbbbbbbbb' };
  const shard0Restored = { setName: 'shard0', replicaSetId: '6600cccccccccccccccccccc' };
  const older = oplogObject('base0', [0, 1, 0], [2, 3, 300]);
  const newer = oplogObject('base1', [10, 1, 0], [12, 1, 0]);
  const manifest = manifestOf(chain('s0', older, [], shard0), chain('s1', newer, [], shard1));

  test('several sources and none named: refused, with every candidate on one line', () => {
    assert.throws(() => planRestore(manifest, parseCutoff(`${T + 12}:2`)), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /shard0 \(--replica-set-id 65f0a+\), shard1 \(--replica-set-id 65f0b+\)/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    assert.throws(() => planRestore(manifest, undefined), UsageError);
  });

  test('--set-name picks that source\'s chains only, even where another covers the cutoff', () => {
    assert.equal(planRestore(manifest, parseCutoff(`${T + 2}:4`), { setName: 'shard0' }).chain.id, 's0');
    // shard1's chain covers T+12, shard0's does not: not a reason to restore shard1.
    assert.throws(() => planRestore(manifest, parseCutoff(`${T + 12}:2`), { setName: 'shard0' }), /outside the restorable window/);
    assert.equal(planRestore(manifest, undefined, { setName: 'shard1' }).chain.id, 's1');
    assert.throws(() => planRestore(manifest, undefined, { setName: 'shard9' }), /no chain in this store belongs to --set-name shard9; its sources: shard0/);
  });

  test('a set name two sources share needs the replica set id', () => {
    const both = manifestOf(chain('s0', older, [], shard0), chain('r0', newer, [], shard0Restored));
    assert.throws(() => planRestore(both, undefined, { setName: 'shard0' }), /2 sources named shard0; choose one with --set-name and --replica-set-id/);
    assert.equal(planRestore(both, undefined, { setName: 'shard0', replicaSetId: shard0.replicaSetId }).chain.id, 's0');
    assert.equal(planRestore(both, undefined, { replicaSetId: shard0Restored.replicaSetId }).chain.id, 'r0');
  });

  test('one source in the store needs no name', () => {
    const one = manifestOf(chain('a', older, [], shard0), chain('b', newer, [], shard0));
    assert.equal(planRestore(one, undefined).chain.id, 'b');
    assert.equal(planRestore(one, parseCutoff(`${T + 2}:4`)).chain.id, 'a');
  });
});

describe('no hole at a new base: the planner across two chains of one source', () => {
  // Old chain A: base .. T+2:3, one chunk to T+5:4. New base B: T0 = T+6:1 (its dump ran while
  // ops T+6:1 .. T+9:2 were written), T1 = T+9:2.
  const newBase = oplogObject('baseB', [6, 1, 0], [9, 2, 200]);
  const chainB = chain('B', newBase);

  test('before the old chain is brought up to the new T1, the cutoffs in between restore from neither', () => {
    const manifest = manifestOf(chain('A', base, [chunk]), chainB);
    assert.ok(chainBeforeHole(manifest.chains, chainB.source));
    assert.equal(accepts(manifest, `${T + 7}:1`), false);
    assert.equal(accepts(manifest, `${T + 9}:2`), false);
  });

  test('once it is (close-hole.ts seals it at T1), every cutoff up to T1 restores from it, and after T1 from the new base', () => {
    const bridge = chunkAfter(chunk, oplogObject('c2', [6, 1, 0], [9, 2, 200]), { ts: newBase.lastTs, wall: newBase.lastWall });
    const manifest = manifestOf(chain('A', base, [chunk, bridge]), chainB);
    assert.equal(chainBeforeHole(manifest.chains, chainB.source), undefined);
    for (const until of [`${T + 5}:5`, `${T + 6}:0`, `${T + 6}:2`, `${T + 7}:1`, `${T + 9}:1`, `${T + 9}:2`, wallOf(9, 200)]) {
      assert.equal(planRestore(manifest, parseCutoff(until)).chain.id, 'A', until);
    }
    assert.equal(planRestore(manifest, parseCutoff(`${T + 9}:3`)).chain.id, 'B');
    // B holds nothing past T1 yet: a millisecond later in T1's second is not decidable.
    assert.equal(accepts(manifest, wallOf(9, 201)), false);
  });

  test('another source\'s newer base is no hole in this one', () => {
    const other = chain('X', newBase, [], { setName: 'shard1', replicaSetId: 'bbb' });
    const manifest = manifestOf(chain('A', base, [chunk]), other);
    assert.equal(chainBeforeHole(manifest.chains, { setName: 'rs0', replicaSetId: 'aaa' }), undefined);
  });
});

describe('a prepare undecided at the chain\'s end (archive/open-prepares.ts records)', () => {
  const id = 'f'.repeat(32);
  test('open at the base\'s end and never decided: the window is empty and every cutoff refused, naming the prepare', () => {
    const base = { ...oplogObject('b', [0, 1, 0], [10, 3, 500]), openPrepares: [{ ts: { t: T + 8, i: 1 }, id }] };
    const only = chain('c1', base);
    const window = windowOf(only);
    assert.deepEqual([window.to, window.heldByPrepare], [window.from, { t: T + 8, i: 1 }]);
    assert.equal(accepts(manifestOf(only), `${T + 10}:4`), false);
    assert.throws(() => planRestore(manifestOf(only), parseCutoff(`${T + 10}:4`)), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, `--until ${T + 10}:4 is past a transaction prepared at 2025-11-24 16:00:08 UTC [${T + 8}:1] whose commit or abort is not archived yet`);
      assert.equal(error.hint, `pick a cutoff at or before it (--until ${T + 8}:1, or 2025-11-24T16:00:08.000Z), or wait for the next oplog pass to archive its decision`);
      return true;
    });
  });

  test('an older chain that covers the cutoff without it serves', () => {
    const oldBase = { ...oplogObject('b0', [0, 1, 0], [2, 1, 0]), openPrepares: [] };
    const oldChunk = { ...chunkAfter(oldBase, oplogObject('k0', [3, 1, 0], [20, 1, 0])), openPrepares: [] };
    const newBase = { ...oplogObject('b1', [5, 1, 0], [10, 3, 500]), openPrepares: [{ ts: { t: T + 8, i: 1 }, id }] };
    const newChunk = { ...chunkAfter(newBase, oplogObject('k1', [11, 1, 0], [20, 1, 0])), openPrepares: [{ ts: { t: T + 8, i: 1 }, id }] };
    const manifest = manifestOf(chain('old', oldBase, [oldChunk]), chain('new', newBase, [newChunk]));
    assert.equal(planRestore(manifest, parseCutoff(`${T + 12}:1`)).chain.id, 'old');
  });
});

