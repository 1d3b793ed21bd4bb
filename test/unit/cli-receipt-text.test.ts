// Receipts say "1 chunk", and give every cutoff in UTC and in local time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { counted, cutoffLine } from '../../src/cli/receipt-text.ts';
import { parseCutoff } from '../../src/timestamp.ts';
import { instantText } from '../../src/words.ts';

describe('receipt text', () => {
  test('counts agree with their noun', () => {
    assert.equal(counted(1, 'chunk'), '1 chunk');
    assert.equal(counted(0, 'chunk'), '0 chunks');
    assert.equal(counted(1601, 'entry', 'entries'), '1,601 entries');
  });

  test('an instant local first, UTC beside it, the day repeated only when it differs', () => {
    const ms = Date.UTC(2026, 11, 1, 12, 1, 0, 250);
    assert.equal(instantText(ms, { timeZone: 'Europe/Berlin', milliseconds: true }), '2026-12-01 13:01:00.250 GMT+1 (12:01:00.250 UTC)');
    assert.equal(instantText(ms, { timeZone: 'Pacific/Kiritimati', milliseconds: true }), '2026-12-02 02:01:00.250 GMT+14 (2026-12-01 12:01:00.250 UTC)');
  });

  test('the resolved cutoff: what was typed, the oplog position, both clocks', () => {
    const line = cutoffLine(parseCutoff('2026-12-01T13:01:00+01:00'), undefined, 'Europe/Berlin');
    // Local first, UTC beside it (as status), then the position it stops at: 1796126460 is 2026-12-01T12:01:00Z.
    assert.equal(line, 'cutoff: 2026-12-01T13:01:00+01:00 = 2026-12-01 13:01:00.000 GMT+1 (12:01:00.000 UTC); entries at or after it [1796126460:0] are not applied');
    assert.equal(
      cutoffLine(parseCutoff('2026-12-01T12:01:00.250Z'), undefined, 'Europe/Berlin'),
      'cutoff: 2026-12-01T12:01:00.250Z = 2026-12-01 13:01:00.250 GMT+1 (12:01:00.250 UTC); entries at or after it [1796126460:0] (in its second, by each entry\'s wall clock) are not applied',
    );
    assert.equal(
      cutoffLine(undefined, { ts: '1764590460:3', wall: '2025-12-01T12:01:00.000Z' }, 'Europe/Berlin'),
      'cutoff: none, everything archived is applied, up to 2025-12-01 13:01:00.000 GMT+1 (12:01:00.000 UTC) [1764590460:3]',
    );
    assert.equal(cutoffLine(undefined, { ts: '1764590460:3', wall: null }, 'UTC'), 'cutoff: none, everything archived is applied, up to 2025-12-01 12:01:00 UTC [1764590460:3]');
  });
});
