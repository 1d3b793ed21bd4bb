// Upload, then record: streams bytes through gzip into the store while counting and hashing
// them, and returns what the manifest will say about the object. Memory stays at a few gzip
// and upload buffers whatever the object's size. When the store has a cipher attached
// (crypt/store-cipher.ts) the gzip stream is encrypted before it is hashed and uploaded, so the
// digest describes the stored (encrypted) bytes.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DigestStream, type Digest } from '../archive/digest.ts';
import { encryptStageOf } from '../crypt/store-cipher.ts';
import type { StoredObject } from '../archive/manifest.ts';
import type { Store } from '../store/store.ts';

export async function storeGzipped(
  store: Store,
  key: string,
  source: AsyncIterable<Buffer> | Buffer,
  signal?: AbortSignal,
): Promise<StoredObject> {
  let rawBytes = 0;
  const counted = Readable.from(
    (async function* () {
      for await (const piece of Buffer.isBuffer(source) ? [source] : source) {
        rawBytes += piece.length;
        yield piece;
      }
    })(),
  );
  const encrypt = encryptStageOf(store, key);
  const { bytes, sha256 } = await putDigested(store, key, signal, (digest) =>
    encrypt
      ? pipeline(counted, createGzip(), encrypt.stage, digest, { signal, end: true })
      : pipeline(counted, createGzip(), digest, { signal, end: true }),
  );
  return { key, rawBytes, storedBytes: bytes, sha256, ...encrypt?.record() };
}

/**
 * Uploads what `fill` pipes into a digest stream, counting and hashing the stored bytes on the
 * way. Either side failing must fail both: an upload error stops the filler, a filler error (a
 * cursor, an abort) ends the upload, which then leaves no object behind.
 */
export async function putDigested(
  store: Store,
  key: string,
  signal: AbortSignal | undefined,
  fill: (digest: DigestStream) => Promise<void>,
): Promise<Digest> {
  const digest = new DigestStream();
  const filled = fill(digest);
  const uploaded = store.put(key, digest, { signal });
  try {
    await Promise.all([filled, uploaded]);
  } catch (error) {
    digest.destroy(error as Error);
    await Promise.allSettled([filled, uploaded]);
    throw error;
  }
  return digest.digest();
}
