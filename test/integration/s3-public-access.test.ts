// `status` on MinIO: a private bucket gets no warning, although MinIO answers GetPublicAccessBlock
// with NotImplemented (handled quietly) and stubs GetBucketPolicyStatus (IsPublic false whatever
// the policy, seen on the MinIO build test/servers builds); once a policy lets anyone read the
// store's prefix, the unsigned probe sees it and status warns naming the bucket and the fix.
import assert from 'node:assert/strict';
import { DeleteBucketPolicyCommand, GetPublicAccessBlockCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, test } from 'node:test';
import { emptyManifest, serializeManifest } from '../../src/archive/manifest.ts';
import { MANIFEST_KEY } from '../../src/archive/object-keys.ts';
import { runCli } from '../support/cli.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_S3, testS3 } from '../support/test-env.ts';

describe('status and public buckets', { skip: NO_S3 }, () => {
  test('no warning for a private bucket; a warning once anonymous reads are allowed', async () => {
    const s3 = testS3();
    const kind = STORE_KINDS[1];
    assert.ok(s3 && kind);
    const { store, url, cliArgs, env } = await kind.open();
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    const prefix = url.slice(`s3://${s3.bucket}/`.length);
    try {
      await store.putIfMatch(MANIFEST_KEY, serializeManifest(emptyManifest()), null);
      // What this MinIO answers, so the quiet handling below is of a real reply.
      await assert.rejects(client.send(new GetPublicAccessBlockCommand({ Bucket: s3.bucket })), (error: Error) => error.name === 'NotImplemented');

      const quiet = await runCli([...cliArgs, 'status'], env);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.doesNotMatch(quiet.stderr, /warning/);

      await client.send(new PutBucketPolicyCommand({
        Bucket: s3.bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${s3.bucket}/${prefix}/*`] }],
        }),
      }));
      const loud = await runCli([...cliArgs, 'status'], env);
      assert.equal(loud.code, 0, loud.stderr);
      assert.match(loud.stderr, new RegExp(`warning: bucket ${s3.bucket} is public: an unsigned request could read ${prefix}/manifest.json; fix: .*put-public-access-block`));
    } finally {
      await client.send(new DeleteBucketPolicyCommand({ Bucket: s3.bucket })).catch(() => undefined);
      client.destroy();
      await store.close();
    }
  });
});
