// The config metadata a cluster restore writes to the target config server: config.databases,
// config.collections, config.chunks and config.tags as restored at the cutoff, with source shard
// names rewritten to target ones. Pure, one document at a time (config.chunks can be large).
import type { Document } from 'mongodb';
import type { ShardMap } from './shard-map.ts';
import { InternalStub } from './stub.ts';

/** The config collections a restore writes (config.shards of the target is never touched). */
export const CONFIG_METADATA_COLLECTIONS = ['databases', 'collections', 'chunks', 'tags'] as const;
export type ConfigMetadataCollection = (typeof CONFIG_METADATA_COLLECTIONS)[number];

/** A config.databases document with `primary` mapped. */
export function rewriteDatabase(doc: Document, map: ShardMap): Document {
  void doc; void map;
  throw new InternalStub('rewriteDatabase');
}

/** A config.collections document (no shard names inside; copied, checked). */
export function rewriteCollection(doc: Document, map: ShardMap): Document {
  void doc; void map;
  throw new InternalStub('rewriteCollection');
}

/** A config.chunks document with `shard` and every `history[].shard` mapped. */
export function rewriteChunk(doc: Document, map: ShardMap): Document {
  void doc; void map;
  throw new InternalStub('rewriteChunk');
}

/** A config.tags document (zone ranges: no shard names; copied). */
export function rewriteTag(doc: Document, map: ShardMap): Document {
  void doc; void map;
  throw new InternalStub('rewriteTag');
}

/** Dispatches on the collection name. */
export function rewriteConfigDocument(collection: ConfigMetadataCollection, doc: Document, map: ShardMap): Document {
  void collection; void doc; void map;
  throw new InternalStub('rewriteConfigDocument');
}

/** Rewrites a stream of one collection's documents (memory: one document at a time). */
export async function* rewriteConfigDocuments(collection: ConfigMetadataCollection, docs: AsyncIterable<Document> | Iterable<Document>, map: ShardMap): AsyncGenerator<Document> {
  void collection; void docs; void map;
  throw new InternalStub('rewriteConfigDocuments');
}

/** The steps a real restore takes around these documents, in order, for --dry-run and the README. */
export function configRestoreSteps(): readonly string[] {
  throw new InternalStub('configRestoreSteps');
}
