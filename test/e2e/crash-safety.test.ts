// Crash safety, for real: the backup process is SIGKILLed in the middle of a multipart chunk
// upload and in the middle of a base dump. The next run continues from the last committed
// checkpoint, and the archived chain then holds every op exactly once, in order. A SIGTERM in the
// middle of a base dump stops it between commits: exit 143, one line, and the next backup resumes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { readManifest } from '../../src/backup/commit.ts';
import { finished, onJsonLines, runCli, spawnCli } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, NO_S3, testS3, uniqueName } from '../support/test-env.ts';
import { archivedInsertIds } from '../support/chain-reader.ts';
import { waitFor } from '../support/wait-for.ts';

describe('SIGKILL in the middle of a multipart chunk upload (S3 store)', { skip: NO_MONGO || NO_S3 }, () => {
  const server = useDedicatedMongo();

  test('the next run resumes from the last committed chunk; every op exactly once', async () => {
    const kind = STORE_KINDS[1];
    assert.ok(kind);
    const { store, url, cliArgs, env } = await kind.open();
    const s3 = testS3();
    const s3Client = new S3Client({ endpoint: s3?.endpoint, region: s3?.region, forcePathStyle: true,
      credentials: { accessKeyId: s3?.accessKeyId ?? '', secretAccessKey: s3?.secretAccessKey ?? '' } });
    const prefix = url.replace(/^s3:\/\/[^/]+\//, '');
    try {
      const db = uniqueName('crash');
      const ns = `${db}.docs`;
      const docs = server.client().db(db).collection<{ _id: number; payload: string }>('docs');
      await docs.insertOne({ _id: -1, payload: 'before the base' });
      const uri = server.mongo().uri;
      const base = await runCli([...cliArgs, 'backup', '--uri', uri], env);
      assert.equal(base.code, 0, base.stderr);

      // ~42 MB of hardly compressible oplog (~1.3 KB an entry): two whole 16 MiB chunks and a
      // part of a third, each gzipped to more than one 8 MiB part, so a multipart upload. The kill
      // below always lands in the second chunk (the first to start after a commit), so chunks
      // past the third would only add time: 60,000 entries (~80 MB) killed at the same point.
      const count = 32_000;
      for (let start = 0; start < count; start += 1000) {
        await docs.insertMany(Array.from({ length: 1000 }, (_, n) => ({ _id: start + n, payload: randomBytes(900).toString('base64') })));
      }
      const child = spawnCli(['--json', ...cliArgs, 'oplog', '--uri', uri, '--chunk-size', '16'], env);
      const exited = finished(child);
      // The run says which chunk it is writing; kill it once one chunk is committed and the
      // next one's multipart upload is open. (MinIO lists multipart uploads by exact key.)
      const events: { type: string; key?: string }[] = [];
      onJsonLines(child.stderr, (event) => events.push(event as { type: string; key?: string }));
      await waitFor('a committed chunk, then the next chunk\'s multipart upload in flight', async () => {
        const committedAt = events.findIndex((event) => event.type === 'oplog.chunk');
        const next = committedAt < 0 ? undefined : events.slice(committedAt).find((event) => event.type === 'oplog.chunk-start');
        if (!next?.key) return false;
        const key = `${prefix}/${next.key}`;
        const uploads = await s3Client.send(new ListMultipartUploadsCommand({ Bucket: s3?.bucket, Prefix: key }));
        return (uploads.Uploads ?? []).some((upload) => upload.Key === key);
      });
      child.kill('SIGKILL');
      assert.equal((await exited).signal, 'SIGKILL');
      const { manifest: afterKill } = await readManifest(store);
      const committed = afterKill.chains[0]?.chunks.length ?? 0;
      assert.ok(committed >= 1);

      const resumed = await runCli([...cliArgs, 'oplog', '--uri', uri, '--chunk-size', '16'], env);
      assert.equal(resumed.code, 0, resumed.stderr);
      const { manifest } = await readManifest(store);
      assert.ok((manifest.chains[0]?.chunks.length ?? 0) > committed, 'the next run added chunks after the last committed one');
      const ids = await archivedInsertIds(store, ns);
      // The base's consistency oplog starts at T0, the insert of -1; then every insert once.
      assert.deepEqual(ids, [-1, ...Array.from({ length: count }, (_, n) => n)]);
    } finally {
      s3Client.destroy();
      await store.close();
    }
  });
});

describe('a base dump stopped by a signal (folder store)', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();

  /**
   * 8 collections of 3,000 documents of ~800 bytes: a dump long enough to stop in the middle.
   * The signal is sent within a poll (25 ms) of the first collection landing; the other seven,
   * ~17 MB to read, gzip and write one at a time (--concurrency 1), take far longer than that
   * even on a fast machine, so the stop always falls mid-base, as it did with 6,000 each.
   * Seeded once for both tests (each backs up into a store of its own); neither test writes to
   * this database, so they pass in either order.
   */
  const DOCS = 3000;
  const db = uniqueName('dump');
  before(async () => {
    for (let c = 0; c < 8; c++) {
      const coll = server.client().db(db).collection<{ _id: number; payload: string }>(`c${c}`);
      for (let start = 0; start < DOCS; start += 1000) {
        await coll.insertMany(Array.from({ length: 1000 }, (_, n) => ({ _id: start + n, payload: randomBytes(600).toString('base64') })));
      }
    }
  });

  /** A folder store, and a `backup` of fresh collections sent `signal` once one collection is stored. */
  async function backupStoppedBy(signal: 'SIGTERM' | 'SIGKILL') {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store, url, cliArgs, env } = await kind.open();
    const child = spawnCli([...cliArgs, 'backup', '--uri', server.mongo().uri, '--concurrency', '1'], env);
    const exited = finished(child);
    await waitFor('the first collection stored', async () => {
      const entries = await readdir(join(url, 'bases'), { recursive: true }).catch(() => []);
      return entries.some((entry) => String(entry).endsWith('.bson.gz'));
    });
    child.kill(signal);
    return { store, cliArgs, env, stopped: await exited };
  }

  test('SIGTERM: exit 143 with one line, the base left pending, and the next backup finishes it', async () => {
    const { store, cliArgs, env, stopped } = await backupStoppedBy('SIGTERM');
    try {
      assert.equal(stopped.code, 143, stopped.stderr);
      // Progress lines come first (stderr is no TTY here); the error is the last, on one line.
      assert.match(stopped.stderr.trim().split('\n').at(-1) ?? '', /^mongo-pitr: interrupted error: base backup stopped with \d+ collections stored; the next backup or run resumes it \(SIGTERM\)$/);
      const { manifest: afterStop } = await readManifest(store);
      assert.equal(afterStop.chains.length, 0, 'no chain names a half-made base');
      const pending = afterStop.pendingBases?.[0];
      assert.ok(pending && pending.collections.length >= 1, 'the stored collections are recorded for the next run');

      const resumed = await runCli([...cliArgs, 'backup', '--uri', server.mongo().uri], env);
      assert.equal(resumed.code, 0, resumed.stderr);
      const { manifest } = await readManifest(store);
      assert.equal(manifest.chains.length, 1);
      assert.deepEqual(manifest.pendingBases ?? [], []);
      const ours = manifest.chains[0]?.base.collections.filter((entry) => entry.db === db) ?? [];
      assert.equal(ours.length, 8);
      assert.ok(ours.every((entry) => entry.docs === DOCS));
      assert.equal(manifest.chains[0]?.id, pending.id, 'the pending base was resumed, not started over');
    } finally {
      await store.close();
    }
  });

  test('SIGKILL: nothing half-made is visible; the next run takes a complete base and archives on', async () => {
    const { store, cliArgs, env, stopped } = await backupStoppedBy('SIGKILL');
    try {
      assert.equal(stopped.signal, 'SIGKILL');
      const { manifest: afterKill } = await readManifest(store);
      assert.equal(afterKill.chains.length, 0, 'no chain names a half-made base');

      const run = await runCli([...cliArgs, 'run', '--uri', server.mongo().uri], env);
      assert.equal(run.code, 0, run.stderr);
      // The op after the base goes to a database of this test's own: the seeded one stays as seeded.
      const after = `${db}_after`;
      const docs = server.client().db(after).collection<{ _id: number }>('c0');
      await docs.insertOne({ _id: 100_000 });
      const next = await runCli([...cliArgs, 'run', '--uri', server.mongo().uri], env);
      assert.equal(next.code, 0, next.stderr);
      const { manifest } = await readManifest(store);
      assert.equal(manifest.chains.length, 1);
      const chain = manifest.chains[0];
      assert.ok(chain);
      assert.equal(chain.base.collections.filter((entry) => entry.db === db).length, 8);
      assert.ok(chain.base.collections.filter((entry) => entry.db === db).every((entry) => entry.docs === DOCS));
      const ids = await archivedInsertIds(store, `${after}.c0`);
      assert.deepEqual(ids, [100_000], 'the op after the base archived exactly once');
    } finally {
      await store.close();
    }
  });
});
