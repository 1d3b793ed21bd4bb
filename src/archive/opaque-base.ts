// Encrypted bases name nothing in the store. A plain base keeps mongodump's layout,
// `<db>/<coll>.bson.gz` and `<db>/<coll>.metadata.json.gz`, and its manifest entry says db, coll,
// type and document count. An encrypted base (any cipher: the manifest's `encryption` field, set
// by the store's cipher, decides) stores each collection under a random id instead
// (`bases/<folder>/<cid>.bson.gz`, `<cid>.metadata.json.gz`, object-keys.ts), and its manifest
// entry (manifest.ts OpaqueCollection) lists only the two objects. The names travel inside the
// collection's own encrypted metadata object, the catalog of that collection: mongodump's
// metadata document (options, indexes, uuid, collectionName, type) plus `db` and `docs`.
// Restore, export, find and replay read it with the identity; status, list, verify, prune and
// compaction never need it (they read sizes and sha256 of stored bytes).
//
// Why each collection carries its own catalog rather than one catalog object per base: a base
// is resumable (backup/take-base.ts), and the run that seals it may hold public keys only (age
// recipients), so it cannot read what earlier runs stored to merge it into one object. A
// collection's names committed in the same manifest update as its objects are never lost to a
// killed run, and restore reads the metadata objects anyway.
//
// What the manifest (head and index segments, readable without the key) still shows for an
// encrypted chain:
//   - the store location, the source's replica set name and replicaSetId, chain and base ids
//     (T0 and a random run id), when the base started and finished, its commit-point kind;
//   - per base: how many collection entries, which of them have no data object (views), each
//     object's random key, stored size, uncompressed size, sha256, and the cipher's name, in
//     the order they were stored (the dump order is random); the total document count of the
//     base (per-collection counts are inside the metadata objects);
//   - per oplog object (base oplog, chunks, compacted objects): first and last ts and wall
//     clock, entry count, sizes, sha256 and the hash links, when it was sealed, the lag and the
//     commit point; no per-namespace statistics (empty for encrypted chunks, write-oplog-object.ts);
//   - while a base is pending only: each stored collection's source UUID (random, names nothing;
//     how a run holding public keys only resumes without re-dumping) and document count, dropped
//     when the base is sealed. A store that keeps old manifest versions keeps these too.
// No database, collection, view or index name, no document value and no namespace activity.
import { BSON, type Document } from 'mongodb';
import { IntegrityError } from '../errors.ts';
import { joinNs } from '../namespace.ts';
import { serializeMetadata, type CollectionMetadata } from './collection-metadata.ts';
import type { Base, CollectionEntry, Manifest, OpaqueCollection, OpaqueCollections, PendingBase, StoredObject } from './manifest.ts';

const { EJSON } = BSON;

/** What an encrypted base's metadata object adds to mongodump's metadata document. */
export interface CatalogNames {
  readonly db: string;
  readonly docs: number;
}

/** The metadata object of an encrypted base's collection: mongodump's document, plus `db` and `docs`. */
export function serializeCatalogMetadata(metadata: CollectionMetadata, names: CatalogNames): Buffer {
  const document = EJSON.parse(serializeMetadata(metadata).toString(), { relaxed: false }) as Document;
  return Buffer.from(EJSON.stringify({ ...document, db: names.db, docs: names.docs }, { relaxed: false }));
}

/** The names an encrypted base's metadata object holds (already decrypted and gunzipped). */
export function parseCatalogNames(bytes: Buffer, key: string): Pick<CollectionEntry, 'db' | 'coll' | 'type' | 'docs'> {
  let document: Document;
  try {
    // Relaxed: the count reads as a number (canonical mode would give an Int32).
    document = EJSON.parse(bytes.toString(), { relaxed: true }) as Document;
  } catch (error) {
    throw new IntegrityError(`${key} is not a collection's metadata`, { cause: error });
  }
  const { db, collectionName, docs } = document;
  if (typeof db !== 'string' || typeof collectionName !== 'string' || typeof docs !== 'number') {
    throw new IntegrityError(`${key} names no database, collection and document count: not an encrypted base's metadata object`);
  }
  const type = document.type === 'view' || document.type === 'timeseries' ? document.type : 'collection';
  return { db, coll: collectionName, type, docs };
}

/** Drops `db` and `docs` again, for a mongodump folder (export). */
export function withoutCatalogNames(bytes: Buffer): Buffer {
  const { db: _db, docs: _docs, ...document } = EJSON.parse(bytes.toString(), { relaxed: false }) as Document;
  return Buffer.from(EJSON.stringify(document, { relaxed: false }));
}

/** Reads one metadata object's plain bytes (decrypted, gunzipped). */
export type MetadataReader = (object: StoredObject) => Promise<Buffer>;

/**
 * The base with every collection named: the opaque ones read from their metadata objects, the
 * whole list in namespace order as a plain base has it. A plain base is returned as it is.
 * One namespace stored twice (a resumed run could not match the first copy: the collection was
 * dropped and created again, or the source reports no UUID) keeps its newest copy; either copy
 * restores the same state, since replay starts at T0, before both dumps.
 * Memory: one metadata document at a time, and one small entry per collection.
 */
export async function namedBase(base: Base, read: MetadataReader): Promise<Base> {
  if (!base.opaque) return base;
  const byNs = new Map<string, CollectionEntry>(base.collections.map((entry) => [joinNs(entry.db, entry.coll), entry]));
  for (const entry of base.opaque.collections) {
    const names = parseCatalogNames(await read(entry.metadata), entry.metadata.key);
    byNs.set(joinNs(names.db, names.coll), { ...names, data: entry.data, metadata: entry.metadata });
  }
  const { opaque: _opaque, ...rest } = base;
  return { ...rest, collections: [...byNs.values()].sort(byNamespace) };
}

/**
 * A sealed base's opaque collections: no UUID, no count. They stay in the order they were stored
 * (the dump order is random, take-base.ts), which namedBase needs to keep the newest of two
 * dumps of one namespace.
 */
export function sealOpaque(opaque: OpaqueCollections | undefined): OpaqueCollections | undefined {
  if (!opaque) return undefined;
  return { collections: opaque.collections.map(({ data, metadata }): OpaqueCollection => ({ data, metadata })), documents: opaque.documents };
}

/**
 * What a resumed run can tell is stored without reading a name: the UUIDs of the pending base's
 * opaque collections. listCollections reports `info.uuid`, "unique, immutable collection ID",
 * optional (mongodb/mongo src/mongo/db/list_collections.idl ListCollectionsReplyInfo): it stays
 * through a rename and changes when a collection is dropped and created again, so a match is the
 * same collection. Entries without one (views, servers without collection UUIDs) cannot be
 * matched to the source's catalog, so the run forgets them and dumps them again.
 */
export function resumableOpaque(pending: PendingBase): { readonly uuids: ReadonlySet<string>; readonly pending: PendingBase } {
  if (!pending.opaque) return { uuids: new Set(), pending };
  const kept = pending.opaque.collections.filter((entry) => entry.uuid !== undefined);
  const uuids = new Set(kept.flatMap((entry) => (entry.uuid === undefined ? [] : [entry.uuid])));
  if (kept.length === pending.opaque.collections.length) return { uuids, pending };
  const documents = kept.reduce((sum, entry) => sum + (entry.docs ?? 0), 0);
  return { uuids, pending: { ...pending, opaque: { collections: kept, documents } } };
}

/** The pending base `id` without the opaque entries a resumed run cannot match (resumableOpaque). */
export function forgetUnmatchedOpaque(manifest: Manifest, id: string): Manifest {
  if (!manifest.pendingBases) return manifest;
  return { ...manifest, pendingBases: manifest.pendingBases.map((pending) => (pending.id === id ? resumableOpaque(pending).pending : pending)) };
}

function byNamespace(a: CollectionEntry, b: CollectionEntry): number {
  return a.db !== b.db ? (a.db < b.db ? -1 : 1) : a.coll < b.coll ? -1 : a.coll > b.coll ? 1 : 0;
}
