// run's receipt lines (also the Lambda's log): the checkpoint and an oplog gap as times, as
// status gives them; the JSON keeps "secs:ordinal".
import assert from 'node:assert/strict';
// Local times are the host's: pin the zone so the lines read the same on every machine.
process.env.TZ = 'UTC';
const { test } = await import('node:test');
const { describeRunDue, runDueReport } = await import('../../../src/backup/run-due.ts');

const T = 1_796_126_400; // 2026-12-01T12:00:00Z

test('the checkpoint is given as its op\'s wall clock time, not as secs:ordinal', () => {
  const result = { stoppedEarly: false, oplog: { chainId: 'c1', chunks: 1, ops: 12, checkpoint: { t: T + 5, i: 3 }, checkpointWall: '2026-12-01T12:00:05.250Z', stoppedEarly: false } };
  assert.deepEqual(describeRunDue(result), ['12 oplog entries archived in 1 chunk; checkpoint 2026-12-01 12:00:05 UTC']);
  // Without a recorded wall: the position's second.
  assert.deepEqual(describeRunDue({ ...result, oplog: { ...result.oplog, checkpointWall: null } }), ['12 oplog entries archived in 1 chunk; checkpoint 2026-12-01 12:00:05 UTC']);
  // The JSON keeps its keys and its "secs:ordinal" value.
  assert.equal((runDueReport(result).oplog as { checkpoint: string }).checkpoint, `${T + 5}:3`);
});

test('an oplog gap names the lost checkpoint and the oldest entry left by their times', () => {
  const result = { stoppedEarly: false, gap: { checkpoint: `${T}:3`, oldestAvailable: `${T + 3600}:1` } };
  assert.deepEqual(describeRunDue(result), [`oplog gap: the checkpoint 2026-12-01 12:00:00 UTC is gone from the source's oplog (its oldest entry: 2026-12-01 13:00:00 UTC)`]);
  assert.deepEqual(describeRunDue({ ...result, gap: { ...result.gap, oldestAvailable: null } }), [`oplog gap: the checkpoint 2026-12-01 12:00:00 UTC is gone from the source's oplog (its oldest entry: none)`]);
});

test('a stopped run names the pieces kept of a collection part way through, so progress shows from run to run', () => {
  const pendingBase = { baseId: 'B', startTs: `${T}:1`, startedAt: '2026-12-01T12:00:00.000Z', collections: 2, documents: 10 };
  assert.deepEqual(describeRunDue({ stoppedEarly: true, pendingBase }), ['base B in progress: 2 collections stored; the next run resumes it', 'stopped early: everything above is committed']);
  const partial = { collections: 1, pieces: 4, documents: 900 };
  assert.deepEqual(describeRunDue({ stoppedEarly: true, pendingBase: { ...pendingBase, partial } }), [
    'base B in progress: 2 collections stored and 4 pieces (900 documents) of 1 collection part way; the next run resumes it',
    'stopped early: everything above is committed',
  ]);
});
