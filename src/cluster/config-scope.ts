// Which config metadata a cluster restore under --nsInclude/--nsExclude writes, so that the
// routing agrees with the shard data restored. Pure.
//
// The metadata names namespaces in these fields (the config server's document shapes):
//   - config.collections: `_id` is the namespace (src/mongo/s/catalog/type_collection.idl);
//   - config.chunks: `uuid` names the collection since 5.0, `ns` before (type_chunk.cpp): a
//     chunk goes with its collection, by uuid through ConfigMetadataRewriter, or by `ns`;
//   - config.tags: `ns` (type_tags.cpp);
//   - config.databases: `_id` is the database name (type_database.idl).
// A collection the rules exclude leaves no routing entry (collection, chunks, zones). A database
// gets its config.databases entry only when something of it is restored: an accepted sharded
// collection, or an accepted namespace the shard restores wrote (its unsharded collections,
// which live on the database's primary shard and are routed by that entry alone).
// A sharded time-series collection is catalogued as `db.system.buckets.X`; the rules decide it
// by `db.X`, the name users give, as they do for its oplog entries (namespace-rules.ts).
import { splitNs } from '../namespace.ts';
import type { NamespaceRules } from '../restore/namespace-rules.ts';

const BUCKETS_PREFIX = 'system.buckets.';

export interface ConfigScope {
  /** True when no rule was given: everything of the source is written, as before. */
  readonly all: boolean;
  /** Whether a collection's routing (config.collections, its chunks, its zones) is written. */
  collection(ns: string): boolean;
  /** Whether a database's config.databases entry is written. */
  database(db: string): boolean;
}

/** Everything: a cluster restore without namespace rules. */
export const WHOLE_SCOPE: ConfigScope = { all: true, collection: () => true, database: () => true };

/**
 * The scope for `rules`, given the sharded collections of the source metadata (config.collections
 * `_id`s at the cutoff) and the namespaces the shard restores wrote (already filtered by the rules).
 */
export function configScope(rules: Pick<NamespaceRules, 'identity' | 'accepts'>, shardedNs: Iterable<string>, restoredNs: Iterable<string>): ConfigScope {
  if (rules.identity) return WHOLE_SCOPE;
  const collection = (ns: string): boolean => rules.accepts(visibleNs(ns));
  const databases = new Set<string>();
  for (const ns of shardedNs) if (collection(ns)) databases.add(splitNs(ns).db);
  for (const ns of restoredNs) if (collection(ns)) databases.add(splitNs(ns).db);
  return { all: false, collection, database: (db) => databases.has(db) };
}

/** `db.system.buckets.X` → `db.X`; any other namespace unchanged. */
function visibleNs(ns: string): string {
  const { db, coll } = splitNs(ns);
  return coll.startsWith(BUCKETS_PREFIX) ? `${db}.${coll.slice(BUCKETS_PREFIX.length)}` : ns;
}
