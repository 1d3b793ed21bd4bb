// Inputs that look right but are not: each is refused with one line naming the fix (exit 2, or
// 4 for a store that is not there), before anything is created or contacted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ExitCode } from '../../src/errors.ts';
import { BIN } from '../support/cli.ts';

function cli(args: readonly string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, MONGO_PITR_STORE: undefined, MONGO_PITR_S3_ENDPOINT: undefined, MONGO_PITR_CONFIG: undefined };
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function oneLine(result: { code: number | null; stdout: string; stderr: string }, code: number): string {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, '');
  const lines = result.stderr.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 1, JSON.stringify(result.stderr));
  return lines[0] ?? '';
}

describe('inputs that look right but are not', () => {
  test('--endpoint without a scheme names the URL to write', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mongo-pitr-inputs-'));
    const line = oneLine(cli(['list', '--store', 's3://bucket/x', '--endpoint', '127.0.0.1:9000'], cwd), ExitCode.usage);
    assert.match(line, /--endpoint 127\.0\.0\.1:9000: not an http:\/\/ or https:\/\/ URL \(e\.g\. http:\/\/127\.0\.0\.1:9000\)/);
    // "localhost:9000" parses as a URL whose scheme is "localhost:": refused too.
    assert.match(oneLine(cli(['list', '--store', 's3://bucket/x', '--endpoint', 'localhost:9000'], cwd), ExitCode.usage), /http:\/\/localhost:9000/);
  });

  test('--store bucket/x (no s3://) is refused, not made a local folder', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mongo-pitr-inputs-'));
    const line = oneLine(cli(['backup', '--store', 'bucket/x', '--uri', 'mongodb://127.0.0.1:1/'], cwd), ExitCode.usage);
    assert.match(line, /--store bucket\/x: .*reads like a bucket \(write s3:\/\/bucket\/x for a bucket, or \.\/bucket\/x for a new folder here\)/);
    assert.equal(existsSync(join(cwd, 'bucket')), false, 'no folder created');
  });

  test('status on a folder that does not exist says so and does not create it', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mongo-pitr-inputs-'));
    const missing = join(cwd, 'typo', 'store');
    const line = oneLine(cli(['status', '--store', missing], cwd), ExitCode.store);
    assert.match(line, /no store at .*typo\/store: the folder does not exist/);
    assert.equal(existsSync(join(cwd, 'typo')), false);
    assert.equal(existsSync(join(cwd, 'mongo-pitr-backups')), false);
    oneLine(cli(['list'], cwd), ExitCode.store);
    assert.equal(existsSync(join(cwd, 'mongo-pitr-backups')), false, 'the default store is not created by list either');
  });

  test('--until 12:01 is refused, not read as second 12 of 1970', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mongo-pitr-inputs-'));
    const line = oneLine(cli(['restore', '--store', cwd, '--dry-run', '--until', '12:01'], cwd), ExitCode.usage);
    assert.match(line, /--until 12:01: a time of day has no date or zone \(give both, e\.g\. 2026-11-30T12:01:00Z/);
  });
});
