// The S3 store behind a fault-injecting proxy (fault-proxy.ts) in front of MinIO: transient
// faults are retried under the Store seam, a cut download resumes with a range read, a
// conditional manifest write whose reply was lost is recognised as committed, and a store that
// keeps failing past the retry budget fails with one StoreError, never a raw SDK or socket error.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IncomingMessage } from 'node:http';
import { ManifestCommitter, readManifest } from '../../src/backup/commit.ts';
import { MANIFEST_KEY } from '../../src/archive/object-keys.ts';
import { ConflictError, StoreError } from '../../src/errors.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { RetryEvent } from '../../src/store/retry-policy.ts';
import type { Store } from '../../src/store/store.ts';
import { NO_S3, testS3, uniqueName } from '../support/test-env.ts';
import { FaultProxy } from './fault-proxy.ts';
import { seededRandom } from '../support/seeded-random.ts';

const SEED = 1313;
const KiB = 1024;
const MiB = 1024 * KiB;

async function readAll(body: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('the S3 store behind a faulty network', { skip: NO_S3 }, () => {
  let proxy: FaultProxy;
  const retries: RetryEvent[] = [];
  const ranges: string[] = [];

  before(async () => {
    proxy = await FaultProxy.start({ target: testS3()?.endpoint ?? '', seed: SEED });
  });
  after(async () => {
    await proxy.close();
  });

  async function open(budgetMs = 60_000): Promise<Store> {
    const s3 = testS3();
    assert.ok(s3);
    const store = await openStore(`s3://${s3.bucket}/${uniqueName('faults')}`, {
      endpoint: proxy.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      retry: { budgetMs, baseDelayMs: 20, maxDelayMs: 500, random: seededRandom(SEED), onRetry: (event) => retries.push(event) },
    });
    return store;
  }

  it('at 20% faults of every kind, puts, gets, stats, lists and deletes all succeed with the right bytes', async () => {
    proxy.configure({ rate: 0.2 });
    proxy.resetStats();
    const store = await open();
    try {
      await store.check();
      const bodies = new Map<string, Buffer>();
      for (let n = 0; n < 24; n++) {
        const key = `objects/${String(n).padStart(3, '0')}.bin`;
        const body = randomBytes(1 + ((n * 7919) % (64 * KiB)));
        bodies.set(key, body);
        // Half as buffers, half as streams (which the store spools to retry them).
        await store.put(key, n % 2 === 0 ? body : (await import('node:stream')).Readable.from([body]));
      }
      for (const [key, body] of bodies) {
        assert.equal(sha(await readAll(await store.get(key))), sha(body), key);
        assert.equal((await store.stat(key))?.size, body.length);
      }
      const listed: string[] = [];
      for await (const object of store.list('objects/')) listed.push(object.key);
      assert.deepEqual(listed, [...bodies.keys()]);
      for (const key of bodies.keys()) await store.delete(key);
      assert.equal(await store.stat('objects/000.bin'), null);
      assert.ok(proxy.stats.faults > 0, 'the proxy injected faults');
    } finally {
      await store.close();
    }
  });

  it('a download cut mid-body resumes from the byte it reached with a range read', async () => {
    proxy.configure({ rate: 0 });
    const store = await open();
    try {
      const body = randomBytes(3 * MiB);
      await store.put('big.bin', body);
      const rangeSeen = (request: IncomingMessage): boolean => {
        if (request.method === 'GET' && typeof request.headers.range === 'string') ranges.push(request.headers.range);
        return request.method === 'GET' && request.url?.includes('big.bin') === true && request.headers.range === undefined;
      };
      // Every first read of the object is cut; range reads go through.
      proxy.configure({ rate: 1, kinds: ['reset-body', 'truncate'], eligible: rangeSeen });
      const read = await readAll(await store.get('big.bin'));
      assert.equal(sha(read), sha(body));
      assert.ok(ranges.some((range) => /^bytes=[1-9]\d*-$/.test(range)), `range reads: ${ranges.join(', ')}`);
    } finally {
      proxy.configure({ rate: 0 });
      await store.close();
    }
  });

  it('a manifest write whose reply was lost is committed, not a conflict; a real race still is', async () => {
    proxy.configure({ rate: 0 });
    const store = await open();
    try {
      const committer = await ManifestCommitter.open(store);
      let lost = 0;
      // The first conditional PUT of the manifest lands in MinIO, and its reply is lost; the
      // SDK sends it again, and MinIO answers 412 since the object now exists.
      proxy.configure({
        rate: 1,
        kinds: ['reset-body'],
        eligible: (request) => request.method === 'PUT' && request.url?.includes(MANIFEST_KEY) === true && lost++ === 0,
      });
      const written = await committer.commit((manifest) => ({ ...manifest, pendingBases: [] }));
      proxy.configure({ rate: 0 });
      assert.equal(lost >= 2, true, 'the write was sent again after its reply was lost');
      assert.deepEqual((await readManifest(store)).manifest, written);
      // The committer knows the landed version: its next commit goes through.
      await committer.commit((manifest) => ({ ...manifest, chains: [] }));

      const other = await ManifestCommitter.open(store);
      await committer.commit((manifest) => ({ ...manifest, pendingBases: undefined }));
      await assert.rejects(other.commit((manifest) => ({ ...manifest, chains: [] })), ConflictError);
    } finally {
      proxy.configure({ rate: 0 });
      await store.close();
    }
  });

  it('a store that keeps failing past the budget fails with one StoreError line', async () => {
    proxy.configure({ rate: 0 });
    const store = await open(1500);
    try {
      await store.put('kept.bin', Buffer.from('kept'));
      proxy.configure({ rate: 1, kinds: ['500', '503', 'reset-request', 'reset-body', 'truncate'] });
      for (const attempt of [() => store.get('kept.bin').then(readAll), () => store.stat('kept.bin'), () => store.put('x.bin', Buffer.from('x'))]) {
        await assert.rejects(attempt(), (error) => error instanceof StoreError && error.kind === 'io' && !error.message.includes('\n'));
      }
      await assert.rejects(
        (async () => {
          for await (const object of store.list('')) void object;
        })(),
        (error) => error instanceof StoreError && error.kind === 'io',
      );
    } finally {
      proxy.configure({ rate: 0 });
      await store.close();
    }
  });
});
