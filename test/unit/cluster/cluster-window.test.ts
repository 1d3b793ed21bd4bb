// The cluster's restorable windows from its members' chain windows (archive/chain-window.ts
// windowOf), cluster bases and undecided prepares (restore/prepared-cutoff.ts). Timestamps are
// cluster times shared by every member (db/logical_time / vector clock: every mongod and mongos
// gossips $clusterTime and stamps its oplog from it), so one cutoff means the same instant on
// every member.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RestoreWindow } from '../../../src/archive/chain-window.ts';
import { clusterCutoff, clusterWindows, type ClusterBase, type MemberWindows } from '../../../src/cluster/cluster-window.ts';
import { parseCutoff } from '../../../src/timestamp.ts';

const T0 = 1_764_583_200;
const at = (i: number, t = T0) => ({ t, i });
const wall = (ms: number) => new Date(T0 * 1000 + ms).toISOString();
const win = (chainId: string, from: number, to: number, toWallMs: number | null = null): RestoreWindow => ({
  chainId, from: at(from), fromWall: wall(from), to: at(to), toWall: toWallMs === null ? null : wall(toWallMs),
});
const base = (id: string, ends: Record<string, number>): ClusterBase => ({ id, members: Object.entries(ends).map(([name, i]) => ({ name, endTs: at(i) })) });

const members = (extra: Partial<Record<string, Partial<MemberWindows>>> = {}): MemberWindows[] => [
  { name: 'config', windows: [win('cfg-1', 10, 100, 900)], ...extra.config },
  { name: 's1', windows: [win('s1-1', 12, 80, 800)], ...extra.s1 },
  { name: 's2', windows: [win('s2-1', 11, 90, 850)], ...extra.s2 },
];
const B1 = base('cb-1', { config: 10, s1: 12, s2: 11 });

describe('clusterWindows', () => {
  it('runs from the largest T1 of the cluster base to the least archived end, naming both', () => {
    const report = clusterWindows(members(), [B1]);
    assert.equal(report.windows.length, 1);
    const [window] = report.windows;
    assert.ok(window);
    assert.deepEqual([window.from, window.to], [at(12), at(80)]);
    assert.equal(window.toWall, wall(800));
    assert.deepEqual([...window.chains], [['config', ['cfg-1']], ['s1', ['s1-1']], ['s2', ['s2-1']]]);
    assert.deepEqual(window.limits.map((limit) => [limit.kind, limit.member]), [['base', 's1'], ['archived-end', 's1']]);
    assert.match(window.limits[1]?.message ?? '', /^shard s1 archived only to 1764583200:80 \(2025-12-01T10:00:00\.800Z\)$/);
  });

  it('ends before an undecided prepare (cutoffs up to the prepare), with no wall clock there', () => {
    const [window] = clusterWindows(members({ s2: { undecidedPrepare: at(50) } }), [B1]).windows;
    assert.deepEqual(window?.to, at(49));
    assert.equal(window?.toWall, null);
    assert.deepEqual(window?.limits.map((limit) => [limit.kind, limit.member, limit.ts]), [['base', 's1', at(12)], ['undecided-prepare', 's2', at(50)]]);
  });

  it('reads a prepare that windowOf already ended the window at (heldByPrepare) as the prepare\'s limit, fed or not', () => {
    // chain-window.ts windowOf ends a chain's window at the position before its earliest undecided
    // prepare P (to = P - 1 ordinal) and names P; cluster-run may feed that window alone, or with
    // earliestUndecidedPrepare(chain) as undecidedPrepare too.
    const held: RestoreWindow = { ...win('s2-1', 11, 49), heldByPrepare: at(50) };
    for (const extra of [{ windows: [held] }, { windows: [held], undecidedPrepare: at(50) }]) {
      const [window] = clusterWindows(members({ s2: extra }), [B1]).windows;
      assert.deepEqual(window?.to, at(49));
      assert.equal(window?.toWall, null);
      assert.deepEqual(window?.limits.map((limit) => [limit.kind, limit.member, limit.ts]), [['base', 's1', at(12)], ['undecided-prepare', 's2', at(50)]]);
    }
  });

  it('has no window where an undecided prepare precedes a chain\'s first cutoff', () => {
    const report = clusterWindows(members({ s2: { undecidedPrepare: at(5) } }), [B1]);
    assert.deepEqual(report.windows, []);
    assert.equal(report.limits[0]?.kind, 'no-chain');
  });

  it('makes a member\'s gap the cluster\'s gap', () => {
    const report = clusterWindows(members({ s1: { windows: [win('s1-1', 12, 40, 400), win('s1-2', 60, 120, 950)] } }), [B1]);
    assert.deepEqual(report.windows.map((w) => [w.from, w.to, w.chains.get('s1')?.join()]), [[at(12), at(40), 's1-1'], [at(60), at(90), 's1-2']]);
    assert.deepEqual(report.windows[0]?.limits.map((l) => [l.kind, l.member]), [['base', 's1'], ['gap', 's1']]);
    assert.deepEqual(report.windows[1]?.limits.map((l) => [l.kind, l.member]), [['gap', 's1'], ['archived-end', 's2']]);
    assert.match(report.windows[0]?.limits[1]?.message ?? '', /shard s1 has a gap after 1764583200:40/);
  });

  it('gives no window for a base one of whose members has no chain, and says which', () => {
    const report = clusterWindows(members().filter((member) => member.name !== 's2'), [B1]);
    assert.deepEqual(report.windows, []);
    assert.deepEqual(report.limits.map((l) => [l.kind, l.member]), [['no-chain', 's2']]);
    assert.match(report.limits[0]?.message ?? '', /cluster base cb-1: shard s2 has no chain/);
  });

  it('lets the newer cluster base serve the cutoffs two bases share; a shard added later is a member of the newer one only', () => {
    const all: MemberWindows[] = [
      { name: 'config', windows: [win('cfg-1', 10, 100), win('cfg-2', 70, 200, 990)] },
      { name: 's1', windows: [win('s1-1', 12, 80), win('s1-2', 71, 210, 995)] },
      { name: 's2', windows: [win('s2-1', 11, 90), win('s2-2', 72, 220, 999)] },
      { name: 's3', windows: [win('s3-1', 73, 230, 999)] },
    ];
    const B2 = base('cb-2', { config: 70, s1: 71, s2: 72, s3: 73 });
    const report = clusterWindows(all, [B1, B2]);
    assert.deepEqual(report.windows.map((w) => [w.baseId, w.from, w.to]), [['cb-1', at(12), at(72)], ['cb-2', at(73), at(200)]]);
    assert.deepEqual(report.windows[1]?.chains.get('s3'), ['s3-1']);
    assert.deepEqual(report.windows[0]?.chains.get('config'), ['cfg-1', 'cfg-2']);
    assert.equal(report.windows[1]?.toWall, wall(990));
    assert.equal(report.windows[0]?.chains.has('s3'), false);
  });

  it('takes the earliest wall among members sealed in the window\'s last second', () => {
    const report = clusterWindows(members({ s1: { windows: [win('s1-1', 12, 95, 870)] } }), [B1]);
    assert.deepEqual(report.windows[0]?.to, at(90));
    // s2 (to :90, wall .850) limits; s1 (:95 .870) and config (:100 .900) are sealed later in the same second.
    assert.equal(report.windows[0]?.toWall, wall(850));
  });
});

describe('clusterCutoff', () => {
  it('decides a millisecond time by cluster time alone: the start of its second, on every member', () => {
    const cutoff = clusterCutoff(parseCutoff(new Date(T0 * 1000 + 250).toISOString()));
    assert.deepEqual(cutoff.ts, at(0));
    assert.equal(cutoff.wallMs, undefined);
    const exact = parseCutoff(`${T0}:7`);
    assert.equal(clusterCutoff(exact), exact);
  });
});
