// Rows of parallel work (a cluster's members, log.ts rowProgress): on a terminal one line per
// row, in name order below the event lines, redrawn in place and cleared when the row is done;
// with --json progress events naming the row; nothing in plain logs. Checked on the screen a
// terminal would show (test/support/terminal-screen.ts), not on the bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { createLog, settleProgress } from '../../src/log.ts';
import { memberDone, memberLog } from '../../src/cli/member-progress.ts';
import { dumpProgress } from '../../src/cli/dump-progress.ts';
import { screenOf } from '../support/terminal-screen.ts';

function sink(isTTY: boolean, rows = 40): { out: Writable & { isTTY?: boolean; columns?: number; rows?: number }; text: () => string } {
  let written = '';
  const out = Object.assign(new Writable({ write: (chunk, _encoding, done) => ((written += String(chunk)), done()) }), { isTTY, columns: 120, rows });
  return { out, text: () => written };
}

describe('log rows', () => {
  it('one line per member on a terminal, redrawn in place below the events, each cleared when done', () => {
    const { out, text } = sink(true);
    let clock = 1_000_000;
    const log = createLog({ json: false, out, now: () => clock });
    const step = () => (clock += 300);
    log.rowStatus?.('shard02', 'finding the commit point (T0, where the base starts)');
    step();
    log.rowProgress?.('shard01', 'dump', 10, 40, 'documents');
    step();
    log.rowProgress?.('config', 'dump', 1, 4, 'documents');
    log.event('run.member.base', 'base of shard01 (rs-shard01)');
    step();
    log.rowProgress?.('shard01', 'dump', 30, 40, 'documents');
    let screen = screenOf(text());
    assert.deepEqual(screen.rows, [
      'base of shard01 (rs-shard01)',
      '[config] dump [#####---------------] 25% 1/4 documents',
      '[shard01] dump [###############-----] 75% 30/40 documents',
      '[shard02] finding the commit point (T0, where the base starts) …',
    ]);
    assert.equal(screen.cursorRow, 3, 'the cursor ends the last row, so the next redraw starts from it');

    // A finished stage is drawn at 100% at once (no throttle); a member done leaves no row.
    log.rowProgress?.('shard01', 'dump', 40, 40, 'documents');
    assert.equal(screenOf(text()).rows[2], '[shard01] dump [####################] 100% 40/40 documents');
    memberDone(log, 'shard01');
    memberDone(log, 'shard02');
    screen = screenOf(text());
    assert.deepEqual(screen.rows, ['base of shard01 (rs-shard01)', '[config] dump [#####---------------] 25% 1/4 documents']);
    memberDone(log, 'config');
    screen = screenOf(text());
    assert.deepEqual(screen.rows, ['base of shard01 (rs-shard01)', ''], 'every row cleared: the next line starts on an empty row');
  });

  it('a result settles every row: it starts on a row of its own', () => {
    const { out, text } = sink(true);
    const log = createLog({ json: false, out });
    log.rowProgress?.('shard01', 'replay', 5, 10, 'entries');
    log.rowProgress?.('shard02', 'replay', 2, 10, 'entries');
    settleProgress();
    out.write('cluster base 1 …\n');
    assert.deepEqual(screenOf(text()).rows, ['cluster base 1 …', '']);
  });

  it('the replica-set bar and member rows share the screen: a finished bar stays above the rows', () => {
    const { out, text } = sink(true);
    const log = createLog({ json: false, out });
    log.rowProgress?.('shard01', 'replay', 5, 10, 'entries');
    log.progress('download', 4, 4, 'objects');
    assert.deepEqual(screenOf(text()).rows, ['download [####################] 100% 4/4 objects', '[shard01] replay [##########----------] 50% 5/10 entries']);
  });

  it('a member log draws the replica-set dump bar on the member row', () => {
    const { out, text } = sink(true);
    const log = createLog({ json: false, out });
    const progress = dumpProgress(memberLog(log, 'shard01'));
    progress.plan({ collections: 2, estimatedDocuments: 3 });
    progress.document();
    assert.deepEqual(screenOf(text()).rows, ['[shard01] dump [#######-------------] 33% 1/3 documents, 0/2 collections']);
  });

  it('no more rows than the terminal is high (cursor-up stops at the top): the rest counted on one line', () => {
    const { out, text } = sink(true, 6);
    const log = createLog({ json: false, out });
    for (let n = 1; n <= 9; n++) log.rowStatus?.(`shard0${n}`, 'waiting');
    assert.deepEqual(screenOf(text()).rows, ['[shard01] waiting …', '[shard02] waiting …', '[shard03] waiting …', '… and 6 more']);
    for (let n = 1; n <= 9; n++) memberDone(log, `shard0${n}`);
    assert.deepEqual(screenOf(text()).rows, [''], 'all erased');
  });

  it('plain logs get no rows; --json gets progress events naming the row', () => {
    const plain = sink(false);
    const log = createLog({ json: false, out: plain.out });
    log.rowProgress?.('shard01', 'dump', 1, 2, 'documents');
    log.rowStatus?.('shard01', 'waiting');
    memberDone(log, 'shard01');
    assert.equal(plain.text(), '');
    // A row still in progress when an event is printed: the event is a plain line, no row drawn
    // after it and no escape codes (the first version kept rows off a pipe only until the next event).
    log.rowProgress?.('shard02', 'download', 12, 12, 'objects');
    log.event('restore.plan', 'config: 12 objects downloaded and verified');
    log.rowProgress?.('config', 'load', 4, 5, 'collections');
    settleProgress();
    assert.equal(plain.text(), 'config: 12 objects downloaded and verified\n');
    const json = sink(false);
    createLog({ json: true, out: json.out }).rowProgress?.('shard02', 'replay', 3, 3, 'entries');
    const event = JSON.parse(json.text().trim()) as Record<string, unknown>;
    assert.deepEqual([event.type, event.row, event.stage, event.done, event.total], ['progress', 'shard02', 'replay', 3, 3]);
  });
});
