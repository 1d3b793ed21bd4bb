// The parts of the real-cluster suite (test/e2e/cluster-real.test.ts) that can run without a
// cluster: which files test/run.ts runs apart, the snapshot time a cutoff is checked against,
// how shard placement is judged, and the shard map the restores take.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planTestFiles } from '../support/real-cluster-files.ts';
import { cutoffAfter, keyOf, placementOf, shardMapOption, snapshotTimeOf } from '../support/real-cluster.ts';
import { compareTs, parseCutoff } from '../../src/timestamp.ts';

describe('planTestFiles', () => {
  const files = ['test/unit/a.test.ts', 'test/e2e/cluster.test.ts', 'test/e2e/cluster-real.test.ts', 'test/e2e/cluster-ops.test.ts', 'test/e2e/cluster-real-stream.test.ts'];

  it('with TEST_MONGOS_URI runs the real-cluster files apart; the simulated ones stay with the rest', () => {
    const plan = planTestFiles(files, 'mongodb://router:27017/');
    assert.deepEqual(plan.realCluster, ['test/e2e/cluster-real.test.ts', 'test/e2e/cluster-real-stream.test.ts']);
    assert.deepEqual(plan.rest, ['test/unit/a.test.ts', 'test/e2e/cluster.test.ts', 'test/e2e/cluster-ops.test.ts']);
  });

  it('without it leaves every file where it is (the real-cluster ones skip, saying why)', () => {
    assert.deepEqual(planTestFiles(files, undefined), { rest: files, realCluster: [] });
    assert.deepEqual(planTestFiles(files, ''), { rest: files, realCluster: [] });
  });
});

describe('the snapshot a cutoff is checked against', () => {
  // mongo-pitr applies entries with ts < C; a snapshot at T holds writes committed at <= T
  // (jstests/noPassthrough/readConcern_atClusterTime_snapshot_selection.js: a read at a write's
  // opTime.ts sees it): T is the greatest ts before C.
  it('is the greatest timestamp before the cutoff, across a second boundary too', () => {
    assert.deepEqual(snapshotTimeOf({ t: 1_764_583_200, i: 5 }), { t: 1_764_583_200, i: 4 });
    assert.deepEqual(snapshotTimeOf({ t: 1_764_583_200, i: 0 }), { t: 1_764_583_199, i: 0xffffffff });
  });

  it('a cutoff after cluster time T applies T and checks against T itself', () => {
    const T = { t: 1_764_583_200, i: 7 };
    const cutoff = cutoffAfter(T);
    assert.deepEqual(snapshotTimeOf(cutoff), T);
    assert.ok(compareTs(T, cutoff) < 0);
    // The CLI reads it back as the same position (--until secs:ordinal).
    assert.deepEqual(parseCutoff(`${cutoff.t}:${cutoff.i}`).ts, cutoff);
  });
});

describe('placementOf', () => {
  const ids = (...n: (number | string)[]) => n.map((id) => keyOf('app.orders', id));

  it('is clean when each document is on one shard and the router returns them all', () => {
    const placement = placementOf(new Map([['s1', ids(1, 2)], ['s2', ids(3)]]), 3);
    assert.deepEqual([placement.duplicates, placement.extra, [...placement.perShard]], [0, 0, [['s1', 2], ['s2', 1]]]);
  });

  it('counts a document on two shards, and an orphan the router filters out', () => {
    assert.equal(placementOf(new Map([['s1', ids(1, 2)], ['s2', ids(2)]]), 2).duplicates, 1);
    assert.equal(placementOf(new Map([['s1', ids(1, 2)], ['s2', ids(3)]]), 2).extra, 1);
  });

  it('keeps _ids of different BSON types apart (1 and "1")', () => {
    assert.equal(placementOf(new Map([['s1', ids(1)], ['s2', ids('1')]]), 2).duplicates, 0);
  });
});

describe('shardMapOption', () => {
  it('pairs source and target shards in name order', () => {
    assert.equal(shardMapOption(['shB', 'shA'], ['t2', 't1', 't3']), 'shA=t1,shB=t2');
  });
  it('refuses a target with fewer shards', () => {
    assert.throws(() => shardMapOption(['a', 'b'], ['x']), /at least as many/);
  });
});

describe('test/e2e/cluster-real.test.ts without a cluster', () => {
  it('skips, naming TEST_MONGOS_URI', () => {
    const file = fileURLToPath(new URL('../e2e/cluster-real.test.ts', import.meta.url));
    const env = { ...process.env };
    delete env.TEST_MONGOS_URI;
    delete env.TEST_MONGOS_TARGET_URI;
    delete env.NODE_TEST_CONTEXT; // else the child reports to this runner, not to its stdout
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /# SKIP no real sharded cluster: set TEST_MONGOS_URI/);
  });
});
