// The only manifest writer. Objects first, manifest last, and only through conditional writes:
// each commit names the manifest version it read, so two runs at once cannot fork or overwrite
// the chain. The loser gets ConflictError, and the objects it wrote stay unreferenced (restore
// ignores them, prune removes them).
import { ConflictError, StoreError } from '../errors.ts';
import { MANIFEST_KEY } from '../archive/object-keys.ts';
import { emptyManifest, parseManifest, serializeManifest, type Manifest } from '../archive/manifest.ts';
import { assertManifestHome } from '../archive/chain-health.ts';
import type { Store } from '../store/store.ts';

export class ManifestCommitter {
  readonly #store: Store;
  #manifest: Manifest;
  #etag: string | null;

  private constructor(store: Store, manifest: Manifest, etag: string | null) {
    this.#store = store;
    this.#manifest = manifest;
    this.#etag = etag;
  }

  /**
   * Reads the current manifest (an empty one when the store is new). A manifest written for
   * another store location is refused here, before anything is written (adoptManifest).
   */
  static async open(store: Store): Promise<ManifestCommitter> {
    const { manifest, etag } = await readManifest(store);
    assertManifestHome(manifest, store.url);
    return new ManifestCommitter(store, manifest, etag);
  }

  get manifest(): Manifest {
    return this.#manifest;
  }

  /** Applies a pure update and writes it only if nobody else wrote since we read. */
  async commit(update: (manifest: Manifest) => Manifest): Promise<Manifest> {
    // Every write records where the manifest lives, so a copy found elsewhere is recognised.
    const next = { ...update(this.#manifest), storeUrl: this.#store.url };
    const body = serializeManifest(next);
    try {
      const { etag } = await this.#store.putIfMatch(MANIFEST_KEY, body, this.#etag);
      this.#manifest = next;
      this.#etag = etag;
      return next;
    } catch (error) {
      if (error instanceof StoreError && error.kind === 'precondition-failed') {
        // A write whose reply was lost is sent again (by the SDK or the store's retries) and the
        // second one is refused because the first landed. The manifest then holds exactly what
        // this run wrote: the commit succeeded. Anything else is another run's write.
        const landed = await etagIfHolding(this.#store, body);
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
}

/**
 * Makes this store the manifest's home (the user's explicit --adopt-manifest after copying or
 * moving a store); returns the location it was written for, or null when nothing changed.
 */
export async function adoptManifest(store: Store): Promise<string | null> {
  const { manifest, etag } = await readManifest(store);
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

/** The manifest's etag if it holds exactly `body`, else null. */
async function etagIfHolding(store: Store, body: Buffer): Promise<string | null> {
  const info = await store.stat(MANIFEST_KEY);
  if (!info || info.size !== body.length) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(MANIFEST_KEY)) chunks.push(chunk as Buffer);
  // Read after the stat: if another run wrote in between, the bytes differ or the next commit
  // with this etag is refused; neither can make a lost race look like a win that sticks.
  return Buffer.concat(chunks).equals(body) ? info.etag : null;
}

export async function readManifest(store: Store): Promise<{ manifest: Manifest; etag: string | null }> {
  const info = await store.stat(MANIFEST_KEY);
  if (!info) return { manifest: emptyManifest(), etag: null };
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(MANIFEST_KEY)) chunks.push(chunk as Buffer);
  const manifest = parseManifest(Buffer.concat(chunks));
  return { manifest, etag: info.etag };
}
