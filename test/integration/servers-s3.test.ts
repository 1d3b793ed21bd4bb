// Proves the S3 test server is real: the operations mongo-pitr relies on, straight through the
// AWS SDK and lib-storage, against MinIO (or the given endpoint).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test, after } from 'node:test';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NO_S3, testS3, uniqueName } from '../support/test-env.ts';

const MiB = 1024 * 1024;

describe('S3 test server', { skip: NO_S3 }, () => {
  const s3 = testS3();
  const client = new S3Client({
    endpoint: s3?.endpoint,
    region: s3?.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3?.accessKeyId ?? '', secretAccessKey: s3?.secretAccessKey ?? '' },
  });
  const bucket = s3?.bucket ?? '';
  const prefix = `${uniqueName('servers')}/`;
  after(() => client.destroy());

  test('put, get and list', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}b`, Body: 'bee' }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}a`, Body: 'ay' }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}b` }));
    assert.equal(await got.Body?.transformToString(), 'bee');
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    assert.deepEqual(listed.Contents?.map((object) => object.Key), [`${prefix}a`, `${prefix}b`]);
  });

  test('a streamed multipart upload larger than one part', async () => {
    const hash = createHash('sha256');
    const pieces = 11 * 16; // 11 MiB in 64 KiB pieces, with 5 MiB parts: three parts
    async function* body(): AsyncGenerator<Buffer> {
      for (let n = 0; n < pieces; n++) {
        const piece = Buffer.alloc(64 * 1024, n % 251);
        hash.update(piece);
        yield piece;
      }
    }
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: `${prefix}big`, Body: Readable.from(body()) },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    let parts = 0;
    upload.on('httpUploadProgress', (progress) => (parts = Math.max(parts, progress.part ?? 0)));
    await upload.done();
    assert.ok(parts >= 3, `expected at least 3 parts, saw ${parts}`);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}big` }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    assert.equal(bytes.length, 11 * MiB);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), hash.digest('hex'));
  });

  test('a conditional put (If-None-Match: *) fails the second time', async () => {
    const key = `${prefix}manifest`;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'one', IfNoneMatch: '*' }));
    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'two', IfNoneMatch: '*' })),
      (error: unknown) => error instanceof S3ServiceException && error.$metadata.httpStatusCode === 412,
    );
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(await got.Body?.transformToString(), 'one');
  });
});
