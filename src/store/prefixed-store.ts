// A Store that is a part of another: every key is read and written under `prefix` of the inner
// store, and keys come back without it. A cluster store keeps one ordinary replica-set store per
// member under members/<name>/ (cluster/member-store.ts): each member has its own manifest.json,
// so the members' commits never contend for one object, and each member chain is exactly a
// replica-set chain (restore, verify and prune read it unchanged).
import type { Readable } from 'node:stream';
import type { GetOptions, ObjectInfo, PutResult, Store } from './store.ts';
import { hasPublicAccessCheck } from './public-access-check.ts';

export class PrefixedStore implements Store {
  readonly #inner: Store;
  readonly #prefix: string;

  /** `prefix` is a folder: it ends with "/" (added when missing) and is never empty. */
  constructor(inner: Store, prefix: string) {
    if (prefix.replace(/\/+$/, '') === '') throw new Error('a prefixed store needs a non-empty prefix');
    this.#inner = inner;
    this.#prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  /** The inner store's location with the prefix, so a member's manifest names its own home. */
  get url(): string {
    return `${this.#inner.url.replace(/\/+$/, '')}/${this.#prefix.replace(/\/+$/, '')}`;
  }

  get prefix(): string {
    return this.#prefix;
  }

  /** Forwarded like the retrying store does: status asks the bucket under the member's key. */
  async publicAccessWarnings(probeKey: string): Promise<string[]> {
    return hasPublicAccessCheck(this.#inner) ? this.#inner.publicAccessWarnings(this.#prefix + probeKey) : [];
  }

  put(key: string, body: Readable | Buffer, options?: { signal?: AbortSignal }): Promise<PutResult> {
    return this.#inner.put(this.#prefix + key, body, options).then((result) => this.#unprefixed(result));
  }

  get(key: string, options?: GetOptions): Promise<Readable> {
    return this.#inner.get(this.#prefix + key, options);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const info = await this.#inner.stat(this.#prefix + key);
    return info && this.#unprefixed(info);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Ascending order is kept: one common prefix on every key does not change their order.
    for await (const info of this.#inner.list(this.#prefix + prefix)) yield this.#unprefixed(info);
  }

  delete(key: string): Promise<void> {
    return this.#inner.delete(this.#prefix + key);
  }

  putIfMatch(key: string, body: Buffer, etag: string | null): Promise<PutResult> {
    return this.#inner.putIfMatch(this.#prefix + key, body, etag).then((result) => this.#unprefixed(result));
  }

  check(): Promise<void> {
    return this.#inner.check();
  }

  /** The inner store is shared by every member: the cluster closes it, once. */
  async close(): Promise<void> {}

  #unprefixed<T extends { readonly key: string }>(value: T): T {
    const key = value.key.startsWith(this.#prefix) ? value.key.slice(this.#prefix.length) : value.key;
    return { ...value, key };
  }
}
