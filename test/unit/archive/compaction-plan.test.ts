// The compaction planner on hand-made records: only closed spans merge, never the last record,
// levels by minute, hour and day; run to a fixed point, a window is covered by the fewest objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergedRecord, planCompaction } from '../../../src/archive/compaction-plan.ts';
import type { Chunk } from '../../../src/archive/manifest.ts';

function record(t: number, n: number): Chunk {
  const ts = { t, i: 1 };
  return {
    key: `chunks/c/${n}`, rawBytes: 10, storedBytes: 5, sha256: `sha${n}`, firstTs: ts, lastTs: ts, firstWall: null, lastWall: null, count: 1,
    afterTs: { t: t - 1, i: 1 }, prevSha256: `sha${n - 1}`, sealedAt: '2024-01-01T00:00:00.000Z', lagMs: 0, commitPoint: 'lastWritten', stats: { byNs: { 'a.b': { i: 1 } } },
  };
}

/** Runs the planner to a fixed point, merging as compact.ts would. */
function compactAll(records: Chunk[]): Chunk[] {
  let current = records;
  for (;;) {
    const groups = planCompaction(current);
    if (groups.length === 0) return current;
    const out: Chunk[] = [];
    let cursor = 0;
    for (const group of groups) {
      const pieces = current.slice(group.start, group.end);
      out.push(...current.slice(cursor, group.start), mergedRecord(pieces, { key: `m${group.level}-${pieces[0]?.key}`, rawBytes: 1, storedBytes: 1, sha256: 'm' }, group.level, '2024-01-01T00:00:00.000Z'));
      cursor = group.end;
    }
    current = [...out, ...current.slice(cursor)];
  }
}

describe('compaction plan', () => {
  test('an open span does not merge; the last record never does', () => {
    const day = 86_400 * 20_000;
    assert.deepEqual(planCompaction([record(day, 1), record(day + 1, 2), record(day + 2, 3)]), []);
    assert.deepEqual(planCompaction([record(day, 1), record(day + 1, 2), record(day + 60, 3)]), [{ start: 0, end: 2, level: 1 }]);
  });

  test('a day and a bit of 1 s chunks becomes one object a day, an hour, a minute, plus the open minute', () => {
    const day = 86_400 * 20_000;
    const records = Array.from({ length: 86_400 + 3_600 + 120 + 5 }, (_, n) => record(day + n, n + 1));
    const compacted = compactAll(records);
    assert.deepEqual(compacted.map((chunk) => chunk.level ?? 0), [3, 2, 1, 1, 0, 0, 0, 0, 0]);
    assert.equal(compacted.reduce((sum, chunk) => sum + (chunk.pieces ?? 1), 0), records.length);
    assert.equal(compacted.reduce((sum, chunk) => sum + chunk.count, 0), records.length);
    // The hash chain of the archived chunks carries over every merged span.
    for (let index = 1; index < compacted.length; index++) {
      const previous = compacted[index - 1];
      const next = compacted[index];
      assert.equal(next?.prevSha256, previous?.endSha256 ?? previous?.sha256);
    }
    assert.deepEqual(compacted[0]?.stats, { byNs: { 'a.b': { i: 86_400 } } });
  });

  test('a merged record keeps the open prepares of its last piece, and stays unknown where that piece does not say', () => {
    const stored = { key: 'm', rawBytes: 1, storedBytes: 1, sha256: 'm' };
    const open = [{ ts: { t: 101, i: 1 }, id: 'a'.repeat(32) }];
    const pieces = [{ ...record(100, 1), openPrepares: [] }, { ...record(101, 2), openPrepares: open }];
    assert.deepEqual(mergedRecord(pieces, stored, 1, '2024-01-01T00:00:00.000Z').openPrepares, open);
    assert.equal('openPrepares' in mergedRecord([record(100, 1), record(101, 2)], stored, 1, '2024-01-01T00:00:00.000Z'), false);
  });
});
