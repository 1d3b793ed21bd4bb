// Usage errors as a user sees them, with no server needed: bin/mongo-pitr as a child process.
// Commander's own lines ("error: unknown option ...") are replaced by the documented one,
// `mongo-pitr: usage error: ...`, exit 2; a config file value of the wrong type is refused with
// one line naming the key instead of being coerced.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../../support/cli.ts';

function oneLine(stderr: string): string {
  const lines = stderr.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, 1, `one line: ${JSON.stringify(stderr)}`);
  return lines[0] ?? '';
}

describe('usage errors are the documented line, exit 2', () => {
  test('an unknown flag', async () => {
    const result = await runCli(['status', '--frobnicate']);
    assert.equal(result.code, 2);
    assert.match(oneLine(result.stderr), /^mongo-pitr: usage error: unknown option '--frobnicate'/);
  });

  test('an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    assert.equal(result.code, 2);
    assert.match(oneLine(result.stderr), /^mongo-pitr: usage error: unknown command 'frobnicate'/);
  });

  test('a flag without its value, and a bad choice', async () => {
    const missing = await runCli(['status', '--store']);
    assert.equal(missing.code, 2);
    assert.match(oneLine(missing.stderr), /^mongo-pitr: usage error: .*--store/);
    const choice = await runCli(['status', '--sse', 'rot13']);
    assert.equal(choice.code, 2);
    assert.match(oneLine(choice.stderr), /^mongo-pitr: usage error: .*rot13/);
  });

  test('with --json, the usage error is a JSON error event', async () => {
    const result = await runCli(['--json', 'status', '--frobnicate']);
    assert.equal(result.code, 2);
    const event = JSON.parse(oneLine(result.stderr)) as { type: string; code: string; exitCode: number };
    assert.deepEqual([event.type, event.code, event.exitCode], ['error', 'usage', 2]);
  });
});

describe('--config values are type-checked', () => {
  test('a number where the store URL goes is refused, naming the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-config-'));
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ store: 42 }));
    const result = await runCli(['--config', file, 'status'], { MONGO_PITR_STORE: '' });
    assert.equal(result.code, 2);
    assert.match(oneLine(result.stderr), /^mongo-pitr: usage error: config file .*"store" must be a string, not number 42/);
  });

  test('a string where a switch goes is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-config-'));
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ pathStyle: 'yes' }));
    const result = await runCli(['--config', file, 'status']);
    assert.equal(result.code, 2);
    assert.match(oneLine(result.stderr), /"pathStyle" must be a boolean/);
  });
});
