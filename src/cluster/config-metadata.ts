// The config metadata a cluster restore writes to the target config server: config.databases,
// config.collections, config.chunks and config.tags as restored at the cutoff (the config
// member's own restore at C), with source shard names rewritten to target ones. Pure, one
// document at a time (config.chunks can be large).
//
// Where shard names occur (the config server's document shapes):
//   - config.databases (s/catalog/type_database.idl, type_database_gen): {_id: db, primary:
//     <shard>, version: {uuid, timestamp, lastMod}} (`partitioned` before 6.0);
//   - config.collections (s/catalog/type_collection.idl): {_id: ns, lastmodEpoch, lastmod,
//     timestamp, uuid, key, unique, noBalance, defaultCollation, allowMigrations,
//     reshardingFields, timeseriesFields, unsplittable (8.0)}: no shard name;
//   - config.chunks (s/catalog/type_chunk.h): {_id, uuid (5.0+; `ns` before), min, max,
//     shard, lastmod, history: [{validAfter, shard}], onCurrentShardSince, jumbo}: `shard` and
//     every `history[].shard`;
//   - config.tags (s/catalog/type_tags.h): {_id, ns, min, max, tag}: zone ranges, no shard
//     name; which shards are in a zone is config.shards' `tags`, the target's own
//     (zoneAssignments gives the addShardToZone calls that carry the source's over).
// The cluster's own entries (the config and admin databases, config.system.sessions and its
// chunks) are the target's and are never written.
import { UUID, type Document } from 'mongodb';
import { IntegrityError } from '../errors.ts';
import type { ShardMap } from './shard-map.ts';
import { WHOLE_SCOPE, type ConfigScope } from './config-scope.ts';
import { NO_RENAMES, type DatabaseRenames } from './database-renames.ts';

/** The config collections a restore writes, in the order to write them (chunks after collections). */
export const CONFIG_METADATA_COLLECTIONS = ['databases', 'collections', 'chunks', 'tags'] as const;
export type ConfigMetadataCollection = (typeof CONFIG_METADATA_COLLECTIONS)[number];

/** Databases whose sharding metadata is the cluster's own, not user data. */
const CLUSTER_DATABASES = new Set(['config', 'admin']);

function mapShard(map: ShardMap, shard: unknown, where: string): string {
  if (typeof shard !== 'string') throw new IntegrityError(`${where} has no shard name`);
  const target = map.get(shard);
  if (target === undefined) {
    throw new IntegrityError(`${where} names shard ${shard}, which the backup's shard list does not have`, {
      hint: 'the cluster manifest lists every shard that owned data in the window; a shard missing from it means the archive is incomplete',
    });
  }
  return target;
}

/** A config.databases document with `primary` mapped. */
export function rewriteDatabase(doc: Document, map: ShardMap): Document {
  return { ...doc, primary: mapShard(map, doc.primary, `config.databases ${String(doc._id)}`) };
}

/** A config.collections document (no shard names inside): copied. */
export function rewriteCollection(doc: Document, map: ShardMap): Document {
  void map;
  return { ...doc };
}

/**
 * A config.chunks document with `shard` and every `history[].shard` mapped. History entries
 * naming a shard outside the map (removed before the cutoff; history only serves snapshot reads
 * at earlier cluster times, which the restored cluster cannot serve anyway) are dropped.
 */
export function rewriteChunk(doc: Document, map: ShardMap): Document {
  const where = `config.chunks ${describeChunk(doc)}`;
  const rewritten: Document = { ...doc, shard: mapShard(map, doc.shard, where) };
  if (Array.isArray(doc.history)) {
    rewritten.history = doc.history.flatMap((entry: unknown) => {
      if (!isPlainObject(entry) || typeof entry.shard !== 'string') throw new IntegrityError(`${where}: a history entry has no shard`);
      const target = map.get(entry.shard);
      return target === undefined ? [] : [{ ...entry, shard: target }];
    });
  }
  return rewritten;
}

/** A config.tags document (a zone range: no shard name): copied. */
export function rewriteTag(doc: Document, map: ShardMap): Document {
  void map;
  return { ...doc };
}

/** Dispatches on the collection name. */
export function rewriteConfigDocument(collection: ConfigMetadataCollection, doc: Document, map: ShardMap): Document {
  switch (collection) {
    case 'databases':
      return rewriteDatabase(doc, map);
    case 'collections':
      return rewriteCollection(doc, map);
    case 'chunks':
      return rewriteChunk(doc, map);
    case 'tags':
      return rewriteTag(doc, map);
  }
}

/**
 * Rewrites the four collections in order, skipping what the target owns: the config and admin
 * databases' entries, their collections (config.system.sessions is sharded on every cluster)
 * and the chunks of those (by `uuid`, or `ns` before 5.0), and collections the pre-5.0 catalog
 * kept as `dropped: true`, and what the namespace rules leave out (config-scope.ts). Feed
 * `collections` before `chunks`: the uuids to skip are learnt there.
 */
export class ConfigMetadataRewriter {
  readonly #map: ShardMap;
  /** Canonical text of the uuids of collections not written: their chunks are not either. */
  readonly #skippedUuids = new Set<string>();
  readonly #scope: ConfigScope;
  readonly #renames: DatabaseRenames;
  #collectionsSeen = false;

  /** `scope` decides by source names; `renames` then gives the target names (database-renames.ts). */
  constructor(map: ShardMap, scope: ConfigScope = WHOLE_SCOPE, renames: DatabaseRenames = NO_RENAMES) {
    this.#map = map;
    this.#scope = scope;
    this.#renames = renames;
  }

  /** The document to write, or undefined when the target owns it. */
  rewrite(collection: ConfigMetadataCollection, doc: Document): Document | undefined {
    const rewritten = this.#rewrite(collection, doc);
    return rewritten && !this.#renames.identity ? renameConfigDocument(collection, rewritten, this.#renames) : rewritten;
  }

  #rewrite(collection: ConfigMetadataCollection, doc: Document): Document | undefined {
    switch (collection) {
      case 'databases':
        return CLUSTER_DATABASES.has(String(doc._id)) || !this.#scope.database(String(doc._id)) ? undefined : rewriteDatabase(doc, this.#map);
      case 'collections':
        this.#collectionsSeen = true;
        if (isClusterNs(doc._id) || doc.dropped === true || !this.#scope.collection(String(doc._id))) {
          if (doc.uuid !== undefined) this.#skippedUuids.add(uuidText(doc.uuid));
          return undefined;
        }
        return rewriteCollection(doc, this.#map);
      case 'chunks':
        if (doc.uuid !== undefined && !this.#collectionsSeen) throw new IntegrityError('config.chunks rewritten before config.collections: the cluster\'s own chunks cannot be told apart');
        if (isClusterNs(doc.ns) || this.#outOfScope(doc.ns) || (doc.uuid !== undefined && this.#skippedUuids.has(uuidText(doc.uuid)))) return undefined;
        return rewriteChunk(doc, this.#map);
      case 'tags':
        return isClusterNs(doc.ns) || this.#outOfScope(doc.ns) ? undefined : rewriteTag(doc, this.#map);
    }
  }

  /** A chunk's (before 5.0) or zone's `ns` the rules leave out. */
  #outOfScope(ns: unknown): boolean {
    return typeof ns === 'string' && !this.#scope.collection(ns);
  }
}

/**
 * A metadata document under its target names: the database's `_id` (with a version uuid of its
 * own when renamed), a collection's `_id`, a chunk's `ns` and `<ns>-<min>` `_id` (before 5.0), a
 * zone's `ns` and `{ns, min}` `_id`.
 */
export function renameConfigDocument(collection: ConfigMetadataCollection, doc: Document, renames: DatabaseRenames): Document {
  switch (collection) {
    case 'databases': {
      const db = renames.db(String(doc._id));
      if (db === doc._id) return doc;
      return { ...doc, _id: db, ...(isPlainObject(doc.version) && { version: { ...doc.version, uuid: new UUID() } }) };
    }
    case 'collections':
      return { ...doc, _id: renames.ns(String(doc._id)) };
    case 'chunks': {
      if (typeof doc.ns !== 'string') return doc;
      const ns = renames.ns(doc.ns);
      const id = typeof doc._id === 'string' && doc._id.startsWith(`${doc.ns}-`) ? `${ns}${doc._id.slice(doc.ns.length)}` : doc._id;
      return { ...doc, _id: id, ns };
    }
    case 'tags': {
      if (typeof doc.ns !== 'string') return doc;
      const ns = renames.ns(doc.ns);
      return { ...doc, _id: isPlainObject(doc._id) && doc._id.ns === doc.ns ? { ...doc._id, ns } : doc._id, ns };
    }
  }
}

/** Rewrites a stream of one collection's documents (memory: one document at a time). */
export async function* rewriteConfigDocuments(
  collection: ConfigMetadataCollection,
  docs: AsyncIterable<Document> | Iterable<Document>,
  rewriter: ConfigMetadataRewriter,
): AsyncGenerator<Document> {
  for await (const doc of docs) {
    const rewritten = rewriter.rewrite(collection, doc);
    if (rewritten) yield rewritten;
  }
}

/** One addShardToZone a restore runs on the target: a zone the source shard was in. */
export interface ZoneAssignment {
  readonly shard: string;
  readonly zone: string;
}

/**
 * The zones of the source's config.shards documents (s/catalog/type_shard.h `tags`), onto the
 * mapped target shards: the target's config.shards is not overwritten, so its zone membership
 * is set with addShardToZone instead.
 */
export function zoneAssignments(sourceShards: Iterable<Document>, map: ShardMap): ZoneAssignment[] {
  const assignments: ZoneAssignment[] = [];
  for (const doc of sourceShards) {
    const target = map.get(String(doc._id));
    if (target === undefined || !Array.isArray(doc.tags)) continue;
    for (const zone of doc.tags) if (typeof zone === 'string') assignments.push({ shard: target, zone });
  }
  return assignments;
}

/**
 * What a restore of the config metadata takes besides these documents, in order: for --dry-run
 * and the README. (Percona Backup for MongoDB's restore of a sharded cluster does the same
 * work for its own layout: balancer stopped, config collections restored, routers refreshed.)
 */
export function configRestoreSteps(): readonly string[] {
  return [
    'stop the target\'s balancer for the restore (balancerStop), and set it back as the operator had it afterwards',
    'on the target config server, delete the config.databases, config.collections, config.chunks and config.tags entries of the databases being restored (never config.shards, config.version, nor the config and admin databases\' entries)',
    'write the rewritten config.databases, then config.collections, config.chunks, config.tags to the target config server primary with majority write concern',
    'assign the source shards\' zones to their target shards (addShardToZone, zoneAssignments)',
    'restore each source shard\'s data at the cutoff directly onto its target shard; unsharded collections thereby land on their database\'s (mapped) primary shard',
    'keep each sharded collection\'s UUID as config.collections has it (an applyOps-capable target keeps the source UUIDs); otherwise rewrite config.collections.uuid and config.chunks.uuid to the UUIDs the target shards created, or the shards refuse the routing metadata',
    'remove orphans: documents of a sharded collection on a shard that does not own their chunk at the cutoff (a migration\'s clone, a pending range deletion), by chunk-ownership.ts',
    'make every target shard primary reload its filtering metadata (_flushRoutingTableCacheUpdates per restored namespace) and every mongos its routing table (flushRouterConfig)',
  ];
}

function isClusterNs(ns: unknown): boolean {
  if (typeof ns !== 'string') return false;
  const dot = ns.indexOf('.');
  return CLUSTER_DATABASES.has(dot < 0 ? ns : ns.slice(0, dot));
}

function uuidText(uuid: unknown): string {
  const bytes = isPlainObject(uuid) ? undefined : (uuid as { buffer?: Uint8Array; toHexString?: () => string });
  if (bytes?.toHexString) return bytes.toHexString();
  if (bytes?.buffer instanceof Uint8Array) return Buffer.from(bytes.buffer).toString('hex');
  return String(uuid);
}

function describeChunk(doc: Document): string {
  const owner = doc.uuid !== undefined ? `of collection ${uuidText(doc.uuid)}` : `of ${String(doc.ns)}`;
  return `${String(doc._id)} ${owner}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { _bsontype?: unknown })._bsontype !== 'string';
}
