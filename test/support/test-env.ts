// What the test run (test/run.ts) started or was given, read from the environment. A test file
// run on its own without these skips with a reason instead of failing for want of a server.
import { randomBytes } from 'node:crypto';

export interface TestS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

/** "ferretdb" (started here), "mongod" (MongoMemoryReplSet on a given binary) or "given". */
export type MongoKind = 'ferretdb' | 'mongod' | 'given';

export function testMongoUri(): string | undefined {
  return process.env.TEST_MONGODB_URI || undefined;
}

export function testMongoKind(): MongoKind {
  const kind = process.env.TEST_MONGODB_KIND;
  return kind === 'mongod' || kind === 'given' ? kind : 'ferretdb';
}

/** True when the server is FerretDB: no applyOps, no commands in its oplog, whole-doc $set. */
export function isFerretDB(): boolean {
  return testMongoKind() === 'ferretdb';
}

export function testS3(): TestS3 | undefined {
  const endpoint = process.env.TEST_S3_ENDPOINT;
  const accessKeyId = process.env.TEST_S3_ACCESS_KEY_ID;
  const secretAccessKey = process.env.TEST_S3_SECRET_ACCESS_KEY;
  const bucket = process.env.TEST_S3_BUCKET;
  if (!endpoint || !accessKeyId || !secretAccessKey || !bucket) return undefined;
  return { endpoint, accessKeyId, secretAccessKey, bucket, region: process.env.TEST_S3_REGION || 'us-east-1' };
}

/** Skip reason for node:test's `skip` option when the run was not started by test/run.ts. */
export const NO_MONGO = testMongoUri() ? false : 'no MongoDB-wire server: run through `npm test`';
export const NO_S3 = testS3() ? false : 'no S3 endpoint: run through `npm test`';

/** A short random name so that tests sharing one server never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Where the shared fixtures live: ../shared beside the checkout (CI lays it there). */
export const SHARED_DIR = new URL('../../../shared/', import.meta.url).pathname;
