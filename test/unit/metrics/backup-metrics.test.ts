// The metrics' own logic, with faults injected: store failures counted by kind, the S3 client's
// retries counted by operation (a loopback endpoint answers 503 SlowDown once, as S3 does when
// throttling), and a chunk that does not link onto the chain's end marking the chain unhealthy.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Chain, Chunk, Manifest } from '../../../src/archive/manifest.ts';
import { StoreError } from '../../../src/errors.ts';
import { BackupMetrics } from '../../../src/metrics/backup-metrics.ts';
import { instrumentStore } from '../../../src/metrics/instrumented-store.ts';
import { parseMetricsAddr } from '../../../src/metrics/metrics-server.ts';
import { S3Store } from '../../../src/store/s3-store.ts';
import type { Store } from '../../../src/store/store.ts';

const source = { setName: 'rs0', replicaSetId: null };

async function value(metrics: BackupMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const found = metric?.values.find((sample) => Object.entries(labels).every(([key, label]) => sample.labels[key] === label));
  return found?.value;
}

test('store failures are counted by kind; the failure still reaches the caller', async () => {
  const metrics = new BackupMetrics();
  const failing = {
    url: 'fake://',
    stat: async () => {
      throw new StoreError('access-denied', 'denied');
    },
    delete: async () => {
      throw new Error('socket hang up');
    },
  } as unknown as Store;
  const store = instrumentStore(failing, (kind) => metrics.observeStoreError(kind));
  await assert.rejects(store.stat('a'), StoreError);
  await assert.rejects(store.stat('b'), StoreError);
  await assert.rejects(store.delete('c'), /socket hang up/);
  assert.equal(await value(metrics, 'mongo_pitr_store_errors_total', { kind: 'access-denied' }), 2);
  assert.equal(await value(metrics, 'mongo_pitr_store_errors_total', { kind: 'other' }), 1);
});

test("the S3 client's retries are counted by operation", async () => {
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    request.resume();
    if (requests === 1) {
      response.writeHead(503, { 'Content-Type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    response
      .writeHead(200, { 'Content-Type': 'application/xml' })
      .end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const metrics = new BackupMetrics();
  const store = new S3Store({ bucket: 'bkt', prefix: 'p/' }, {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    onAttempts: (operation, attempts) => metrics.observeStoreAttempts(operation, attempts),
  });
  try {
    await store.check();
    assert.equal(requests, 2, 'one refusal, one retry');
    assert.equal(await value(metrics, 'mongo_pitr_store_request_retries_total', { operation: 'ListObjectsV2Command' }), 1);
  } finally {
    await store.close();
    server.close();
  }
});

const ts = (t: number) => ({ t, i: 1 });
const object = (t: number, sha256: string) => ({ key: `k${t}`, rawBytes: 10, storedBytes: 5, sha256, firstTs: ts(t), lastTs: ts(t), firstWall: null, lastWall: null, count: 1 });
const chunk = (t: number, after: number, prevSha256: string, sha256: string): Chunk => ({
  ...object(t, sha256),
  afterTs: ts(after),
  prevSha256,
  sealedAt: '2026-01-01T00:00:00.000Z',
  lagMs: 1500,
  commitPoint: 'majority',
  stats: { byNs: {} },
});

test('the window, the newest op and the health come from the chain; a chunk that does not link marks it unhealthy', async () => {
  const chain = {
    id: 'c1',
    source,
    base: { id: 'c1', startTs: ts(90), endTs: ts(100), startedAt: '', finishedAt: '', collections: [], oplog: object(100, 'b'), commitPoint: 'majority' },
    chunks: [chunk(110, 100, 'b', 'c')],
  } as unknown as Chain;
  const manifest = { version: 1, chains: [chain] } as unknown as Manifest;
  const metrics = new BackupMetrics();
  metrics.forSource(source);
  metrics.observeManifest(manifest, source);
  const labels = { set_name: 'rs0' };
  assert.equal(await value(metrics, 'mongo_pitr_restorable_window_start_timestamp_seconds', labels), 100);
  assert.equal(await value(metrics, 'mongo_pitr_restorable_window_end_timestamp_seconds', labels), 110);
  assert.equal(await value(metrics, 'mongo_pitr_newest_archived_op_timestamp_seconds', labels), 110);
  assert.equal(await value(metrics, 'mongo_pitr_lag_seconds', labels), 1.5);
  assert.equal(await value(metrics, 'mongo_pitr_chain_healthy', labels), 1);

  metrics.observeChunk(chunk(120, 110, 'c', 'd'));
  assert.equal(await value(metrics, 'mongo_pitr_chain_healthy', labels), 1);
  assert.equal(await value(metrics, 'mongo_pitr_chunks_written_total', labels), 1);
  assert.equal(await value(metrics, 'mongo_pitr_bytes_written_total', labels), 5);
  assert.equal(await value(metrics, 'mongo_pitr_restorable_window_end_timestamp_seconds', labels), 120);
  // Skips past 120: a hole in the chain.
  metrics.observeChunk(chunk(140, 130, 'd', 'e'));
  assert.equal(await value(metrics, 'mongo_pitr_chain_healthy', labels), 0);
});

test('--metrics-addr takes host:port, [v6]:port or :port', () => {
  assert.deepEqual(parseMetricsAddr('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseMetricsAddr('[::1]:9464'), { host: '::1', port: 9464 });
  assert.deepEqual(parseMetricsAddr(':9464'), { host: '0.0.0.0', port: 9464 });
  assert.throws(() => parseMetricsAddr('9464'), /expected host:port/);
  assert.throws(() => parseMetricsAddr('localhost:99999'), /expected host:port/);
});

test("a store request cut off by the store's signal fails at once with its reason, not retried", async () => {
  let requests = 0;
  // Never answers: a request hangs until the client gives up.
  const server = createServer(() => {
    requests++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const limit = new AbortController();
  const reason = new Error('calls cut off');
  const { openStore } = await import('../../../src/store/open-store.ts');
  const store = await openStore('s3://bkt/p', {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    signal: limit.signal,
  });
  try {
    setTimeout(() => limit.abort(reason), 300);
    const started = Date.now();
    await assert.rejects(store.putIfMatch('manifest.json', Buffer.from('{}'), null), (error: unknown) => error === reason);
    assert.ok(Date.now() - started < 2000, `ended ${Date.now() - started} ms after the call, not after retries`);
    assert.equal(requests, 1, 'one request, no retry');
  } finally {
    await store.close();
    server.closeAllConnections();
    server.close();
  }
});
