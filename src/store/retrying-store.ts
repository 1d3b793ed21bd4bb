// A Store that retries what a flaky store or network gets wrong once but right the next time
// (5xx, throttling, resets, bodies cut short or failing their checksum, replies cut mid-XML),
// under the Store seam, so callers see a store that either succeeded or failed for good with a
// kind. Each operation has its own time budget (retry-policy.ts); a download cut mid-body
// resumes with a range read from the byte it reached, so a large object is not fetched again.
//
// What cannot be retried here: a streamed put longer than one spool (the body is consumed as it
// is sent); the S3 client's own per-request retries cover each of its parts. A put that fits in
// the spool is read whole first and retried as a buffer.
import { Readable } from 'node:stream';
import { StoreError } from '../errors.ts';
import { RetryClock, type RetryOptions } from './retry-policy.ts';
import type { GetOptions, ObjectInfo, PutResult, Store } from './store.ts';
import { hasPublicAccessCheck } from './public-access-check.ts';
import { isTransient } from './transient-error.ts';

const MiB = 1024 * 1024;
/** Bodies up to this size are read whole before a put so that the put can be sent again. */
export const DEFAULT_RETRY_SPOOL_BYTES = 8 * MiB;

export interface RetryingStoreOptions extends RetryOptions {
  readonly spoolBytes?: number;
}

export class RetryingStore implements Store {
  readonly #inner: Store;
  readonly #options: RetryingStoreOptions;

  constructor(inner: Store, options: RetryingStoreOptions = {}) {
    this.#inner = inner;
    this.#options = options;
  }

  get url(): string {
    return this.#inner.url;
  }

  /**
   * Whether anyone may read the bucket (s3-public-access.ts): the wrapped store's own answer, so
   * the retries stay invisible to status. A store without the check has nothing to warn of.
   */
  async publicAccessWarnings(probeKey: string): Promise<string[]> {
    return hasPublicAccessCheck(this.#inner) ? this.#inner.publicAccessWarnings(probeKey) : [];
  }

  async put(key: string, body: Readable | Buffer, options: { signal?: AbortSignal } = {}): Promise<PutResult> {
    const spooled = Buffer.isBuffer(body) ? { whole: body } : await spool(body, this.#options.spoolBytes ?? DEFAULT_RETRY_SPOOL_BYTES);
    if ('whole' in spooled) return this.#retry('put', key, () => this.#inner.put(key, spooled.whole, options), options.signal);
    return this.#once('put', key, () => this.#inner.put(key, spooled.stream, options), options.signal);
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    // A body that fails before anyone reads it must not crash the process for want of an 'error'
    // listener; the reader still sees the error, since an errored stream's iterator throws it.
    const open = async (start: number) => (await this.#inner.get(key, { signal: options.signal, start })).on('error', () => undefined);
    const first = await this.#retry('get', key, () => open(options.start ?? 0), options.signal);
    return Readable.from(this.#resumed(key, first, options.start ?? 0, open, options.signal), { objectMode: false });
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    return this.#retry('stat', key, () => this.#inner.stat(key));
  }

  /** A listing cut midway starts again and skips what it already yielded (keys ascend). */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const clock = new RetryClock(this.#options);
    let last: string | undefined;
    for (;;) {
      try {
        for await (const object of this.#inner.list(prefix)) {
          if (last !== undefined && object.key <= last) continue;
          last = object.key;
          yield object;
        }
        return;
      } catch (error) {
        if (!isTransient(error) || !(await clock.wait('list', prefix, error))) throw this.#final('list', prefix, error);
      }
    }
  }

  async delete(key: string): Promise<void> {
    return this.#retry('delete', key, () => this.#inner.delete(key));
  }

  /**
   * A conditional write whose reply was lost is sent again and then answered "precondition
   * failed" because the first one did land; the committer tells that from a lost race by
   * reading the object back (backup/commit.ts).
   */
  async putIfMatch(key: string, body: Buffer, etag: string | null): Promise<PutResult> {
    return this.#retry('putIfMatch', key, () => this.#inner.putIfMatch(key, body, etag));
  }

  async check(): Promise<void> {
    return this.#retry('check', '', () => this.#inner.check());
  }

  async close(): Promise<void> {
    return this.#inner.close();
  }

  async #retry<T>(operation: string, key: string, attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const clock = new RetryClock(this.#options);
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (!isTransient(error) || !(await this.#wait(clock, operation, key, error, signal))) throw this.#final(operation, key, error);
      }
    }
  }

  async #once<T>(operation: string, key: string, attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw this.#final(operation, key, error);
    }
  }

  /** Streams the body, reopening it at the byte reached whenever it breaks transiently. */
  async *#resumed(
    key: string,
    first: Readable,
    start: number,
    open: (start: number) => Promise<Readable>,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Buffer> {
    const clock = new RetryClock(this.#options);
    let body = first;
    let offset = start;
    try {
      for (;;) {
        try {
          for await (const chunk of body) {
            const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
            offset += buffer.length;
            yield buffer;
          }
          return;
        } catch (error) {
          body.destroy();
          if (signal?.aborted) throw signal.reason;
          if (!isTransient(error) || !(await this.#wait(clock, 'get', key, error, signal))) throw this.#final('get', key, error);
          body = await this.#retry('get', key, () => open(offset), signal);
        }
      }
    } finally {
      // A reader that stops early must not leave the connection open.
      body.destroy();
    }
  }

  async #wait(clock: RetryClock, operation: string, key: string, error: unknown, signal?: AbortSignal): Promise<boolean> {
    try {
      return await clock.wait(operation, key, error, signal);
    } catch (abort) {
      throw signal?.aborted ? signal.reason : abort;
    }
  }

  /** What the caller sees once retrying is over: a StoreError, or the body's own error unchanged. */
  #final(operation: string, key: string, error: unknown): unknown {
    if (error instanceof StoreError || !isTransient(error)) return error;
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return new StoreError('io', `${operation} ${this.url}/${key} failed: ${reason}`, {
      cause: error,
      hint: 'the store kept failing within the retry budget; check its health and the network, then run again',
    });
  }
}

type Spooled = { readonly whole: Buffer } | { readonly stream: Readable };

/** Reads up to `limitBytes` of a body: all of it (a buffer), or a stream of what was read plus the rest. */
async function spool(body: Readable, limitBytes: number): Promise<Spooled> {
  const head: Buffer[] = [];
  let bytes = 0;
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | Uint8Array>;
  while (bytes <= limitBytes) {
    const next = await iterator.next();
    if (next.done) return { whole: Buffer.concat(head) };
    const buffer = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    head.push(buffer);
    bytes += buffer.length;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    }
  }
  return { stream: Readable.from(rest(), { objectMode: false }) };
}
