// The only manifest writer. Objects first, head last, and only through conditional writes:
// each commit names the head version it read, so two runs at once cannot fork or overwrite the
// chain. The loser gets ConflictError, and the objects it wrote stay unreferenced (restore
// ignores them, prune removes them).
//
// Format 2 (archive/index-segment.ts): a commit writes the head, and when a chain has a full
// segment's worth of unsealed records, that segment first (never over an existing key). A crash
// between the two leaves an unreferenced segment and the records still in the head. A format-1
// manifest is read as a head whose records are all unsealed, so the first commit converts it.
import { ConflictError, StoreError } from '../errors.ts';
import { MANIFEST_KEY, MANIFEST_V1_COPY_KEY, newRunId } from '../archive/object-keys.ts';
import { serializeManifest, type Manifest } from '../archive/manifest.ts';
import { assertManifestHome } from '../archive/chain-health.ts';
import { sealDue, type IndexWrite } from '../archive/index-segment.ts';
import type { Store } from '../store/store.ts';
import { readHead } from './read-manifest.ts';

export { readHead, readManifest } from './read-manifest.ts';

export interface CommitOptions {
  /**
   * Index objects the update's head references (compaction's), stored before the head. Their
   * keys must be new: they are written only if absent.
   */
  readonly writes?: readonly IndexWrite[];
}

export class ManifestCommitter {
  readonly #store: Store;
  readonly #runId = newRunId();
  #manifest: Manifest;
  #etag: string | null;
  /** Commits run one at a time (stream compacts in the background while it flushes chunks). */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(store: Store, manifest: Manifest, etag: string | null) {
    this.#store = store;
    this.#manifest = manifest;
    this.#etag = etag;
  }

  /**
   * Reads the current head (an empty manifest when the store is new). A manifest written for
   * another store location is refused here, before anything is written (adoptManifest).
   */
  static async open(store: Store): Promise<ManifestCommitter> {
    const { manifest, etag } = await readHead(store);
    assertManifestHome(manifest, store.url);
    return new ManifestCommitter(store, manifest, etag);
  }

  /** The head: each chain's unsealed chunks and a summary of the sealed ones (manifest.ts). */
  get manifest(): Manifest {
    return this.#manifest;
  }

  /**
   * Applies a pure update to the newest head and writes it only if nobody else wrote since we
   * read. Calls from one process queue up: each update sees the head the one before committed.
   */
  commit(update: (manifest: Manifest) => Manifest, options: CommitOptions = {}): Promise<Manifest> {
    const next = this.#queue.then(() => this.#commitNow(update, options));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #commitNow(update: (manifest: Manifest) => Manifest, options: CommitOptions): Promise<Manifest> {
    // Every write records where the manifest lives, so a copy found elsewhere is recognised.
    const sealed = sealDue({ ...update(this.#manifest), storeUrl: this.#store.url }, Date.now(), this.#runId);
    const next = sealed.manifest;
    const body = serializeManifest(next);
    try {
      if (this.#manifest.formatVersion < 2 && this.#etag !== null) await this.#keepFormat1Copy();
      for (const write of [...(options.writes ?? []), ...sealed.writes]) await putNew(this.#store, write);
      const { etag } = await this.#store.putIfMatch(MANIFEST_KEY, body, this.#etag);
      this.#manifest = next;
      this.#etag = etag;
      return next;
    } catch (error) {
      if (error instanceof StoreError && error.kind === 'precondition-failed') {
        // A write whose reply was lost is sent again (by the SDK or the store's retries) and the
        // second one is refused because the first landed. The manifest then holds exactly what
        // this run wrote: the commit succeeded. Anything else is another run's write.
        const landed = await etagIfHolding(this.#store, MANIFEST_KEY, body);
        if (landed !== null) {
          this.#manifest = next;
          this.#etag = landed;
          return next;
        }
        throw new ConflictError('another mongo-pitr run changed the manifest first; this run\'s objects were not recorded', {
          cause: error,
          hint: 'run one backup per store at a time; the next scheduled run continues from the other one\'s checkpoint',
        });
      }
      throw error;
    }
  }

  /**
   * Before a format-1 manifest is first replaced, a copy of it goes to manifest-v1.json (outside
   * the prefixes prune sweeps), so that the conversion can be checked or undone by hand.
   */
  async #keepFormat1Copy(): Promise<void> {
    try {
      await this.#store.putIfMatch(MANIFEST_V1_COPY_KEY, serializeManifest(this.#manifest), null);
    } catch (error) {
      // An earlier, interrupted conversion stored it already: that copy is the original.
      if (!(error instanceof StoreError && error.kind === 'precondition-failed')) throw error;
    }
  }
}

/**
 * Stores an index object under a key no one else writes (it carries this run's id). Refused
 * because it exists, it is a lost reply's first write when it holds these very bytes.
 */
async function putNew(store: Store, write: IndexWrite): Promise<void> {
  try {
    await store.putIfMatch(write.key, write.bytes, null);
  } catch (error) {
    if (error instanceof StoreError && error.kind === 'precondition-failed' && (await etagIfHolding(store, write.key, write.bytes)) !== null) return;
    throw error;
  }
}

/**
 * Makes this store the manifest's home (the user's explicit --adopt-manifest after copying or
 * moving a store); returns the location it was written for, or null when nothing changed. Only
 * the head is rewritten: the index objects it pins do not name a store.
 */
export async function adoptManifest(store: Store): Promise<string | null> {
  const { manifest, etag } = await readHead(store);
  if (etag === null || manifest.storeUrl === undefined || manifest.storeUrl === store.url) return null;
  try {
    await store.putIfMatch(MANIFEST_KEY, serializeManifest({ ...manifest, storeUrl: store.url }), etag);
  } catch (error) {
    if (error instanceof StoreError && error.kind === 'precondition-failed') {
      throw new ConflictError('another mongo-pitr run changed the manifest while it was being adopted', { cause: error, hint: 'run it again' });
    }
    throw error;
  }
  return manifest.storeUrl;
}

/**
 * The object's etag if it holds exactly `body`, else null: how a conditional write refused
 * because its own first attempt landed (the reply lost) is told from another run's write.
 */
export async function etagIfHolding(store: Store, key: string, body: Buffer): Promise<string | null> {
  const info = await store.stat(key);
  if (!info || info.size !== body.length) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  // Read after the stat: if another run wrote in between, the bytes differ or the next commit
  // with this etag is refused; neither can make a lost race look like a win that sticks.
  return Buffer.concat(chunks).equals(body) ? info.etag : null;
}
