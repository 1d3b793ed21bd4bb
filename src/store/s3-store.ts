// The store as an S3 bucket (AWS or S3-compatible: MinIO, R2, ...) under a key prefix. Streams go
// through lib-storage's multipart Upload, which aborts the upload when the body or a part fails,
// so a failed put leaves no object. Conditional writes use S3's If-Match / If-None-Match on
// PutObject: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { StoreError, UsageError } from '../errors.ts';
import { countBody } from './counted-body.ts';
import { s3StoreError } from './s3-errors.ts';
import type { PublicAccessCheck } from './public-access-check.ts';
import { publicAccessWarnings } from './s3-public-access.ts';
import { assertStoreKey, assertStorePrefix, isStoreKey } from './store-key.ts';
import type { GetOptions, ObjectInfo, PutResult, Store } from './store.ts';

const MiB = 1024 * 1024;
export const DEFAULT_PART_SIZE_BYTES = 8 * MiB;
/** S3's minimum size of every part but the last. */
export const MIN_PART_SIZE_BYTES = 5 * MiB;
/** S3's maximum part size. */
export const MAX_PART_SIZE_BYTES = 5 * 1024 * MiB;
export const DEFAULT_QUEUE_SIZE = 4;
/** Tries per request, the first included (the SDK's default is 3). */
export const S3_MAX_ATTEMPTS = 5;

export interface S3StoreOptions {
  /** Defaults to the SDK's chain (AWS_REGION, the profile); redirects to the bucket's region are followed. */
  readonly region?: string;
  /** An S3-compatible endpoint; without it the SDK also honours AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
  readonly endpoint?: string;
  /** Path-style addressing (`endpoint/bucket/key`), which MinIO and most S3-compatibles need. */
  readonly forcePathStyle?: boolean;
  /** Defaults to the SDK's credential chain (environment, profile, SSO, instance or task role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  readonly sse?: 'AES256' | 'aws:kms';
  /**
   * Aborts every request of this store once it fires: a Lambda invocation's hard limit, so that
   * no store call (a slow HEAD, a conditional manifest write) runs past the invocation's margin.
   */
  readonly signal?: AbortSignal;
  /** Told how many tries each request took (the SDK retries throttling and 5xx itself): metrics. */
  readonly onAttempts?: (operation: string, attempts: number) => void;
  /** A KMS key for SSE-KMS; implies `sse: 'aws:kms'`. */
  readonly kmsKeyId?: string;
  readonly partSizeBytes?: number;
  /** Parts uploaded at once; a streamed put buffers up to (queueSize + 1) × partSizeBytes. */
  readonly queueSize?: number;
}

type EncryptionParams = Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'>;

/** A bucket and a key prefix that is empty or ends with "/". */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

export class S3Store implements Store, PublicAccessCheck {
  readonly url: string;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #client: S3Client;
  readonly #partSizeBytes: number;
  readonly #queueSize: number;
  readonly #encryption: EncryptionParams;
  readonly #secrets: string[];
  readonly #signal: AbortSignal | undefined;
  readonly #config: S3ClientConfig;

  constructor(location: S3Location, options: S3StoreOptions = {}) {
    this.#bucket = location.bucket;
    this.#prefix = location.prefix;
    this.url = `s3://${location.bucket}/${location.prefix}`.replace(/\/$/, '');
    this.#partSizeBytes = validPartSize(options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES);
    this.#queueSize = validQueueSize(options.queueSize ?? DEFAULT_QUEUE_SIZE);
    this.#encryption = encryptionParams(options);
    this.#secrets = [options.credentials?.secretAccessKey ?? '', options.credentials?.sessionToken ?? ''];
    this.#signal = options.signal;
    // Each request (a part of an upload included) is retried by the SDK on 5xx, throttling and
    // resets; RetryingStore retries whole operations above that.
    const config: S3ClientConfig = { followRegionRedirects: true, maxAttempts: S3_MAX_ATTEMPTS };
    if (options.region) config.region = options.region;
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
    if (options.credentials) config.credentials = options.credentials;
    this.#client = new S3Client(config);
    const onAttempts = options.onAttempts;
    if (onAttempts) {
      // At the initialize step the retry middleware has finished: $metadata.attempts is final.
      this.#client.middlewareStack.add(
        (next, context) => async (args) => {
          try {
            const result = await next(args);
            onAttempts(String(context.commandName), attemptsOf(result.output));
            return result;
          } catch (error) {
            onAttempts(String(context.commandName), attemptsOf(error));
            throw error;
          }
        },
        { step: 'initialize', name: 'mongoPitrAttempts' },
      );
    }
    this.#config = config;
  }

  async put(key: string, body: Readable | Buffer, callOptions: { signal?: AbortSignal } = {}): Promise<PutResult> {
    const fullKey = this.#fullKey(key);
    const options = { signal: this.#signalFor(callOptions.signal) };
    if (Buffer.isBuffer(body) && body.length <= this.#partSizeBytes) {
      try {
        const output = await this.#client.send(
          new PutObjectCommand({ ...this.#objectParams(fullKey), Body: body, ContentLength: body.length }),
          this.#abortable(options.signal),
        );
        return { key, etag: await this.#etagOf(output.ETag, fullKey), size: body.length };
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw this.#error(error, 'PutObject', fullKey);
      }
    }
    return this.#upload(key, fullKey, Buffer.isBuffer(body) ? Readable.from([body]) : body, options.signal);
  }

  async get(key: string, callOptions: GetOptions = {}): Promise<Readable> {
    const fullKey = this.#fullKey(key);
    const options = { ...callOptions, signal: this.#signalFor(callOptions.signal) };
    let body: unknown;
    // A range read (RFC 9110 §14.1.2, "bytes=N-") resumes a download cut short.
    const range = options.start ? { Range: `bytes=${options.start}-` } : {};
    try {
      const output = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: fullKey, ...range }), this.#abortable(options.signal));
      body = output.Body;
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.#error(error, 'GetObject', fullKey);
    }
    // In Node the SDK's body is the HTTP response stream.
    if (!(body instanceof Readable)) throw new StoreError('io', `GetObject s3://${this.#bucket}/${fullKey} returned no stream`);
    return body;
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const fullKey = this.#fullKey(key);
    try {
      const output = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: fullKey }), this.#abortable());
      return { key, size: output.ContentLength ?? 0, etag: output.ETag ?? '', lastModified: output.LastModified ?? new Date(0) };
    } catch (error) {
      const storeError = this.#error(error, 'HeadObject', fullKey);
      // A HEAD reply has no body, so a missing bucket also reads as 404 here; check() tells them apart.
      if (storeError.kind === 'not-found') return null;
      // S3 answers 403 instead of 404 for a missing key when the caller may not list the bucket
      // unconditionally, as with a policy that allows ListBucket only under its prefix. A
      // listing under the key itself is allowed there and tells "missing" from "denied".
      if (storeError.kind === 'access-denied' && !(await this.#listed(key))) return null;
      throw storeError;
    }
  }

  /** Whether `key` itself appears in a listing under it. */
  async #listed(key: string): Promise<boolean> {
    for await (const object of this.list(key)) if (object.key === key) return true;
    return false;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertStorePrefix(prefix);
    let continuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix + prefix, ContinuationToken: continuationToken }),
          this.#abortable(),
        );
      } catch (error) {
        throw this.#error(error, 'ListObjectsV2', this.#prefix + prefix);
      }
      // S3 lists keys in ascending UTF-8 byte order, which is the order Store promises.
      for (const item of page.Contents ?? []) {
        const key = item.Key?.slice(this.#prefix.length) ?? '';
        // Skip what no store key could name, as the folder store does: "folder" placeholders that
        // consoles create ("a/b/"), or keys with "//" or ".." written by other tools.
        if (!isStoreKey(key)) continue;
        yield { key, size: item.Size ?? 0, etag: item.ETag ?? '', lastModified: item.LastModified ?? new Date(0) };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.#fullKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: fullKey }), this.#abortable());
    } catch (error) {
      const storeError = this.#error(error, 'DeleteObject', fullKey);
      if (storeError.kind !== 'not-found') throw storeError;
    }
  }

  async putIfMatch(key: string, body: Buffer, etag: string | null): Promise<PutResult> {
    const fullKey = this.#fullKey(key);
    const condition = etag === null ? { IfNoneMatch: '*' } : { IfMatch: etag };
    try {
      const output = await this.#client.send(
        new PutObjectCommand({ ...this.#objectParams(fullKey), ...condition, Body: body, ContentLength: body.length }),
        this.#abortable(),
      );
      return { key, etag: await this.#etagOf(output.ETag, fullKey), size: body.length };
    } catch (error) {
      const storeError = this.#error(error, 'PutObject (conditional)', fullKey);
      // If-Match on an object that has since been deleted answers NoSuchKey: the race was lost too.
      if (storeError.kind !== 'not-found') throw storeError;
      throw new StoreError('precondition-failed', `putIfMatch s3://${this.#bucket}/${fullKey}: expected version ${etag}, found no object`, {
        cause: error,
        hint: 'another run deleted the object first; read it again and retry',
      });
    }
  }

  async check(): Promise<void> {
    try {
      // Needs s3:ListBucket only, and tells a missing bucket (NoSuchBucket) from bad credentials.
      await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix, MaxKeys: 1 }), this.#abortable());
    } catch (error) {
      throw this.#error(error, 'ListObjectsV2', this.#prefix);
    }
  }

  /** Warnings when anyone may read the bucket (s3-public-access.ts); `status` prints them. */
  async publicAccessWarnings(probeKey: string): Promise<string[]> {
    // Unsigned: a signer that leaves the request as it is, so it carries no credentials at all.
    const anonymous = new S3Client({
      ...this.#config,
      credentials: { accessKeyId: 'anonymous', secretAccessKey: 'anonymous' },
      signer: { sign: async (request) => request },
    });
    try {
      return await publicAccessWarnings({ client: this.#client, anonymous, bucket: this.#bucket, prefix: this.#prefix, probeKey: this.#fullKey(probeKey) });
    } finally {
      anonymous.destroy();
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  /**
   * Multipart upload of a stream. On a failure of the body, of a part or of an abort, Upload sends
   * AbortMultipartUpload before `done()` rejects. Aborting destroys the body rather than using
   * Upload's own abort, which would reject before the multipart upload is cleaned up.
   */
  async #upload(key: string, fullKey: string, body: Readable, signal: AbortSignal | undefined): Promise<PutResult> {
    const counted = countBody(body, signal);
    const upload = new Upload({
      client: this.#client,
      params: { ...this.#objectParams(fullKey), Body: counted.stream },
      partSize: this.#partSizeBytes,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    try {
      const output = await upload.done();
      return { key, etag: await this.#etagOf(output.ETag, fullKey), size: counted.bytes };
    } catch (error) {
      counted.discard();
      if (signal?.aborted) throw signal.reason;
      if (counted.bodyFailed) throw counted.bodyError;
      throw this.#error(error, 'Upload', fullKey);
    }
  }

  /** The store's own signal and a call's, as one (either may be absent). */
  #signalFor(signal: AbortSignal | undefined): AbortSignal | undefined {
    if (!this.#signal) return signal;
    return signal ? AbortSignal.any([this.#signal, signal]) : this.#signal;
  }

  /** The SDK's per-request options: aborted by the store's signal and the call's. */
  #abortable(signal?: AbortSignal): { abortSignal?: AbortSignal } {
    const combined = this.#signalFor(signal);
    return combined ? { abortSignal: combined } : {};
  }

  #fullKey(key: string): string {
    assertStoreKey(key);
    return this.#prefix + key;
  }

  #objectParams(fullKey: string) {
    return { Bucket: this.#bucket, Key: fullKey, ...this.#encryption };
  }

  /** Some S3-compatible servers omit the ETag from a write's reply; ask for it then. */
  async #etagOf(etag: string | undefined, fullKey: string): Promise<string> {
    if (etag) return etag;
    try {
      const output = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: fullKey }), this.#abortable());
      if (output.ETag) return output.ETag;
    } catch (error) {
      throw this.#error(error, 'HeadObject', fullKey);
    }
    throw new StoreError('io', `PutObject s3://${this.#bucket}/${fullKey}: the server returned no ETag`, {
      hint: 'this S3-compatible server cannot support conditional writes',
    });
  }

  #error(error: unknown, operation: string, key: string): StoreError {
    // Cut off by the store's own signal (a Lambda invocation's hard limit): the signal's reason,
    // which no retry layer (retrying-store.ts) takes for a transient failure, unlike the SDK's
    // "aborted" error.
    if (this.#signal?.aborted) throw this.#signal.reason;
    return s3StoreError(error, { operation, bucket: this.#bucket, key, secrets: this.#secrets });
  }
}

/** The SDK's count of tries, on a response or an error; 1 when it says nothing. */
function attemptsOf(value: unknown): number {
  const attempts = (value as { $metadata?: { attempts?: unknown } } | undefined)?.$metadata?.attempts;
  return typeof attempts === 'number' ? attempts : 1;
}

function validPartSize(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < MIN_PART_SIZE_BYTES || bytes > MAX_PART_SIZE_BYTES) {
    throw new UsageError(`S3 part size ${bytes} bytes is outside S3's limits of 5 MiB to 5 GiB`, { hint: 'choose a part size of at least 5 MiB' });
  }
  return bytes;
}

function validQueueSize(size: number): number {
  if (!Number.isInteger(size) || size < 1) throw new UsageError(`S3 upload queue size must be a positive integer, not ${size}`);
  return size;
}

function encryptionParams(options: S3StoreOptions): EncryptionParams {
  if (options.kmsKeyId === undefined) return options.sse ? { ServerSideEncryption: options.sse } : {};
  if (options.sse === 'AES256') {
    throw new UsageError('a KMS key was given with AES256 server-side encryption', { hint: "use sse 'aws:kms' with a KMS key, or drop the key" });
  }
  return { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: options.kmsKeyId };
}
