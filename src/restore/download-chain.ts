// Downloads what a restore needs into a local folder, checking each object's size and sha256
// as it streams, before anything is written to the target: a missing or corrupt object fails
// the restore while the target is still untouched. Objects download in parallel (p-limit).
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import pLimit from 'p-limit';
import type { MetadataReader } from '../archive/opaque-base.ts';
import { IntegrityError, StoreError } from '../errors.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-mode.ts';
import { DigestStream } from '../archive/digest.ts';
import { collectionObjectsOf, type StoredObject } from '../archive/manifest.ts';
import { verifyContinuity, type RestorePlan } from '../archive/chain-window.ts';
import type { Store } from '../store/store.ts';
import { decryptStageOf, requireIdentityFor } from '../crypt/store-cipher.ts';

export const DEFAULT_DOWNLOAD_CONCURRENCY = 4;

/** The base's collection objects (metadata and data), which the base load reads. */
export function baseObjectsOf(plan: RestorePlan): StoredObject[] {
  return collectionObjectsOf(plan.base);
}

/** Every object a plan reads, in the order a restore uses them. */
export function objectsOf(plan: RestorePlan): StoredObject[] {
  return [
    ...collectionObjectsOf(plan.base),
    plan.base.oplog,
    ...plan.chunks,
  ];
}

/** Reads a downloaded metadata object (decrypted, still gzip) from its local file: a few KiB. */
export function localMetadataReader(files: ReadonlyMap<string, string>): MetadataReader {
  return async (object) => {
    const file = files.get(object.key);
    if (file === undefined) throw new IntegrityError(`no local copy of ${object.key}`);
    return gunzipSync(await readFile(file));
  };
}

export async function downloadChain(
  store: Store,
  plan: RestorePlan,
  dir: string,
  options: { concurrency?: number; signal?: AbortSignal; onObject?: (object: StoredObject) => void } = {},
): Promise<Map<string, string>> {
  verifyContinuity(plan.chain);
  return downloadObjects(store, objectsOf(plan), dir, options);
}

/** Downloads objects in parallel, each verified (and decrypted); returns local files by key. */
export async function downloadObjects(
  store: Store,
  objects: readonly StoredObject[],
  dir: string,
  options: { concurrency?: number; signal?: AbortSignal; onObject?: (object: StoredObject) => void } = {},
): Promise<Map<string, string>> {
  requireIdentityFor(store, objects);
  const limit = pLimit(options.concurrency ?? DEFAULT_DOWNLOAD_CONCURRENCY);
  const files = new Map<string, string>();
  // The first failure stops the other downloads, and every one has ended before this returns:
  // the caller removes the folder next, which must not race a download still writing into it
  // (that surfaced as ENOTEMPTY instead of the download's own error).
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const outcomes = await Promise.allSettled(
    objects.map((object) =>
      limit(async () => {
        signal.throwIfAborted();
        const file = join(dir, object.key);
        try {
          await fetchVerified(store, object, file, signal);
        } catch (error) {
          stop.abort(error);
          throw error;
        }
        files.set(object.key, file);
        options.onObject?.(object);
      }),
    ),
  );
  if (options.signal?.aborted) throw options.signal.reason;
  if (stop.signal.aborted) throw stop.signal.reason;
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  return files;
}

/** Opens an object the manifest names: a missing one is an IntegrityError, not a store error. */
export async function getRecorded(store: Store, object: StoredObject, signal?: AbortSignal): Promise<Readable> {
  try {
    return await store.get(object.key, { signal });
  } catch (error) {
    if (error instanceof StoreError && error.kind === 'not-found') {
      throw new IntegrityError(`${object.key} is named by the manifest but missing from the store`, { cause: error });
    }
    throw error;
  }
}

/**
 * Streams one object to a file and checks it against the manifest; throws IntegrityError. An
 * encrypted object is hashed as stored, then decrypted on its way to the (private) file.
 */
export async function fetchVerified(store: Store, object: StoredObject, file: string, signal?: AbortSignal): Promise<void> {
  const body = await getRecorded(store, object, signal);
  await mkdir(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  const digest = new DigestStream();
  await pipeline(body, digest, decryptStageOf(store, object), createWriteStream(file, { mode: PRIVATE_FILE_MODE }), { signal });
  checkDigest(object, digest);
}

export function checkDigest(object: StoredObject, digest: DigestStream): void {
  const { bytes, sha256 } = digest.digest();
  if (bytes !== object.storedBytes || sha256 !== object.sha256) {
    throw new IntegrityError(
      `${object.key} is corrupt: ${bytes} bytes with sha256 ${sha256.slice(0, 12)}…, the manifest says ${object.storedBytes} bytes with ${object.sha256.slice(0, 12)}…`,
    );
  }
}
