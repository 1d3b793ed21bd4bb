// Output modes: a progress bar on a terminal, progress events with --json, plain event lines
// otherwise; passwords redacted everywhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { createLog, formatSeconds, settleProgress } from '../../src/log.ts';

function sink(isTTY: boolean): { out: Writable & { isTTY?: boolean }; text: () => string } {
  let written = '';
  const out = Object.assign(new Writable({ write: (chunk, _encoding, done) => ((written += String(chunk)), done()) }), { isTTY });
  return { out, text: () => written };
}

describe('log', () => {
  it('draws a progress bar on a terminal and ends it with a newline when the stage is done', () => {
    const { out, text } = sink(true);
    const log = createLog({ json: false, out });
    log.progress('download', 2, 4, 'objects');
    log.event('restore.verified', 'verified mongodb://u:secret@h');
    log.progress('download', 4, 4, 'objects');
    assert.match(text(), /download \[#{10}-{10}\] 50% 2\/4 objects/);
    assert.match(text(), /\r\x1b\[Kverified mongodb:\/\/u:\*\*\*@h\n/);
    assert.match(text(), /download \[#{20}\] 100% 4\/4 objects\n$/);
    assert.doesNotMatch(text(), /secret/);
  });

  it('prints no bars when stderr is not a terminal, only event lines', () => {
    const { out, text } = sink(false);
    const log = createLog({ json: false, out });
    log.progress('replay', 10);
    log.event('oplog.chunk', 'chunk sealed');
    assert.equal(text(), 'chunk sealed\n');
  });

  it('emits progress as JSON events with --json', () => {
    const { out, text } = sink(true);
    const log = createLog({ json: true, out });
    log.progress('load', 3, 3);
    const event = JSON.parse(text().trim());
    assert.equal(event.type, 'progress');
    assert.deepEqual([event.stage, event.done, event.total], ['load', 3, 3]);
  });

  it('shows rate and ETA once a stage has run a second, from a total it knows', () => {
    const { out, text } = sink(true);
    let clock = 1_000_000;
    const log = createLog({ json: false, out, now: () => clock });
    log.progress('replay', 0, 10_000, 'entries');
    clock += 2000;
    log.progress('replay', 4000, 10_000, 'entries');
    assert.match(text(), /replay \[#{8}-{12}\] 40% 4,000\/10,000 entries, 2,000\/s, ETA 3s$/);
    assert.equal(formatSeconds(185), '3m05s');
  });

  it('settles a drawn bar before a result, so the result starts its own line', () => {
    const { out, text } = sink(true);
    const log = createLog({ json: false, out });
    log.progress('dump', 3, undefined, 'collections');
    settleProgress();
    assert.match(text(), /^dump 3 collections\r\x1b\[K$/);
    settleProgress();
    assert.match(text(), /^dump 3 collections\r\x1b\[K$/, 'settled once: nothing left to clear');
  });
});
