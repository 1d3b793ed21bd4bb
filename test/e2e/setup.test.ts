// Set-up as a new user meets it: the command on PATH from a checkout, and an old Node refused
// with one line (which Node, how to get it) by the command, `npm test` and `npm run demo` alike.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { VERSION } from '../../src/cli/program.ts';
import { BIN } from '../support/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** This machine's system Node (v20), or one named by OLD_NODE. */
const OLD_NODE = process.env.OLD_NODE ?? '/usr/bin/node';
const oldVersion = existsSync(OLD_NODE) ? execFileSync(OLD_NODE, ['--version'], { encoding: 'utf8' }).trim() : '';
const NO_OLD_NODE = /^v(1\d|2[01])\./.test(oldVersion) ? false : `no Node older than 22 at ${OLD_NODE} (set OLD_NODE)`;

/** A PATH on which `node` is the old Node and npm is this one's. */
async function oldNodePath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-old-node-'));
  await symlink(OLD_NODE, join(dir, 'node'));
  return [dir, dirname(process.execPath), process.env.PATH ?? ''].join(':');
}

function assertOneNodeLine(stderr: string, what: string): void {
  const ours = stderr.split('\n').filter((line) => line.includes('mongo-pitr needs Node.js'));
  assert.equal(ours.length, 1, `${what}: one line naming the Node needed, got ${JSON.stringify(stderr)}`);
  assert.match(ours[0] ?? '', /22\.18 or newer, but this is Node v?20\..*install Node 24/);
  assert.doesNotMatch(stderr, /ERR_UNKNOWN_FILE_EXTENSION|ERR_MODULE_NOT_FOUND|\n\s+at /, `${what}: no stack trace`);
}

describe('on a Node older than package.json engines', { skip: NO_OLD_NODE }, () => {
  test('bin/mongo-pitr fails with one line naming the Node needed', () => {
    const result = spawnSync(OLD_NODE, [BIN, 'status', '--store', join(tmpdir(), 'never-created')], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.split('\n').length, 2, JSON.stringify(result.stderr));
    assertOneNodeLine(result.stderr, 'bin/mongo-pitr');
  });

  for (const script of ['demo', 'test']) {
    test(`npm ${script === 'test' ? 'test' : 'run demo'} fails early with one line`, async () => {
      const started = Date.now();
      const result = spawnSync('npm', script === 'test' ? ['test'] : ['run', 'demo'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, PATH: await oldNodePath(), TEST_MONGODB_URI: 'mongodb://127.0.0.1:1/never' },
        timeout: 60_000,
      });
      assert.notEqual(result.status, 0);
      assertOneNodeLine(result.stderr, script);
      // Early: before the type-check, the server build or any test runs.
      assert.ok(Date.now() - started < 20_000, 'fails before doing any work');
      assert.doesNotMatch(result.stdout, /tsc|mongo-pitr tests:/);
    });
  }
});

describe('the command from a checkout', () => {
  test('npx mongo-pitr --version runs the checkout\'s bin without installing anything', () => {
    const result = spawnSync('npx', ['--offline', 'mongo-pitr', '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), VERSION);
  });

  test('with bin/ on PATH, `mongo-pitr --version` works as the README prints it', () => {
    const result = spawnSync('bash', ['-c', 'mongo-pitr --version'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PATH: [join(ROOT, 'bin'), dirname(process.execPath), process.env.PATH ?? ''].join(':') },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), VERSION);
  });
});
