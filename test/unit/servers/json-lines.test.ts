// onJsonLines (test/support/cli.ts) hands over whole NDJSON lines only: a child's stderr `data`
// events may split a line anywhere, and the crash test used to JSON.parse the halves.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { onJsonLines } from '../../support/cli.ts';

describe('onJsonLines', () => {
  it('joins a line split across data events, and skips lines that are not JSON', async () => {
    const stream = new PassThrough();
    const events: Record<string, unknown>[] = [];
    onJsonLines(stream, (event) => events.push(event));
    stream.write('{"type":"oplog.chunk","ke');
    await tick();
    stream.write('y":"a"}\nprogress 12%\n{"type":"oplog.chunk-start",');
    await tick();
    stream.write('"key":"b"}\n');
    stream.end();
    await new Promise((resolve) => stream.on('end', resolve));
    await tick();
    assert.deepEqual(events, [{ type: 'oplog.chunk', key: 'a' }, { type: 'oplog.chunk-start', key: 'b' }]);
  });
});
