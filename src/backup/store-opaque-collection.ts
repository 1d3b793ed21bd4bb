// Stores one collection of an encrypted base under a random id (archive/opaque-base.ts): the
// documents first, then the metadata object, which carries the names and the document count,
// so the manifest entry names nothing. Used by the base dump and by import alike.
import type { CollectionMetadata } from '../archive/collection-metadata.ts';
import type { CollectionEntry, OpaqueCollection, StoredObject } from '../archive/manifest.ts';
import { newOpaqueCollectionId, opaqueDataKey, opaqueMetadataKey } from '../archive/object-keys.ts';
import { serializeCatalogMetadata } from '../archive/opaque-base.ts';
import { encryptStageOf } from '../crypt/store-cipher.ts';
import type { Store } from '../store/store.ts';
import { storeGzipped } from './store-object.ts';

/** A stored collection: its names (for the caller's progress), and for an encrypted base what the manifest records. */
export interface StoredCollection {
  readonly named: CollectionEntry;
  /** Set when stored encrypted: the manifest records this, not `named`. */
  readonly opaque?: OpaqueCollection & { readonly docs: number };
}

/** True when new objects written to `store` are encrypted, whichever cipher does it: bases are then stored opaque. */
export function storesOpaque(store: Store): boolean {
  return encryptStageOf(store) !== undefined;
}

export async function storeOpaqueCollection(
  store: Store,
  /** The base folder this run writes into. */
  folder: string,
  db: string,
  metadata: CollectionMetadata,
  /** Null for a view. */
  documents: AsyncIterable<Buffer> | null,
  signal?: AbortSignal,
): Promise<StoredCollection> {
  const cid = newOpaqueCollectionId();
  let docs = 0;
  let data: StoredObject | null = null;
  if (documents !== null) {
    const counted = (async function* () {
      for await (const document of documents) {
        docs++;
        yield document;
      }
    })();
    data = await storeGzipped(store, opaqueDataKey(folder, cid), counted, signal);
  }
  const stored = await storeGzipped(store, opaqueMetadataKey(folder, cid), serializeCatalogMetadata(metadata, { db, docs }), signal);
  return {
    named: { db, coll: metadata.collectionName, type: metadata.type, docs, data, metadata: stored },
    opaque: { data, metadata: stored, docs, ...(metadata.uuid === null ? {} : { uuid: metadata.uuid }) },
  };
}
