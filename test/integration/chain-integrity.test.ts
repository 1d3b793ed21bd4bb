// Archiving never extends a broken chain: the CLI against a real folder store whose objects are
// deleted, truncated or altered behind its back, and a manifest copied to another store. Each
// pass lists the chain's objects (presence and size), and reads them back and hashes them when
// the last full verify is older than --verify-every; a damaged chain is marked in the manifest,
// the pass exits 6 with one line naming the object, `run` starts a new chain at once, and
// status shows how far the damaged chain still restores.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readManifest } from '../../src/backup/commit.ts';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { connectSource } from '../../src/source/connect-source.ts';
import { ExitCode } from '../../src/errors.ts';
import { openStore } from '../../src/store/open-store.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

function errorLine(result: CliResult): string {
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('mongo-pitr:'));
  assert.equal(lines.length, 1, result.stderr);
  return lines[0] ?? '';
}

describe('a pass never extends a damaged chain', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();

  /** A folder store with a base and two chunks of `db`. */
  async function chainWithChunks(): Promise<{ dir: string; db: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-integrity-'));
    const db = uniqueName('integrity');
    const docs = server.client().db(db).collection<{ _id: number }>('docs');
    await docs.insertMany([{ _id: 1 }, { _id: 2 }]);
    // Built in-process (faster than three CLI runs); the runs under test are the CLI's.
    const store = await openStore(dir);
    const source = await connectSource(server.mongo().uri);
    try {
      await store.check();
      await backupBase({ source, store });
      for (const id of [3, 4]) {
        await docs.insertOne({ _id: id });
        assert.equal((await backupOplog({ source, store })).chunks, 1);
      }
    } finally {
      await source.client.close();
      await store.close();
    }
    return { dir, db };
  }

  async function manifestOf(dir: string) {
    const store = await openStore(dir);
    try {
      return (await readManifest(store)).manifest;
    } finally {
      await store.close();
    }
  }

  test('a deleted chunk: oplog exits 6 naming it, the chain is marked and not extended, status shows where it still restores', async () => {
    const { dir, db } = await chainWithChunks();
    const before = await manifestOf(dir);
    const chunks = before.chains[0]?.chunks ?? [];
    assert.ok(chunks.length >= 2);
    const victim = chunks[1];
    assert.ok(victim);
    await rm(join(dir, ...victim.key.split('/')));
    await server.client().db(db).collection<{ _id: number }>('docs').insertOne({ _id: 5 });

    const result = await runCli(['--store', dir, 'oplog', '--uri', server.mongo().uri]);
    assert.equal(result.code, ExitCode.integrity, result.stderr);
    assert.match(errorLine(result), new RegExp(`integrity error: chain .* is damaged: ${victim.key} is missing`));
    const after = await manifestOf(dir);
    assert.equal(after.chains[0]?.chunks.length, chunks.length, 'not extended');
    assert.equal(after.chains[0]?.damage?.key, victim.key);

    const again = await runCli(['--store', dir, 'oplog', '--uri', server.mongo().uri]);
    assert.equal(again.code, ExitCode.integrity, 'still refused on the next pass');
    const status = await runCli(['--store', dir, 'status', '--verbose']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`health: damaged: ${victim.key} is missing.*restorable up to .* UTC.* \\[${chunks[0]?.lastTs.t}:${chunks[0]?.lastTs.i}\\]; no longer extended`));
  });

  test('a truncated base object: run exits 6 naming it and starts a new chain at once; the old one is unrestorable', async () => {
    const { dir } = await chainWithChunks();
    const before = await manifestOf(dir);
    const oplogKey = before.chains[0]?.base.oplog.key ?? '';
    await truncate(join(dir, ...oplogKey.split('/')), 10);

    const result = await runCli(['--store', dir, 'run', '--uri', server.mongo().uri]);
    assert.equal(result.code, ExitCode.integrity, result.stderr);
    assert.match(errorLine(result), new RegExp(`${oplogKey} is 10 bytes, the manifest says \\d+; new base .* started a new chain`));
    const after = await manifestOf(dir);
    assert.equal(after.chains.length, 2, 'a new chain');
    assert.equal(after.chains[0]?.damage?.key, oplogKey);
    assert.equal(after.chains[1]?.damage, undefined);
    const status = await runCli(['--store', dir, 'list']);
    assert.match(status.stdout, /health: ok, .*; 1 older chain damaged \(below\)/);
    assert.match(status.stdout, /^ {6}damaged: .* not restorable; no longer extended$/m);
    // The new chain is extended as usual.
    const next = await runCli(['--store', dir, 'run', '--uri', server.mongo().uri]);
    assert.equal(next.code, 0, next.stderr);
  });

  test('a flipped byte (same size) is found by the full verify once --verify-every has passed, not by the cheap listing', async () => {
    const { dir, db } = await chainWithChunks();
    const manifest = await manifestOf(dir);
    assert.ok(manifest.chains[0]?.verifiedAt, 'the first pass verified the whole chain and recorded it');
    const chunk = manifest.chains[0]?.chunks[0];
    assert.ok(chunk);
    const file = join(dir, ...chunk.key.split('/'));
    const bytes = await readFile(file);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    await server.client().db(db).collection<{ _id: number }>('docs').insertOne({ _id: 6 });

    const cheap = await runCli(['--store', dir, 'oplog', '--uri', server.mongo().uri]);
    assert.equal(cheap.code, 0, 'verified within the day: only the listing, which the size passes');
    const full = await runCli(['--store', dir, 'oplog', '--uri', server.mongo().uri, '--verify-every', '0s']);
    assert.equal(full.code, ExitCode.integrity, full.stderr);
    assert.match(errorLine(full), new RegExp(`${chunk.key} has sha256`));
  });

  test('a manifest copied to another store is refused for writing until adopted', async () => {
    const { dir } = await chainWithChunks();
    const copy = await mkdtemp(join(tmpdir(), 'mongo-pitr-copy-'));
    await cp(join(dir, 'manifest.json'), join(copy, 'manifest.json'));
    const refused = await runCli(['--store', copy, 'oplog', '--uri', server.mongo().uri]);
    assert.equal(refused.code, ExitCode.integrity, refused.stderr);
    assert.match(errorLine(refused), /manifest.json was written for file:\/\/.*, not for this store/);
    // Reading it is fine.
    assert.equal((await runCli(['--store', copy, 'status'])).code, 0);
    // Adopted, the manifest's objects are looked for here, and are not here.
    const adopted = await runCli(['--store', copy, '--adopt-manifest', 'oplog', '--uri', server.mongo().uri]);
    assert.equal(adopted.code, ExitCode.integrity, adopted.stderr);
    assert.match(errorLine(adopted), /is damaged: bases\/.* is missing from the store/);

    // A whole copy, adopted, goes on as before.
    const whole = await mkdtemp(join(tmpdir(), 'mongo-pitr-copy-'));
    await cp(dir, whole, { recursive: true });
    const moved = await runCli(['--store', whole, '--adopt-manifest', 'oplog', '--uri', server.mongo().uri]);
    assert.equal(moved.code, 0, moved.stderr);
  });
});
