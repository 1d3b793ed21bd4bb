// Exit codes and error lines, as a user or a scheduler sees them: bin/mongo-pitr run as a child
// process against real servers, one failure class at a time. Every failure must print exactly
// one line on stderr, nothing on stdout, no password, exit with its class's code, and leave the
// manifest byte for byte as it was.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { describe, test, before, after } from 'node:test';
import { MongoClient } from 'mongodb';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { ManifestCommitter, readManifest } from '../../src/backup/commit.ts';
import { MANIFEST_KEY } from '../../src/archive/object-keys.ts';
import { addChain, type Chain } from '../../src/archive/manifest.ts';
import { reportError } from '../../src/cli/output.ts';
import { ConflictError, ExitCode, exitCodeOf } from '../../src/errors.ts';
import { connectSource } from '../../src/source/connect-source.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/store.ts';
import { compareTs, tsFromBson } from '../../src/timestamp.ts';
import { startFerretDB, type FerretDB } from '../servers/ferretdb.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, NO_S3, isFerretDB, testS3, uniqueName } from '../support/test-env.ts';

const PASSWORD = 's3cret';

/** The shape every failure must have; returns the one stderr line. */
function assertFailure(result: CliResult, code: number, secrets: readonly string[] = [PASSWORD]): string {
  const lines = result.stderr.split('\n');
  assert.equal(lines.pop(), '', `stderr ends with a newline: ${JSON.stringify(result.stderr)}`);
  assert.equal(lines.length, 1, `exactly one stderr line, got: ${JSON.stringify(result.stderr)}`);
  assert.equal(result.code, code, `exit code ${code} expected: ${result.stderr}`);
  assert.equal(result.stdout, '', 'nothing on stdout');
  for (const secret of secrets) assert.ok(!result.stderr.includes(secret), `no secret in: ${result.stderr}`);
  return lines[0] ?? '';
}

async function manifestBytes(store: Store): Promise<Buffer | null> {
  if (!(await store.stat(MANIFEST_KEY))) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(MANIFEST_KEY)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A folder store holding a manifest (empty of chains), for failures that need no backup. */
async function folderWithManifest(): Promise<{ store: Store; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-errors-'));
  const store = await openStore(dir);
  await store.check();
  await (await ManifestCommitter.open(store)).commit((manifest) => manifest);
  return { store, dir };
}

/** Runs the CLI and checks the manifest did not change. */
async function runUnchanged(store: Store, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const before = await manifestBytes(store);
  assert.ok(before, 'the store has a manifest to protect');
  const result = await runCli(args, env);
  assert.deepEqual(await manifestBytes(store), before, 'manifest byte-identical after the failure');
  return result;
}

describe('usage errors exit 2 with one line', () => {
  let store: Store;
  let dir: string;
  before(async () => ({ store, dir } = await folderWithManifest()));
  after(async () => store?.close());

  test('unknown command', async () => {
    const line = assertFailure(await runUnchanged(store, ['frobnicate', '--store', dir]), ExitCode.usage);
    assert.match(line, /unknown command 'frobnicate'/);
  });

  test('unknown flag', async () => {
    const line = assertFailure(await runUnchanged(store, ['list', '--store', dir, '--frobnicate']), ExitCode.usage);
    assert.match(line, /unknown option '--frobnicate'/);
  });

  test('--until garbage', async () => {
    const args = ['restore', '--store', dir, '--to', `mongodb://u:${PASSWORD}@127.0.0.1:1/`, '--until', 'garbage'];
    const line = assertFailure(await runUnchanged(store, args), ExitCode.usage);
    assert.match(line, /--until garbage/);
  });

  test('restore without --to', async () => {
    const line = assertFailure(await runUnchanged(store, ['restore', '--store', dir]), ExitCode.usage);
    assert.match(line, /--to/);
  });

  test('--store ftp://x', async () => {
    const line = assertFailure(await runCli(['list', '--store', 'ftp://x']), ExitCode.usage);
    assert.match(line, /unsupported store URL scheme "ftp:"/);
  });

  test('prune without --keep, and find with a bad filter', async () => {
    assertFailure(await runUnchanged(store, ['prune', '--store', dir]), ExitCode.usage);
    assertFailure(await runUnchanged(store, ['find', '--store', dir, '{"op":"x"}']), ExitCode.usage);
    assertFailure(await runUnchanged(store, ['restore', '--store', dir, '--dry-run', '--before-first', '{"from":"1:0"}']), ExitCode.usage);
  });
});

describe('source errors exit 3 with one line', () => {
  let store: Store;
  let dir: string;
  let standalone: FerretDB | undefined;
  before(async () => ({ store, dir } = await folderWithManifest()));
  after(async () => {
    await standalone?.stop();
    await store?.close();
  });

  test('a closed loopback port, with a password in the URI', async () => {
    const uri = `mongodb://u:${PASSWORD}@127.0.0.1:1/?serverSelectionTimeoutMS=500`;
    const started = Date.now();
    const line = assertFailure(await runUnchanged(store, ['oplog', '--store', dir, '--uri', uri]), ExitCode.source);
    assert.match(line, /cannot reach the source mongodb:\/\/u:\*\*\*@127\.0\.0\.1:1/);
    assert.ok(Date.now() - started < 8000, 'the URI\'s serverSelectionTimeoutMS is honoured');
  });

  const noBin = process.env.TEST_FERRETDB_BIN ? false : 'needs the FerretDB binary (TEST_FERRETDB_BIN) to start a standalone server';
  test('a standalone server', { skip: noBin }, async () => {
    standalone = await startFerretDB(process.env.TEST_FERRETDB_BIN ?? '', undefined, { standalone: true });
    const line = assertFailure(await runUnchanged(store, ['oplog', '--store', dir, '--uri', standalone.uri]), ExitCode.source);
    assert.match(line, /is a standalone server/);
  });
});

describe('store errors exit 4 with one line and a kind', { skip: NO_S3 }, () => {
  const s3 = testS3();
  const s3Args = (url: string): string[] => ['--store', url, '--endpoint', s3?.endpoint ?? '', '--region', s3?.region ?? ''];
  const goodEnv = { AWS_ACCESS_KEY_ID: s3?.accessKeyId, AWS_SECRET_ACCESS_KEY: s3?.secretAccessKey };

  test('a bucket that does not exist', async () => {
    const url = `s3://${uniqueName('no-such-bucket').replace(/_/g, '-')}/backups`;
    const text = assertFailure(await runCli(['list', ...s3Args(url)], goodEnv), ExitCode.store);
    assert.match(text, /NoSuchBucket/);
    const json = JSON.parse(assertFailure(await runCli(['list', '--json', ...s3Args(url)], goodEnv), ExitCode.store)) as Record<string, unknown>;
    assert.equal(json.kind, 'no-bucket');
    assert.equal(json.exitCode, ExitCode.store);
  });

  test('wrong credentials', async () => {
    const kind = STORE_KINDS.find((candidate) => candidate.name === 's3');
    assert.ok(kind);
    const { store, url } = await kind.open();
    try {
      await (await ManifestCommitter.open(store)).commit((manifest) => manifest);
      const wrongSecret = 'wrong-secret-access-key-0123456789';
      const env = { ...goodEnv, AWS_SECRET_ACCESS_KEY: wrongSecret };
      const result = await runUnchanged(store, ['list', '--json', ...s3Args(url)], env);
      const json = JSON.parse(assertFailure(result, ExitCode.store, [PASSWORD, wrongSecret, s3?.secretAccessKey ?? ''])) as Record<string, unknown>;
      assert.equal(json.kind, 'bad-credentials');
    } finally {
      await store.close();
    }
  });
});

// The base backs up the whole server: a server of this suite's own (on FerretDB), so that other
// files' databases, created and dropped while it runs, are neither dumped nor raced with.
describe('integrity errors exit 6 and leave the target untouched', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();
  let source: Awaited<ReturnType<typeof connectSource>>;
  let client: MongoClient;
  let store: Store;
  let corruptDir: string;
  const db = uniqueName('errs');

  before(async () => {
    client = server.client();
    source = await connectSource(server.mongo().uri);
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-errors-'));
    const good = await openStore(dir);
    await good.check();
    const docs = client.db(db).collection<{ _id: number; n: number }>('docs');
    await docs.insertMany([1, 2, 3].map((n) => ({ _id: n, n })));
    await backupBase({ source, store: good });
    await docs.insertMany([4, 5, 6].map((n) => ({ _id: n, n })));
    const archived = await backupOplog({ source, store: good });
    assert.ok(archived.chunks >= 1, 'a chunk to corrupt');
    await good.close();
    // Flip one byte in the middle of the chunk, in a copy of the store.
    corruptDir = await mkdtemp(join(tmpdir(), 'mongo-pitr-corrupt-'));
    await cp(dir, corruptDir, { recursive: true });
    store = await openStore(corruptDir);
    const { manifest } = await readManifest(store);
    const chunk = manifest.chains[0]?.chunks[0];
    assert.ok(chunk);
    const file = join(corruptDir, ...chunk.key.split('/'));
    const bytes = await readFile(file);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
  });
  after(async () => {
    await store?.close();
    await source?.client.close();
  });

  test('verify exits 6', async () => {
    const line = assertFailure(await runUnchanged(store, ['verify', '--store', corruptDir]), ExitCode.integrity);
    assert.match(line, /integrity error: chunks\/.* is corrupt/);
  });

  test('restore exits 6 before writing anything to the target', async () => {
    const restored = uniqueName('restored');
    // --quiet: progress lines (the plan) would share stderr with the error line.
    const args = ['restore', '--quiet', '--store', corruptDir, '--to', server.mongo().uri, '--nsInclude', `${db}.*`, '--nsFrom', `${db}.*`, '--nsTo', `${restored}.*`];
    const line = assertFailure(await runUnchanged(store, args), ExitCode.integrity);
    assert.match(line, /is corrupt/);
    const { databases } = await client.db('admin').admin().listDatabases();
    assert.ok(!databases.some((entry) => entry.name === restored), 'the target database does not exist');
  });

  test('find exits 6 on the corrupt chunk', async () => {
    // _id 5 was written after the base: only the corrupt chunk holds it, so nothing is printed.
    const args = ['find', '--store', corruptDir, '--ns', `${db}.docs`, '--id', '5'];
    const line = assertFailure(await runUnchanged(store, args), ExitCode.integrity);
    assert.match(line, /corrupt/);
  });
});

const NO_OWN_FERRETDB = isFerretDB() && process.env.TEST_FERRETDB_BIN ? false : 'needs a FerretDB of its own with a tiny oplog (TEST_FERRETDB_BIN)';

describe('an oplog that rolled over past the checkpoint exits 5', { skip: NO_MONGO || NO_OWN_FERRETDB }, () => {
  const server = useDedicatedMongo({ oplogBytes: 64 * 1024 });

  test('oplog after a rollover', async () => {
    const [mongo, client] = [server.mongo(), server.client()];
    assert.ok(mongo.own, 'a server of our own, with the small oplog');
    const { store, dir } = await folderWithManifest();
    try {
      const docs = client.db('roll').collection<{ _id: number; pad?: string }>('docs');
      await docs.insertMany([1, 2, 3].map((n) => ({ _id: n })));
      const source = await connectSource(mongo.uri);
      try {
        await backupBase({ source, store });
      } finally {
        await source.client.close();
      }
      const { manifest } = await readManifest(store);
      const checkpoint = manifest.chains[0]?.base.oplog.lastTs;
      assert.ok(checkpoint);
      // ~300 KiB of oplog into 64 KiB: FerretDB trims the oldest entries, the checkpoint first.
      await docs.insertMany(Array.from({ length: 1000 }, (_, n) => ({ _id: 100 + n, pad: 'x'.repeat(200) })));
      const oplog = client.db('local').collection('oplog.rs');
      const deadline = Date.now() + 60_000;
      for (;;) {
        const oldest = await oplog.find().sort({ $natural: 1 }).limit(1).next();
        if (oldest && compareTs(tsFromBson(oldest.ts), checkpoint) > 0) break;
        assert.ok(Date.now() < deadline, 'the oplog rolled over within a minute');
        await sleep(250);
      }
      const line = assertFailure(await runUnchanged(store, ['oplog', '--store', dir, '--uri', mongo.uri]), ExitCode.gap);
      assert.match(line, /oplog-gap error: oplog gap: checkpoint \d+:\d+ is no longer in the source oplog/);
    } finally {
      await store.close();
    }
  });
});

/** A chain record with no objects behind it: enough for a commit race. */
function emptyChain(id: string): Chain {
  const at = { t: 1, i: 1 };
  const oplog = { key: `bases/${id}/oplog.bson.gz`, rawBytes: 0, storedBytes: 0, sha256: '', firstTs: at, lastTs: at, firstWall: null, lastWall: null, count: 0 };
  const now = new Date().toISOString();
  return {
    id,
    source: { setName: 'rs0', replicaSetId: null },
    base: { id, startTs: at, endTs: at, startedAt: now, finishedAt: now, collections: [], oplog, commitPoint: 'lastWritten' },
    chunks: [],
  };
}

for (const kind of STORE_KINDS) {
  test(`two concurrent commits on the ${kind.name} store: the second is a conflict, exit 7`, { skip: kind.skip }, async () => {
    const { store } = await kind.open();
    try {
      await (await ManifestCommitter.open(store)).commit((manifest) => manifest);
      const first = await ManifestCommitter.open(store);
      const second = await ManifestCommitter.open(store);
      // Different manifests: S3 etags are content hashes, so identical bytes would not race.
      await first.commit((manifest) => addChain(manifest, emptyChain('first')));
      const written = await manifestBytes(store);
      const error = await second.commit((manifest) => addChain(manifest, emptyChain('second'))).then(
        () => assert.fail('the second commit must lose'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof ConflictError);
      assert.equal(exitCodeOf(error), ExitCode.conflict);
      let printed = '';
      const sink = new Writable({ write: (chunk, _encoding, done) => void ((printed += String(chunk)), done()) });
      assert.equal(reportError(error, false, sink), ExitCode.conflict);
      assert.equal(printed.split('\n').length, 2, `one line: ${printed}`);
      assert.match(printed, /^mongo-pitr: conflict error: /);
      assert.deepEqual(await manifestBytes(store), written, 'the winner\'s manifest stands, byte for byte');
    } finally {
      await store.close();
    }
  });
}
