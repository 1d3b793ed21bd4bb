// What the bench writes to the source: the seed (N documents over a few collections) and, after
// the base backup, a generated oplog of M mixed operations.
//
// The mixed operations go to their own collection, `live`, used like a queue of recent orders:
// new orders are inserted, recent ones updated (status, timestamp, a counter), the oldest deleted,
// so the live set stays near `window` documents and inserts, updates and deletes come in equal
// thirds once it is full. The window keeps the live set small because FerretDB 1.x (SQLite)
// costs an update time proportional to the collection's size (measured: ~40 ms per updated
// document at 5,000 documents, ~100 ms at 20,000, with or without an oplog), which would make
// updates of the seeded collections take hours; the default window of 200 costs ~11 ms per
// update there, 1,000 about 37 ms (most of it writing the changed document: rewriting a
// document unchanged takes ~2 ms).
//
// Replay folds a document's ops within a batch, and a short-lived document's insert, updates and
// delete often fall in one batch: this mix is kind to mongo-pitr's portable replay. Updates
// spread over a large collection would fold less (see the restore stats in the JSON).
import type { AnyBulkWriteOperation, Document, MongoClient } from 'mongodb';
import { benchId, makeDocument } from './documents.ts';

const SEED_BATCH = 1000;
const SEED_IN_FLIGHT = 2;
/** Statements per update command on FerretDB, one command at a time (see portable-applier.ts). */
const FERRETDB_UPDATES_PER_COMMAND = 50;
const ROUND = 100;

export interface SeedResult {
  readonly collections: ReadonlyArray<{ readonly name: string; readonly docs: number }>;
  readonly docs: number;
  readonly ms: number;
}

export function collectionNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `orders_${index + 1}`);
}

/** Inserts documents [0, docs) split in contiguous blocks over `collections` collections. */
export async function seed(client: MongoClient, db: string, docs: number, collections: number, onProgress?: (done: number) => void): Promise<SeedResult> {
  const started = performance.now();
  const names = collectionNames(collections);
  const result: Array<{ name: string; docs: number }> = [];
  let done = 0;
  for (const [index, name] of names.entries()) {
    const from = Math.floor((docs * index) / collections);
    const to = Math.floor((docs * (index + 1)) / collections);
    const collection = client.db(db).collection(name);
    const inFlight = new Set<Promise<void>>();
    for (let start = from; start < to; start += SEED_BATCH) {
      const batch: Document[] = [];
      for (let n = start; n < Math.min(to, start + SEED_BATCH); n++) batch.push(makeDocument(n));
      const write: Promise<void> = collection.insertMany(batch, { ordered: false }).then(() => {
        inFlight.delete(write);
        done += batch.length;
        onProgress?.(done);
      });
      inFlight.add(write);
      if (inFlight.size >= SEED_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    result.push({ name, docs: to - from });
  }
  return { collections: result, docs, ms: performance.now() - started };
}

export interface GeneratedOps {
  readonly collection: string;
  readonly inserts: number;
  readonly updates: number;
  readonly deletes: number;
  readonly total: number;
  readonly ms: number;
  /** Time spent in each kind of write. */
  readonly insertMs: number;
  readonly updateMs: number;
  readonly deleteMs: number;
}

/**
 * Writes `ops` operations to `db.live`, numbering new documents from `firstIndex` on (after the
 * seed's), in rounds of ROUND inserts, ROUND updates of random live documents and ROUND deletes
 * of the oldest, once `window` documents are live.
 */
export async function generateOps(
  client: MongoClient,
  db: string,
  options: { ops: number; window: number; firstIndex: number; isFerretDB: boolean; onProgress?: (done: number) => void },
): Promise<GeneratedOps> {
  const started = performance.now();
  const collection = client.db(db).collection('live');
  const live: number[] = [];
  /** Each live document's version field (1 when inserted). */
  const versions = new Map<number, number>();
  let next = options.firstIndex;
  const counts = { inserts: 0, updates: 0, deletes: 0 };
  const spent = { insertMs: 0, updateMs: 0, deleteMs: 0 };
  const timed = async <T>(kind: keyof typeof spent, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      spent[kind] += performance.now() - start;
    }
  };
  const done = (): number => counts.inserts + counts.updates + counts.deletes;
  let random = 12345;
  const nextRandom = (): number => {
    random = (Math.imul(random, 1103515245) + 12345) >>> 0;
    return random / 4294967296;
  };
  while (done() < options.ops) {
    const inserts = Math.min(ROUND, options.ops - done());
    const batch: Document[] = [];
    for (let k = 0; k < inserts; k++) {
      batch.push(makeDocument(next));
      live.push(next++);
    }
    await timed('insertMs', () => collection.insertMany(batch, { ordered: false }));
    counts.inserts += inserts;
    if (live.length <= options.window) {
      options.onProgress?.(done());
      continue;
    }

    const updates = Math.min(ROUND, options.ops - done());
    if (updates > 0) {
      const chosen = new Set<number>();
      while (chosen.size < Math.min(updates, live.length)) chosen.add(live[Math.floor(nextRandom() * live.length)] ?? 0);
      const writes: AnyBulkWriteOperation[] = [...chosen].map((n, k) => {
        const version = (versions.get(n) ?? 1) + 1;
        versions.set(n, version);
        const change = { status: k % 2 === 0 ? 'shipped' : 'delivered', updatedAt: new Date(), version };
        // FerretDB logs either as the whole document under $set, and runs a replacement about
        // ten times faster than an operator update (measured: 2 ms vs 25 ms a statement at
        // 200 documents); MongoDB logs operator updates as $v:2 diffs, the common real case.
        return options.isFerretDB
          ? { replaceOne: { filter: { _id: benchId(n) }, replacement: { ...makeDocument(n), ...change }, upsert: true } }
          : { updateOne: { filter: { _id: benchId(n) }, update: { $set: { status: change.status, updatedAt: change.updatedAt }, $inc: { version: 1 } } } };
      });
      const perCommand = options.isFerretDB ? FERRETDB_UPDATES_PER_COMMAND : writes.length;
      for (let start = 0; start < writes.length; start += perCommand) {
        const result = await timed('updateMs', () => collection.bulkWrite(writes.slice(start, start + perCommand), { ordered: false }));
        counts.updates += result.modifiedCount;
      }
    }

    const deletes = Math.min(ROUND, options.ops - done(), live.length);
    if (deletes > 0) {
      const oldest = live.splice(0, deletes);
      for (const n of oldest) versions.delete(n);
      const result = await timed('deleteMs', () => collection.deleteMany({ _id: { $in: oldest.map(benchId) } }));
      counts.deletes += result.deletedCount;
    }
    options.onProgress?.(done());
  }
  return { collection: 'live', ...counts, total: done(), ms: performance.now() - started, ...spent };
}
