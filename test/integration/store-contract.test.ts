// One contract for the Store interface, run against every implementation: the folder store in a
// temporary directory and the S3 store on MinIO (or the given endpoint) under a random prefix.
// After it come the cases only one backend has: S3 credentials and buckets, the folder store's layout, and
// the pure parsing of store URLs.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { PitrError, StoreError, UsageError, type StoreErrorKind } from '../../src/errors.ts';
import { FOLDER_TEMP_DIR, FolderStore } from '../../src/store/folder-store.ts';
import { DEFAULT_STORE_URL, openStore, parseStoreUrl } from '../../src/store/open-store.ts';
import { RetryingStore } from '../../src/store/retrying-store.ts';
import { S3Store } from '../../src/store/s3-store.ts';
import type { Store } from '../../src/store/store.ts';
import { NO_S3, testS3, uniqueName } from '../support/test-env.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const PART_SIZE_BYTES = 5 * MiB;
const CONCURRENT_WRITERS = 8;

/** How one backend is set up for the contract, and how it shows leftovers of a failed put. */
interface Backend {
  readonly name: string;
  readonly skip: string | false;
  open(): Promise<Store>;
  /** Names of unfinished uploads or temporary files a failed put of `key` may have left. */
  leftovers(store: Store, key: string): Promise<string[]>;
  cleanup(store: Store): Promise<void>;
}

const folderBackend = (): Backend => {
  let dir = '';
  return {
    name: 'folder store',
    skip: false,
    async open() {
      dir = await mkdtemp(join(tmpdir(), 'store-contract-'));
      // A root that does not exist yet: check() creates it.
      return openStore(join(dir, 'nested', 'backups'));
    },
    async leftovers(store) {
      const names = await readdir(join((store as FolderStore).rootDir, FOLDER_TEMP_DIR)).catch(() => []);
      return names.filter((name) => name.endsWith('.tmp'));
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
};

const s3Backend = (): Backend => {
  const s3 = testS3();
  const prefix = `${uniqueName('store-contract')}/`;
  const connection = {
    endpoint: s3?.endpoint,
    region: s3?.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3?.accessKeyId ?? '', secretAccessKey: s3?.secretAccessKey ?? '' },
  };
  return {
    name: 'S3 store',
    skip: NO_S3,
    open: () => openStore(`s3://${s3?.bucket}/${prefix}`, { ...connection, partSizeBytes: PART_SIZE_BYTES, queueSize: 2 }),
    async leftovers(_store, key) {
      const client = new S3Client(connection);
      try {
        const output = await client.send(new ListMultipartUploadsCommand({ Bucket: s3?.bucket, Prefix: prefix + key }));
        return (output.Uploads ?? []).map((upload) => `${upload.Key} (${upload.UploadId})`);
      } finally {
        client.destroy();
      }
    },
    async cleanup(store) {
      for await (const object of store.list('')) await store.delete(object.key);
    },
  };
};

for (const backend of [folderBackend(), s3Backend()]) {
  describe(`Store contract: ${backend.name}`, { skip: backend.skip }, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.check();
    });
    after(async () => {
      if (!store) return;
      await backend.cleanup(store);
      await store.close();
    });

    it('round-trips a Buffer', async () => {
      const key = `${uniqueName('put')}/buffer.bin`;
      const bytes = randomBytes(1000);
      const result = await store.put(key, bytes);
      assert.deepEqual({ key: result.key, size: result.size }, { key, size: 1000 });
      assert.deepEqual(await readAll(await store.get(key)), bytes);
      assert.equal((await store.stat(key))?.etag, result.etag);
    });

    it('round-trips a stream, counting its bytes', async () => {
      const key = `${uniqueName('put')}/stream.bin`;
      const body = generatedBody(300 * KiB, 64 * KiB);
      const result = await store.put(key, body.stream);
      assert.equal(result.size, 300 * KiB);
      assert.equal(sha256(await readAll(await store.get(key))), body.sha256());
    });

    it('round-trips an empty object', async () => {
      const key = `${uniqueName('put')}/empty`;
      assert.equal((await store.put(key, Readable.from([]))).size, 0);
      assert.equal((await readAll(await store.get(key))).length, 0);
      assert.equal((await store.stat(key))?.size, 0);
    });

    it('streams a put larger than one part and keeps every byte', async () => {
      const key = `${uniqueName('put')}/big.bin`;
      const body = generatedBody(11 * MiB, 64 * KiB);
      const result = await store.put(key, body.stream);
      assert.equal(result.size, 11 * MiB);
      assert.equal((await store.stat(key))?.size, 11 * MiB);
      assert.equal(sha256(await readAll(await store.get(key))), body.sha256());
    });

    it('stats size, etag and time, and null for a missing key', async () => {
      const key = `${uniqueName('stat')}/object`;
      assert.equal(await store.stat(key), null);
      const first = await store.put(key, Buffer.from('first'));
      const info = await store.stat(key);
      assert.equal(info?.key, key);
      assert.equal(info?.size, 5);
      assert.equal(info?.etag, first.etag);
      assert.ok(info?.lastModified instanceof Date && Math.abs(info.lastModified.getTime() - Date.now()) < 60_000);
      const second = await store.put(key, Buffer.from('other'));
      assert.notEqual(second.etag, first.etag, 'a rewrite with other bytes of the same size changes the etag');
      assert.equal((await store.stat(key))?.etag, second.etag);
    });

    it('lists in ascending key order, filtered by prefix', async () => {
      const base = `${uniqueName('list')}/`;
      const keys = ['b/c', 'a', 'b-d', 'c/d/e', 'b0', 'ab'].map((name) => base + name);
      for (const key of keys) await store.put(key, Buffer.from(key));
      const all = await listAll(store, base);
      // S3's order, UTF-8 bytes: "-" < "/" < "0", so "b-d" < "b/c" < "b0".
      assert.deepEqual(all.map((object) => object.key), ['a', 'ab', 'b-d', 'b/c', 'b0', 'c/d/e'].map((name) => base + name));
      assert.deepEqual((await listAll(store, `${base}b`)).map((object) => object.key), ['b-d', 'b/c', 'b0'].map((name) => base + name));
      assert.deepEqual((await listAll(store, `${base}b/`)).map((object) => object.key), [`${base}b/c`]);
      assert.deepEqual(await listAll(store, `${base}nothing/`), []);
      const listed = all.find((object) => object.key === `${base}ab`);
      const stated = await store.stat(`${base}ab`);
      assert.deepEqual({ size: listed?.size, etag: listed?.etag }, { size: stated?.size, etag: stated?.etag });
    });

    it('deletes, and deleting a missing key is fine', async () => {
      const key = `${uniqueName('delete')}/object`;
      await store.put(key, Buffer.from('bye'));
      await store.delete(key);
      assert.equal(await store.stat(key), null);
      await store.delete(key);
      await store.delete(`${uniqueName('delete')}/never-written`);
    });

    it('fails get of a missing key with not-found', async () => {
      await assert.rejects(store.get(`${uniqueName('get')}/missing`), storeErrorOf('not-found'));
    });

    it('leaves no object when the body fails midway, and rethrows the body error', async () => {
      const key = `${uniqueName('fail')}/object`;
      const sourceError = new Error('source broke');
      await assert.rejects(store.put(key, failingBody(6 * MiB, sourceError)), (error) => error === sourceError);
      assert.equal(await store.stat(key), null);
      assert.deepEqual(await listAll(store, key), []);
      assert.deepEqual(await backend.leftovers(store, key), []);
    });

    it('leaves no object when the put is aborted', async () => {
      const key = `${uniqueName('abort')}/object`;
      const controller = new AbortController();
      const body = Readable.from(
        (async function* () {
          yield randomBytes(6 * MiB);
          controller.abort();
          yield randomBytes(64 * KiB);
        })(),
      );
      await assert.rejects(store.put(key, body, { signal: controller.signal }), { name: 'AbortError' });
      assert.equal(await store.stat(key), null);
      assert.deepEqual(await backend.leftovers(store, key), []);
    });

    it('rejects keys that are empty, absolute or escape their folder', async () => {
      for (const key of ['', '/abs', 'a/../b', 'a\\b', 'a//b', 'a/', './a']) {
        await assert.rejects(store.put(key, Buffer.from('x')), (error) => error instanceof PitrError && /invalid store key/.test(error.message), key);
      }
    });

    it('putIfMatch with null creates once; the second create fails', async () => {
      const key = `${uniqueName('cas')}/manifest`;
      const created = await store.putIfMatch(key, Buffer.from('one'), null);
      assert.equal((await store.stat(key))?.etag, created.etag);
      await assert.rejects(store.putIfMatch(key, Buffer.from('two'), null), storeErrorOf('precondition-failed'));
      assert.equal((await readAll(await store.get(key))).toString(), 'one');
    });

    it('putIfMatch replaces the version it names and refuses a stale one', async () => {
      const key = `${uniqueName('cas')}/manifest`;
      const v1 = await store.put(key, Buffer.from('v1'));
      const v2 = await store.putIfMatch(key, Buffer.from('v2'), v1.etag);
      assert.notEqual(v2.etag, v1.etag);
      await assert.rejects(store.putIfMatch(key, Buffer.from('v3'), v1.etag), storeErrorOf('precondition-failed'));
      assert.equal((await readAll(await store.get(key))).toString(), 'v2');
      await store.delete(key);
      await assert.rejects(store.putIfMatch(key, Buffer.from('v4'), v2.etag), storeErrorOf('precondition-failed'));
      assert.equal(await store.stat(key), null);
    });

    it(`lets exactly one of ${CONCURRENT_WRITERS} concurrent putIfMatch on one version win`, async () => {
      const key = `${uniqueName('race')}/manifest`;
      const base = await store.put(key, Buffer.from('base'));
      await assertOneWinner(store, key, base.etag);
    });

    it(`lets exactly one of ${CONCURRENT_WRITERS} concurrent creates win`, async () => {
      await assertOneWinner(store, `${uniqueName('race')}/manifest`, null);
    });
  });
}

describe('S3 store: bucket and credentials', { skip: NO_S3 }, () => {
  const s3 = testS3();
  const connection = { endpoint: s3?.endpoint, region: s3?.region, forcePathStyle: true };
  const credentials = { accessKeyId: s3?.accessKeyId ?? '', secretAccessKey: s3?.secretAccessKey ?? '' };

  it('check() fails with no-bucket for a bucket that does not exist', async () => {
    const bucket = uniqueName('no-such-bucket').replace('_', '-');
    const store = new S3Store({ bucket, prefix: 'x/' }, { ...connection, credentials });
    try {
      const error = await rejection(store.check());
      assert.ok(error instanceof StoreError && error.kind === 'no-bucket', String(error));
      assert.match(error.message, new RegExp(bucket));
      assert.doesNotMatch(error.message, /\n/);
      assert.ok(error.hint);
    } finally {
      await store.close();
    }
  });

  it('check() fails with bad-credentials for a wrong secret or key id, without echoing the secret', async () => {
    const wrongSecret = `wrong-${randomBytes(8).toString('hex')}`;
    for (const given of [
      { accessKeyId: credentials.accessKeyId, secretAccessKey: wrongSecret },
      { accessKeyId: uniqueName('nobody'), secretAccessKey: wrongSecret },
    ]) {
      const store = new S3Store({ bucket: s3?.bucket ?? '', prefix: '' }, { ...connection, credentials: given });
      try {
        const error = await rejection(store.check());
        assert.ok(error instanceof StoreError && error.kind === 'bad-credentials', String(error));
        assert.doesNotMatch(`${error.message} ${error.hint}`, new RegExp(wrongSecret));
        assert.doesNotMatch(error.message, /\n/);
      } finally {
        await store.close();
      }
    }
  });
});

describe('Folder store: layout', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'folder-store-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives every rewrite a new etag, even of the same bytes in the same clock tick', async () => {
    const store = new FolderStore(join(dir, 'etags'));
    const etags = new Set<string>();
    for (let n = 0; n < 20; n++) etags.add((await store.put('same', Buffer.from('same bytes'))).etag);
    assert.equal(etags.size, 20);
  });

  it('hides its temporary folder from list and reserves its name', async () => {
    const store = new FolderStore(join(dir, 'hidden'));
    await store.check();
    await writeFile(join(store.rootDir, FOLDER_TEMP_DIR, 'abandoned.tmp'), 'partial');
    await store.put('visible', Buffer.from('x'));
    assert.deepEqual((await listAll(store, '')).map((object) => object.key), ['visible']);
    await assert.rejects(store.put(`${FOLDER_TEMP_DIR}/x`, Buffer.from('x')), PitrError);
  });

  it('check() creates a missing folder and refuses a path that is a file', async () => {
    const created = new FolderStore(join(dir, 'a', 'b', 'c'));
    await created.check();
    assert.deepEqual(await readdir(created.rootDir), ['.mongo-pitr-tmp']);
    await mkdir(join(dir, 'parent'));
    await writeFile(join(dir, 'parent', 'file'), 'not a folder');
    await assert.rejects(new FolderStore(join(dir, 'parent', 'file')).check(), (error) => error instanceof StoreError && /not a directory/.test(error.message));
  });
});

describe('Store URLs', () => {
  it('parses s3 URLs into bucket and a prefix ending with "/"', () => {
    assert.deepEqual(parseStoreUrl('s3://bucket'), { kind: 's3', bucket: 'bucket', prefix: '' });
    assert.deepEqual(parseStoreUrl('s3://bucket/'), { kind: 's3', bucket: 'bucket', prefix: '' });
    assert.deepEqual(parseStoreUrl('s3://bucket/a/b'), { kind: 's3', bucket: 'bucket', prefix: 'a/b/' });
    assert.deepEqual(parseStoreUrl('S3://my.bucket-1/a/b/'), { kind: 's3', bucket: 'my.bucket-1', prefix: 'a/b/' });
  });

  it('parses folders: file URLs, absolute and relative paths', () => {
    assert.deepEqual(parseStoreUrl('file:///var/backups/db'), { kind: 'folder', path: '/var/backups/db' });
    assert.deepEqual(parseStoreUrl('/var/backups'), { kind: 'folder', path: '/var/backups' });
    assert.deepEqual(parseStoreUrl('backups/db'), { kind: 'folder', path: 'backups/db' });
    assert.deepEqual(parseStoreUrl(DEFAULT_STORE_URL), { kind: 'folder', path: './mongo-pitr-backups' });
  });

  it('refuses other schemes and malformed s3 URLs with one-line usage errors', () => {
    for (const url of ['ftp://host/dir', 's3://', 's3:///prefix', 's3:bucket', 's3://a/x', 's3://bucket/a/../b', 's3://bucket/x?region=eu-west-1', 'file://host/dir', '']) {
      assert.throws(() => parseStoreUrl(url), (error) => error instanceof UsageError && !error.message.includes('\n'), url);
    }
  });

  it('never echoes credentials found in a URL', () => {
    for (const url of ['s3://AKIAEXAMPLE:sekrit@bucket/prefix', 'ftp://user:sekrit@host/dir']) {
      assert.throws(() => parseStoreUrl(url), (error) => error instanceof UsageError && !error.message.includes('sekrit'));
    }
  });

  it('opens the default folder, a folder and a bucket without touching them', async () => {
    const fallback = await openStore(undefined);
    assert.ok(fallback instanceof FolderStore);
    assert.equal(fallback.url, pathToFileURL(join(process.cwd(), 'mongo-pitr-backups')).href);
    const bucket = await openStore('s3://bucket/some/prefix/', { region: 'us-east-1' });
    assert.ok(bucket instanceof RetryingStore);
    assert.equal(bucket.url, 's3://bucket/some/prefix');
    await bucket.close();
  });

  it('refuses S3 options outside S3 limits', async () => {
    await assert.rejects(openStore('s3://bucket', { partSizeBytes: MiB }), UsageError);
    await assert.rejects(openStore('s3://bucket', { sse: 'AES256', kmsKeyId: 'key' }), UsageError);
  });
});

async function assertOneWinner(store: Store, key: string, etag: string | null): Promise<void> {
  const bodies = Array.from({ length: CONCURRENT_WRITERS }, (_, n) => Buffer.from(`writer ${n}`));
  const outcomes = await Promise.allSettled(bodies.map((body) => store.putIfMatch(key, body, etag)));
  const winners = outcomes.flatMap((outcome, n) => (outcome.status === 'fulfilled' ? [{ n, result: outcome.value }] : []));
  assert.equal(winners.length, 1, `winners: ${winners.map((winner) => winner.n).join(', ')}`);
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') assert.ok(storeErrorOf('precondition-failed')(outcome.reason), String(outcome.reason));
  }
  const [winner] = winners;
  assert.equal((await readAll(await store.get(key))).toString(), `writer ${winner?.n}`);
  assert.equal((await store.stat(key))?.etag, winner?.result.etag);
}

function storeErrorOf(kind: StoreErrorKind): (error: unknown) => boolean {
  return (error) => error instanceof StoreError && error.kind === kind;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

async function listAll(store: Store, prefix: string) {
  const objects = [];
  for await (const object of store.list(prefix)) objects.push(object);
  return objects;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Random bytes in pieces, hashed as they are made so the test holds no copy. */
function generatedBody(totalBytes: number, pieceBytes: number): { stream: Readable; sha256(): string } {
  const hash = createHash('sha256');
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < totalBytes; sent += pieceBytes) {
      const piece = randomBytes(Math.min(pieceBytes, totalBytes - sent));
      hash.update(piece);
      yield piece;
    }
  }
  return { stream: Readable.from(pieces()), sha256: () => hash.digest('hex') };
}

/** A body that yields `bytesBeforeError` bytes (more than one S3 part), then fails. */
function failingBody(bytesBeforeError: number, error: Error): Readable {
  return Readable.from(
    (async function* () {
      for (let sent = 0; sent < bytesBeforeError; sent += 64 * KiB) yield randomBytes(64 * KiB);
      throw error;
    })(),
  );
}
