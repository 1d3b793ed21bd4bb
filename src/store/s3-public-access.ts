// Whether a bucket may be readable by anyone: asked by `status`, answered as warnings. Two
// bucket-level questions (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html):
//   GetBucketPolicyStatus: does the bucket policy grant public access (PolicyStatus.IsPublic)?
//   GetPublicAccessBlock:  are all four block-public-access settings on? Without them, one
//                          careless policy or ACL change publishes every backup.
//   and, because S3-compatibles may stub the first (MinIO answers IsPublic false whatever the
//   policy) and lack the second (MinIO: NotImplemented), the plain fact: an unsigned request
//   lists the prefix or reads the manifest.
// The account-level block (s3control) is not asked: it needs another permission and endpoint.
// S3-compatibles that do not implement a call (MinIO answers NotImplemented for some), and
// credentials not allowed to ask (a least-privilege backup role), get no warning: the check is
// advice, never a reason to fail.
import { GetBucketPolicyStatusCommand, GetPublicAccessBlockCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** Answers that mean "this server or these credentials cannot tell": no warning. */
const UNKNOWABLE = new Set(['NotImplemented', 'AccessDenied', 'MethodNotAllowed', 'XNotImplemented', 'Forbidden']);
/** Answers that mean "nothing configured". */
const NO_POLICY = 'NoSuchBucketPolicy';
const NO_BLOCK = 'NoSuchPublicAccessBlockConfiguration';

const BLOCK_ALL = 'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true';

export interface PublicAccessTarget {
  /** Signed with the store's credentials. */
  readonly client: S3Client;
  /** Same endpoint, unsigned: what anyone on the network can do. */
  readonly anonymous: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  /** The key whose anonymous readability is tested (the manifest). */
  readonly probeKey: string;
}

export async function publicAccessWarnings(target: PublicAccessTarget): Promise<string[]> {
  const { client, bucket } = target;
  const warnings = await anonymousWarnings(target);
  const policy = await ask(() => client.send(new GetBucketPolicyStatusCommand({ Bucket: bucket })));
  if (policy.answer?.PolicyStatus?.IsPublic === true) {
    warnings.push(`bucket ${bucket} is public: its policy grants access to anyone; fix: remove the public statements from the bucket policy, and block public access (aws s3api put-public-access-block --bucket ${bucket} --public-access-block-configuration ${BLOCK_ALL})`);
  }
  const block = await ask(() => client.send(new GetPublicAccessBlockCommand({ Bucket: bucket })));
  const settings = block.answer?.PublicAccessBlockConfiguration;
  const off = settings ? Object.entries(settings).filter(([, on]) => on !== true).map(([name]) => name) : [];
  const missing = block.code === NO_BLOCK || (settings !== undefined && (off.length > 0 || Object.keys(settings).length < 4));
  if (missing) {
    const what = block.code === NO_BLOCK ? 'has no public access block' : `does not block all public access (${off.join(', ') || 'some settings unset'})`;
    warnings.push(`bucket ${bucket} ${what}: a policy or ACL change could publish the backups; fix: aws s3api put-public-access-block --bucket ${bucket} --public-access-block-configuration ${BLOCK_ALL}`);
  }
  return warnings;
}

/** The call's answer, or the S3 error code of a refusal this check tolerates; other errors throw. */
async function ask<T>(call: () => Promise<T>): Promise<{ answer?: T; code?: string }> {
  try {
    return { answer: await call() };
  } catch (error) {
    const code = errorCode(error);
    if (code === NO_POLICY || code === NO_BLOCK) return { code };
    if (UNKNOWABLE.has(code) || statusOf(error) === 501 || statusOf(error) === 403 || statusOf(error) === 405) return { code };
    throw error;
  }
}

function errorCode(error: unknown): string {
  const value = (error as { Code?: unknown; name?: unknown } | null) ?? {};
  return typeof value.Code === 'string' ? value.Code : typeof value.name === 'string' ? value.name : '';
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** What an unsigned request can do: list the prefix, or read (or learn the absence of) the manifest. */
async function anonymousWarnings(target: PublicAccessTarget): Promise<string[]> {
  const { anonymous, bucket, prefix, probeKey } = target;
  const listed = await anonymousOk(() => anonymous.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 })));
  // A 404 to an unsigned HEAD means anonymous callers may list the bucket (S3 answers 403 otherwise).
  const read = await anonymousOk(() => anonymous.send(new HeadObjectCommand({ Bucket: bucket, Key: probeKey })), [404]);
  if (!listed && !read) return [];
  const what = [listed ? 'list' : '', read ? `read ${probeKey}` : ''].filter(Boolean).join(' and ');
  return [`bucket ${bucket} is public: an unsigned request could ${what}; fix: remove anonymous (Principal "*") grants from the bucket policy and ACLs, and block public access (aws s3api put-public-access-block --bucket ${bucket} --public-access-block-configuration ${BLOCK_ALL})`];
}

/** True when the unsigned call succeeded (or answered one of `alsoPublic`); false when refused. */
async function anonymousOk(call: () => Promise<unknown>, alsoPublic: number[] = []): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    const status = statusOf(error);
    if (status !== undefined && alsoPublic.includes(status)) return true;
    // Refused (403), or anything else: only a success is evidence of public access.
    return false;
  }
}
