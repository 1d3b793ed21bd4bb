// Upload, then record: streams bytes through gzip into the store while counting and hashing
// them, and returns what the manifest will say about the object. Memory stays at a few gzip
// and upload buffers whatever the object's size. When the store has a cipher attached
// (crypt/store-cipher.ts) the gzip stream is encrypted before it is hashed and uploaded, so the
// digest describes the stored (encrypted) bytes.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DigestStream } from '../archive/digest.ts';
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
  const digest = new DigestStream();
  const encrypt = encryptStageOf(store, key);
  const compressed = encrypt
    ? pipeline(counted, createGzip(), encrypt.stage, digest, { signal, end: true })
    : pipeline(counted, createGzip(), digest, { signal, end: true });
  const uploaded = store.put(key, digest, { signal });
  // Either side failing must fail both: an upload error stops the reader, a reader error
  // (a cursor, an abort) ends the upload, which then leaves no object behind.
  try {
    await Promise.all([compressed, uploaded]);
  } catch (error) {
    digest.destroy(error as Error);
    await Promise.allSettled([compressed, uploaded]);
    throw error;
  }
  const { bytes, sha256 } = digest.digest();
  return { key, rawBytes, storedBytes: bytes, sha256, ...encrypt?.record() };
}
