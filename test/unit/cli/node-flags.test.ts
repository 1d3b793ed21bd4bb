// The node flags on bin/mongo-pitr's #! line bound the process's garbage (bin/mongo-pitr says
// why each is there; test/bench measures them): they must stay on the line, and the Node that
// runs the CLI must accept them, since an unknown V8 flag stops node before the first line runs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const BIN = new URL('../../../bin/mongo-pitr', import.meta.url);

function shebangFlags(): string[] {
  const first = readFileSync(BIN, 'utf8').split('\n')[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node( .*)?$/.exec(first);
  assert.ok(match, `unexpected #! line: ${first}`);
  return (match[1] ?? '').trim().split(/\s+/).filter(Boolean);
}

test('the #! line bounds the young generation and the old generation\'s growth', () => {
  const flags = shebangFlags();
  assert.ok(flags.includes('--max-semi-space-size=8'), flags.join(' '));
  const growing = flags.find((flag) => flag.startsWith('--heap-growing-percent='));
  assert.ok(growing, `no --heap-growing-percent in ${flags.join(' ')}`);
  const percent = Number(growing.split('=')[1]);
  // 0 is V8's "choose for me" (up to 4x); the bound is the point.
  assert.ok(percent > 0 && percent <= 100, growing);
});

test('this Node accepts every flag on the #! line', () => {
  assert.equal(execFileSync(process.execPath, [...shebangFlags(), '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' }), 'ok');
});
