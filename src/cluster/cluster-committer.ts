// The only writer of cluster.json. Same rule as backup/commit.ts for a member's manifest.json:
// member objects (and their manifests) first, cluster.json last, by compare-and-swap on the
// version read, so two passes at once cannot fork the cluster timeline; the loser gets
// ConflictError and its member commits stay valid replica-set chains.
import { ConflictError, StoreError } from '../errors.ts';
import {
  CLUSTER_MANIFEST_KEY,
  emptyClusterManifest,
  parseClusterManifest,
  serializeClusterManifest,
  type ClusterManifest,
} from '../archive/cluster-manifest.ts';
import type { Store } from '../store/store.ts';
import { etagIfHolding } from '../backup/commit.ts';

/** cluster.json and its etag; an empty manifest and null when the store holds none. */
export async function readClusterManifest(store: Store): Promise<{ manifest: ClusterManifest; etag: string | null }> {
  const info = await store.stat(CLUSTER_MANIFEST_KEY);
  if (!info) return { manifest: emptyClusterManifest(), etag: null };
  const bytes = await readAll(store, CLUSTER_MANIFEST_KEY);
  return { manifest: parseClusterManifest(bytes), etag: info.etag };
}

/** Whether the store is a cluster store (it has cluster.json). */
export async function isClusterStore(store: Store): Promise<boolean> {
  return (await store.stat(CLUSTER_MANIFEST_KEY)) !== null;
}

export class ClusterCommitter {
  readonly #store: Store;
  #manifest: ClusterManifest;
  #etag: string | null;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(store: Store, manifest: ClusterManifest, etag: string | null) {
    this.#store = store;
    this.#manifest = manifest;
    this.#etag = etag;
  }

  static async open(store: Store): Promise<ClusterCommitter> {
    const { manifest, etag } = await readClusterManifest(store);
    return new ClusterCommitter(store, manifest, etag);
  }

  get manifest(): ClusterManifest {
    return this.#manifest;
  }

  /** Applies a pure update to the newest version and writes it only if nobody wrote since. */
  commit(update: (manifest: ClusterManifest) => ClusterManifest): Promise<ClusterManifest> {
    const next = this.#queue.then(() => this.#commitNow(update));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #commitNow(update: (manifest: ClusterManifest) => ClusterManifest): Promise<ClusterManifest> {
    const next = update(this.#manifest);
    const body = serializeClusterManifest(next);
    try {
      const { etag } = await this.#store.putIfMatch(CLUSTER_MANIFEST_KEY, body, this.#etag);
      this.#manifest = next;
      this.#etag = etag;
      return next;
    } catch (error) {
      if (!(error instanceof StoreError && error.kind === 'precondition-failed')) throw error;
      // A retried write whose first attempt landed (its reply lost) holds exactly these bytes.
      const landed = await etagIfHolding(this.#store, CLUSTER_MANIFEST_KEY, body);
      if (landed !== null) {
        this.#manifest = next;
        this.#etag = landed;
        return next;
      }
      throw new ConflictError(`another mongo-pitr run changed ${CLUSTER_MANIFEST_KEY} first`, {
        cause: error,
        hint: 'run one cluster backup per store at a time; the next pass continues from the other one\'s members',
      });
    }
  }
}

async function readAll(store: Store, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
