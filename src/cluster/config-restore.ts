// The config metadata part of a cluster restore. The config server member's chain is restored,
// to the common cutoff, into a scratch database on the target config server (its sharding
// metadata kept: namespace.ts includeConfigMetadata), then each metadata collection is read
// back, rewritten for the target's shard names (config-metadata.ts) and written over the
// target's config.<collection> for the restored databases and collections only; the scratch
// database is dropped at the end. Under --nsInclude/--nsExclude only what the rules restore is
// cleared and written (config-scope.ts); under --nsFrom/--nsTo database renames, under the
// target names (database-renames.ts).
import type { Document, MongoClient } from 'mongodb';
import { MaxKey, MinKey } from 'mongodb';
import { CONFIG_METADATA_COLLECTIONS, ConfigMetadataRewriter, rewriteConfigDocuments, type ConfigMetadataCollection } from './config-metadata.ts';
import { compareBsonValues } from '../bson-order.ts';
import type { ShardMap } from './shard-map.ts';
import type { ChunkRange } from './chunk-ownership.ts';
import { WHOLE_SCOPE, type ConfigScope } from './config-scope.ts';
import { NO_RENAMES, type DatabaseRenames } from './database-renames.ts';

/** Where the config member's chain lands first, beside the target's own config database. */
export const CONFIG_SCRATCH_DB = 'mongo_pitr_config_restore';

/** Metadata writes as the config server's own are made: acknowledged by a majority. */
const MAJORITY = { w: 'majority' } as const;

/** Memory bound: documents are written in batches of this many. */
const BATCH = 500;

export interface ShardedCollection {
  readonly ns: string;
  readonly key: Document;
  readonly uuid: unknown;
  /** Chunks with target shard names. */
  readonly chunks: readonly ChunkRange[];
}

export interface ConfigRestoreResult {
  readonly written: Record<ConfigMetadataCollection, number>;
  readonly collections: readonly ShardedCollection[];
}

/**
 * Writes the rewritten metadata from the scratch database over the target's: a restored
 * database's or collection's document replaces the target's of the same _id; chunks and zones
 * of the restored collections replace the target's for those collections.
 */
export async function writeConfigMetadata(config: MongoClient, map: ShardMap, scope: ConfigScope = WHOLE_SCOPE, renames: DatabaseRenames = NO_RENAMES): Promise<ConfigRestoreResult> {
  const scratch = config.db(CONFIG_SCRATCH_DB);
  const target = config.db('config');
  const written = { databases: 0, collections: 0, chunks: 0, tags: 0 } satisfies Record<ConfigMetadataCollection, number>;
  await clearRestoredDatabases(config, scope, renames);
  // One rewriter for the four collections, in their order: it learns from config.collections
  // which chunks belong to the cluster's own collections (not written).
  const rewriter = new ConfigMetadataRewriter(map, scope, renames);
  for (const collection of CONFIG_METADATA_COLLECTIONS) {
    let batch: Document[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      if (collection === 'databases' || collection === 'collections') {
        await target.collection(collection).bulkWrite(batch.map((doc) => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } })), { ordered: true, writeConcern: MAJORITY });
      } else {
        await target.collection(collection).insertMany(batch, { ordered: true, writeConcern: MAJORITY });
      }
      written[collection] += batch.length;
      batch = [];
    };
    for await (const doc of rewriteConfigDocuments(collection, scratch.collection(collection).find({}), rewriter)) {
      batch.push(doc);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  }
  return { written, collections: await shardedCollections(config, scope, renames) };
}

/**
 * The target's metadata of every database being restored goes first (config-metadata.ts
 * configRestoreSteps): its config.databases entry, its collections, their chunks (by uuid, and
 * by ns as before 5.0) and zones. The config and admin databases' entries are the target's own.
 * Under namespace rules, only the databases and collections the scope holds: the target's other
 * collections of a restored database keep their routing, as mongorestore --nsInclude leaves them.
 */
async function clearRestoredDatabases(config: MongoClient, scope: ConfigScope, renames: DatabaseRenames): Promise<void> {
  const target = config.db('config');
  const sources = (await config.db(CONFIG_SCRATCH_DB).collection('databases').distinct('_id')).map(String).filter((db) => db !== 'config' && db !== 'admin' && scope.database(db));
  const inScopeNs = (ns: string): boolean => scope.collection(renames.sourceNs(ns));
  for (const db of sources.map((source) => renames.db(source))) {
    const prefix = new RegExp(`^${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`);
    const inScope = async (coll: 'chunks' | 'tags'): Promise<Document> =>
      scope.all ? { ns: prefix } : { ns: { $in: (await target.collection(coll).distinct('ns', { ns: prefix })).map(String).filter(inScopeNs) } };
    const collections = (await target.collection('collections').find({ _id: prefix } as Document, { projection: { uuid: 1 } }).toArray()).filter((doc) => inScopeNs(String(doc._id)));
    const uuids = collections.map((doc) => doc.uuid as unknown);
    await target.collection('chunks').deleteMany({ $or: [{ uuid: { $in: uuids } }, await inScope('chunks')] });
    await target.collection('tags').deleteMany(await inScope('tags'));
    await target.collection('collections').deleteMany({ _id: { $in: collections.map((doc) => doc._id as unknown) } } as Document);
    await target.collection('databases').deleteOne({ _id: db } as Document);
  }
}

/** The sharded collections as restored, with their chunks (target shard names), for orphan removal. */
async function shardedCollections(config: MongoClient, scope: ConfigScope, renames: DatabaseRenames): Promise<ShardedCollection[]> {
  const scratch = config.db(CONFIG_SCRATCH_DB);
  const out: ShardedCollection[] = [];
  for await (const coll of scratch.collection('collections').find({})) {
    // Orphan removal and UUID alignment only on what was restored: an excluded collection on
    // the target keeps its documents and routing.
    if (coll.dropped === true || !scope.collection(String(coll._id))) continue;
    const chunks = await config.db('config').collection('chunks').find({ uuid: coll.uuid }, { projection: { min: 1, max: 1, shard: 1 } }).toArray();
    const ranges = chunks.map((chunk) => ({ min: chunk.min as Document, max: chunk.max as Document, shard: String(chunk.shard) }));
    out.push({ ns: renames.ns(String(coll._id)), key: coll.key as Document, uuid: coll.uuid, chunks: withOpenEnds(ranges) });
  }
  return out;
}

export async function dropConfigScratch(config: MongoClient): Promise<void> {
  await config.db(CONFIG_SCRATCH_DB).dropDatabase();
}

/**
 * The lowest chunk's min as MinKey and the highest chunk's max as MaxKey in every field. The
 * server keeps them so (a collection starts as one chunk MinKey .. MaxKey and splits only inside
 * it: src/mongo/db/s/config/initial_split_policy.cpp), and chunk-ownership.ts checks it; a
 * metadata store that cannot hold MinKey/MaxKey (the FerretDB simulation of the tests) writes the
 * outermost bounds as the lowest and highest values it has. Read this way, a document is owned
 * by the outermost chunk below or above every bound, as on the server; contiguity inside is
 * still checked.
 */
export function withOpenEnds(chunks: readonly ChunkRange[]): ChunkRange[] {
  const sorted = [...chunks].sort((a, b) => compareBsonValues(a.min, b.min));
  const first = sorted[0];
  const last = sorted.at(-1);
  if (!first || !last) return sorted;
  const every = (doc: Document, value: MinKey | MaxKey): Document => Object.fromEntries(Object.keys(doc).map((field) => [field, value]));
  sorted[0] = { ...first, min: every(first.min, new MinKey()) };
  const end = sorted.length - 1;
  sorted[end] = { ...(sorted[end] ?? last), max: every(last.max, new MaxKey()) };
  return sorted;
}
