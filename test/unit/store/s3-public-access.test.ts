// How status reads AWS's answers about public access (AWS's shapes: GetBucketPolicyStatus returns
// PolicyStatus.IsPublic; GetPublicAccessBlock returns the four flags, or the error
// NoSuchPublicAccessBlockConfiguration when none is set). A fake client stands in for AWS, whose
// real answers MinIO cannot give (see test/integration/s3-public-access.test.ts).
import assert from 'node:assert/strict';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, test } from 'node:test';
import { publicAccessWarnings } from '../../../src/store/s3-public-access.ts';

type Answers = Record<string, unknown>;

function fakeClient(answers: Answers): S3Client {
  return {
    send: async (command: { constructor: { name: string } }) => {
      const answer = answers[command.constructor.name.replace(/Command$/, '')];
      if (answer instanceof Error) throw answer;
      if (answer === undefined) throw Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      return answer;
    },
  } as unknown as S3Client;
}

const s3Error = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const ALL_BLOCKED = { PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true } };
const target = (answers: Answers, anonymous: Answers = {}) => ({
  client: fakeClient(answers),
  anonymous: fakeClient(anonymous),
  bucket: 'b',
  prefix: 'p/',
  probeKey: 'p/manifest.json',
});

describe('public access warnings', () => {
  test('a bucket with all four blocks on and a private policy gets none', async () => {
    assert.deepEqual(await publicAccessWarnings(target({ GetBucketPolicyStatus: { PolicyStatus: { IsPublic: false } }, GetPublicAccessBlock: ALL_BLOCKED })), []);
  });

  test('a public policy, a missing block and a partial block are each warned about with the fix', async () => {
    const publicPolicy = await publicAccessWarnings(target({ GetBucketPolicyStatus: { PolicyStatus: { IsPublic: true } }, GetPublicAccessBlock: ALL_BLOCKED }));
    assert.equal(publicPolicy.length, 1);
    assert.match(publicPolicy[0] ?? '', /bucket b is public: its policy grants access to anyone; fix: /);
    const noBlock = await publicAccessWarnings(target({ GetBucketPolicyStatus: s3Error('NoSuchBucketPolicy', 404), GetPublicAccessBlock: s3Error('NoSuchPublicAccessBlockConfiguration', 404) }));
    assert.deepEqual(noBlock.length, 1);
    assert.match(noBlock[0] ?? '', /bucket b has no public access block.*put-public-access-block --bucket b/);
    const partial = await publicAccessWarnings(target({
      GetBucketPolicyStatus: { PolicyStatus: { IsPublic: false } },
      GetPublicAccessBlock: { PublicAccessBlockConfiguration: { ...ALL_BLOCKED.PublicAccessBlockConfiguration, RestrictPublicBuckets: false } },
    }));
    assert.match(partial[0] ?? '', /does not block all public access \(RestrictPublicBuckets\)/);
  });

  test('not implemented or not allowed to ask is quiet; other errors are not swallowed', async () => {
    assert.deepEqual(await publicAccessWarnings(target({ GetBucketPolicyStatus: s3Error('NotImplemented', 501), GetPublicAccessBlock: s3Error('NotImplemented', 501) })), []);
    assert.deepEqual(await publicAccessWarnings(target({})), [], 'AccessDenied on both');
    await assert.rejects(publicAccessWarnings(target({ GetBucketPolicyStatus: s3Error('InternalError', 500), GetPublicAccessBlock: ALL_BLOCKED })), /InternalError/);
  });

  test('an unsigned listing or read that succeeds is a warning, whatever the policy status says', async () => {
    const stub = { GetBucketPolicyStatus: { PolicyStatus: { IsPublic: false } }, GetPublicAccessBlock: s3Error('NotImplemented', 501) };
    const readable = await publicAccessWarnings(target(stub, { HeadObject: {} }));
    assert.match(readable[0] ?? '', /an unsigned request could read p\/manifest\.json/);
    const listable = await publicAccessWarnings(target(stub, { ListObjectsV2: {}, HeadObject: s3Error('NotFound', 404) }));
    assert.match(listable[0] ?? '', /could list and read p\/manifest\.json/);
  });
});
