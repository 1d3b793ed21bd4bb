// The storage seam: bytes ↔ named objects. It knows nothing about backups, chains or BSON; keys
// are opaque strings made by archive/object-keys.ts. Two implementations: a local folder and S3
// (or S3-compatible). Conditional writes (`putIfMatch`) are what keep two runs from forking the
// manifest: S3 `If-Match`/`If-None-Match`, and in the folder store versions published by link(2).
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** Opaque version token for `putIfMatch`; changes on every write. */
  readonly etag: string;
  readonly lastModified: Date;
}

export interface PutResult {
  readonly key: string;
  readonly etag: string;
  /** Bytes written, counted while streaming. */
  readonly size: number;
}

export interface GetOptions {
  readonly signal?: AbortSignal;
  /** The first byte to read; 0 when absent. */
  readonly start?: number;
}

export interface Store {
  /** Human-readable location with secrets redacted, e.g. "s3://bucket/prefix" or "file:///path". */
  readonly url: string;
  /**
   * Streams `body` into `key`. The object becomes visible only when complete: a failed or
   * aborted put leaves no partial object under `key` (multipart uploads are aborted; the folder
   * store writes a temporary file and renames it).
   */
  put(key: string, body: Readable | Buffer, options?: { signal?: AbortSignal }): Promise<PutResult>;
  /**
   * Reads an object as a stream; a missing key is StoreError('not-found'). `start` skips that
   * many bytes (a range read), which is how a download cut short resumes.
   */
  get(key: string, options?: GetOptions): Promise<Readable>;
  /** Object metadata, or null when the key does not exist. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, in ascending key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes an object; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Writes a small object only if its current version is `etag` (null: only if it does not
   * exist). A lost race is StoreError('precondition-failed'). Returns the new etag.
   */
  putIfMatch(key: string, body: Buffer, etag: string | null): Promise<PutResult>;
  /** Checks that the store is reachable and writable enough to start; throws StoreError. */
  check(): Promise<void>;
  close(): Promise<void>;
}
