// Restore windows as receipts, stage lines and errors give them: times first, as status does
// (local, UTC beside it), the oplog positions in brackets only where asked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RestoreWindow } from '../../../src/archive/chain-window.ts';
import { pointWords, tsWords, windowPoints, windowWords } from '../../../src/archive/window-words.ts';

const T = 1_796_126_400; // 2026-12-01T12:00:00Z
const window: RestoreWindow = { chainId: 'c1', from: { t: T, i: 1 }, fromWall: '2026-12-01T12:00:00.010Z', to: { t: T + 600, i: 2 }, toWall: '2026-12-01T12:10:00.020Z' };

test('a window: from <local> (<UTC>) to <local> (<UTC>), positions only when asked for', () => {
  assert.equal(windowWords(window, { timeZone: 'Europe/Berlin' }), 'from 2026-12-01 13:00:00 GMT+1 (12:00:00 UTC) to 2026-12-01 13:10:00 GMT+1 (12:10:00 UTC)');
  assert.equal(windowWords(window, { timeZone: 'UTC', positions: true }), `from 2026-12-01 12:00:00 UTC [${T}:1] to 2026-12-01 12:10:00 UTC [${T + 600}:2]`);
});

test('a window held at a prepare says so, with the prepare\'s time (its second: no wall is recorded for it)', () => {
  const held: RestoreWindow = { ...window, heldByPrepare: { t: T + 601, i: 4 } };
  assert.equal(
    windowWords(held, { timeZone: 'UTC', positions: true }),
    `from 2026-12-01 12:00:00 UTC [${T}:1] to 2026-12-01 12:10:00 UTC [${T + 600}:2] (held at a transaction prepared at 2026-12-01 12:10:01 UTC [${T + 601}:4], undecided in the archive)`,
  );
});

test('the structured points --json carries: {t, i, iso, wall}, and the words read the same from them', () => {
  const points = windowPoints(window);
  assert.deepEqual(points, {
    from: { t: T, i: 1, iso: '2026-12-01T12:00:00.000Z', wall: '2026-12-01T12:00:00.010Z' },
    to: { t: T + 600, i: 2, iso: '2026-12-01T12:10:00.000Z', wall: '2026-12-01T12:10:00.020Z' },
  });
  assert.equal(windowWords(points, { timeZone: 'Asia/Kolkata' }), windowWords(window, { timeZone: 'Asia/Kolkata' }));
  assert.equal(pointWords(points.to, { timeZone: 'Asia/Kolkata' }), '2026-12-01 17:40:00 GMT+5:30 (12:10:00 UTC)');
  assert.equal(tsWords({ t: T, i: 7 }, { timeZone: 'Pacific/Kiritimati', positions: true }), `2026-12-02 02:00:00 GMT+14 (2026-12-01 12:00:00 UTC) [${T}:7]`);
});
