// After each shard is restored to the cutoff, a document a shard holds but does not own by the
// restored chunks is an orphan: a migration's copy on the recipient before the commit, or the
// donor's before its range deletion (src/mongo/db/s/range_deleter_service.cpp deletes them later,
// with fromMigrate). Reading through a router filters them out; a restore deletes them so that
// every document is on its owner and counted once.
import type { Document, MongoClient } from 'mongodb';
import { splitNs } from '../namespace.ts';
import { ChunkOwnership } from './chunk-ownership.ts';
import type { ShardedCollection } from './config-restore.ts';

/** Memory bound: ids of orphans are deleted in batches of this many. */
const BATCH = 1000;

export async function removeOrphans(shard: MongoClient, shardName: string, collections: readonly ShardedCollection[], signal?: AbortSignal): Promise<number> {
  let removed = 0;
  for (const collection of collections) {
    const ownership = new ChunkOwnership(collection.key, collection.chunks);
    const { db, coll } = splitNs(collection.ns);
    const target = shard.db(db).collection(coll);
    const projection: Document = { _id: 1 };
    for (const field of Object.keys(collection.key)) projection[field] = 1;
    let ids: unknown[] = [];
    const flush = async () => {
      if (ids.length === 0) return;
      removed += (await target.deleteMany({ _id: { $in: ids } } as Document)).deletedCount;
      ids = [];
    };
    for await (const doc of target.find({}, { projection })) {
      signal?.throwIfAborted();
      if (ownership.ownerOf(doc) !== shardName) ids.push(doc._id);
      if (ids.length >= BATCH) await flush();
    }
    await flush();
  }
  return removed;
}
