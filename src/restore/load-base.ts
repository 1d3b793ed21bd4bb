// Loads a base into the target: each collection created with its recorded options, documents
// inserted in unordered batches (a capped collection's in dump order), views last (they may
// read any collection). Secondary indexes are not built here: the result lists them, and
// restore.ts builds them after replay (index-catalog.ts says why).
// Memory bound, whatever the base's size: `concurrency` collections load at once, each with at
// most BATCHES_IN_FLIGHT batches in flight; a batch is read as raw BSON (at most
// DEFAULT_INSERT_BATCH_DOCS documents or DEFAULT_INSERT_BATCH_BYTES) and decoded only as it is
// sent, since a decoded document takes several times its BSON size in the heap.
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { Binary, MongoBulkWriteError, MongoServerError, type Document, type MongoClient } from 'mongodb';
import pLimit from 'p-limit';
import type { Collection } from 'mongodb';
import { TargetError } from '../errors.ts';
import { parseMetadata, type CollectionMetadata } from '../archive/collection-metadata.ts';
import { readBsonFile } from '../archive/bson-frames.ts';
import { decodeOrdered } from '../ordered-document.ts';
import { dataObjectsOf, type Base, type CollectionEntry } from '../archive/manifest.ts';
import { bucketsCollection, holdsBuckets } from '../archive/timeseries-layout.ts';
import { joinNs, splitNs } from '../namespace.ts';
import type { NamespaceMapper } from './namespace-mapper.ts';
import { TaskWindow } from './task-window.ts';
import { planCreate } from '../target/create-with-uuid.ts';
import { refuseUuidCollisions, uuidCollisions } from './preserve-uuid.ts';
import type { CollectionIndexes } from './index-catalog.ts';

const MiB = 1024 * 1024;
export const DEFAULT_INSERT_BATCH_DOCS = 1000;
/**
 * Small on purpose: a batch's documents live (decoded, about 3.5 times their BSON size) for its
 * whole round trip, long enough for V8 to move them to the old generation, whose garbage then
 * piles up to a few times the live size before a full collection. Measured on a 20,000
 * document restore (FerretDB, --max-semi-space-size=8): peak RSS 372 MiB with batches of
 * 1,000 documents (~1 MiB), 260 MiB at 256 KiB, for the same load time.
 */
export const DEFAULT_INSERT_BATCH_BYTES = MiB / 4;
export const DEFAULT_LOAD_CONCURRENCY = 4;
/** Insert batches in flight per collection: one on the server while the next is read. */
export const BATCHES_IN_FLIGHT = 2;
const DUPLICATE_KEY = 11000;
const NAMESPACE_EXISTS = 48;

export interface LoadBaseOptions {
  readonly client: MongoClient;
  readonly base: Base;
  /** Local files by object key (restore/download-chain.ts). */
  readonly files: ReadonlyMap<string, string>;
  readonly namespaces: NamespaceMapper;
  readonly drop: boolean;
  /**
   * Create each collection with its source UUID (target/create-with-uuid.ts); decided by
   * restore/preserve-uuid.ts, which only allows it with `drop` on a target with applyOps.
   */
  readonly preserveUuid?: boolean;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onCollection?: (ns: string, docs: number) => void;
}

export interface LoadBaseResult {
  readonly collections: number;
  readonly documents: number;
  /** Documents already present in the target (duplicate _id), left as they were. */
  readonly duplicates: number;
  /** Collections created with their source UUID (preserveUuid). */
  readonly uuidsPreserved: number;
  /** Each loaded collection's index specs as its metadata lists them, to build after replay. */
  readonly indexes: readonly CollectionIndexes[];
}

export async function loadBase(options: LoadBaseOptions): Promise<LoadBaseResult> {
  const limit = pLimit(options.concurrency ?? DEFAULT_LOAD_CONCURRENCY);
  const result = { collections: 0, documents: 0, duplicates: 0, uuidsPreserved: 0, indexes: [] as CollectionIndexes[] };
  const selected = options.base.collections.flatMap((entry) => {
    const target = options.namespaces.map(joinNs(entry.db, entry.coll));
    return target ? [{ entry, target }] : [];
  });
  const views = selected.filter(({ entry }) => entry.type === 'view');
  const collections = selected.filter(({ entry }) => entry.type !== 'view');
  // Before the first create: no source UUID may belong to another target collection.
  if (options.preserveUuid) await checkUuidCollisions(options, collections);
  await Promise.all(
    collections.map(({ entry, target }) =>
      limit(() => loadCollection(options, entry, target)).then((loaded) => {
        result.collections++;
        result.documents += loaded.documents;
        result.duplicates += loaded.duplicates;
        if (loaded.uuidPreserved) result.uuidsPreserved++;
        result.indexes.push({ ns: target, specs: loaded.indexes });
        options.onCollection?.(target, loaded.documents);
      }, (error: unknown) => {
        // The collections not started yet stay untouched.
        limit.clearQueue();
        throw error;
      }),
    ),
  );
  for (const { entry, target } of views) {
    await createCollection(options, target, await readMetadata(options, entry), entry.db);
    result.collections++;
  }
  return result;
}

async function checkUuidCollisions(options: LoadBaseOptions, collections: readonly { entry: CollectionEntry; target: string }[]): Promise<void> {
  const planned: { ns: string; uuid: string | null }[] = [];
  // Metadata files are a few KiB each: reading them twice costs little.
  for (const { entry, target } of collections) planned.push({ ns: target, uuid: (await readMetadata(options, entry)).uuid });
  refuseUuidCollisions(uuidCollisions(planned, await targetUuids(options.client)));
}

/** Every target collection's UUID (hex) → its namespace, from listCollections' info.uuid. */
async function targetUuids(client: MongoClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  for (const { name } of databases) {
    for (const info of (await client.db(name).listCollections({}, { nameOnly: false }).toArray()) as Document[]) {
      const uuid: unknown = info.info?.uuid;
      if (uuid instanceof Binary) out.set(Buffer.from(uuid.buffer).toString('hex'), joinNs(name, String(info.name)));
    }
  }
  return out;
}

async function readMetadata(options: LoadBaseOptions, entry: CollectionEntry): Promise<CollectionMetadata> {
  const file = options.files.get(entry.metadata.key);
  if (!file) throw new TargetError(`no local copy of ${entry.metadata.key}`);
  // Metadata files are a few KiB: options and index specs.
  return parseMetadata(gunzipSync(await readFile(file)), entry.coll);
}

async function loadCollection(
  options: LoadBaseOptions,
  entry: CollectionEntry,
  target: string,
): Promise<{ documents: number; duplicates: number; indexes: readonly Document[]; uuidPreserved: boolean }> {
  const metadata = await readMetadata(options, entry);
  const uuidPreserved = await createCollection(options, target, metadata, entry.db);
  const { db, coll } = splitNs(target);
  const collection = options.client.db(db).collection(dataCollection(entry, coll));
  const counts = { documents: 0, duplicates: 0 };
  // A collection dumped in pieces (backup/dump-pieces.ts) is loaded piece after piece, in order.
  const dataFiles = dataObjectsOf(entry).flatMap((object) => {
    const file = options.files.get(object.key);
    return file === undefined ? [] : [file];
  });
  // A capped collection keeps the newest documents by insertion order, and the dump lists them
  // oldest first ($natural order): inserted out of order, the wrong ones would survive a
  // collection that is full. One ordered batch at a time keeps the dump's order.
  const ordered = isCapped(metadata.options);
  if (dataFiles.length > 0) {
    const window = new TaskWindow(ordered ? 1 : BATCHES_IN_FLIGHT);
    try {
      for await (const raws of batchFrames(readBsonFiles(dataFiles, options.signal))) {
        options.signal?.throwIfAborted();
        await window.run(() => insertBatch(collection, raws, counts, target, ordered));
      }
    } catch (error) {
      // No insert outlives the load, whichever failed first.
      await window.drain().catch(() => undefined);
      throw error;
    }
    await window.drain();
  }
  return { ...counts, indexes: metadata.indexes, uuidPreserved };
}

/** The documents of several local BSON files, one file after the other. */
async function* readBsonFiles(files: readonly string[], signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  for (const file of files) yield* readBsonFile(file, { signal });
}

/**
 * Where a collection's documents go: a time-series collection's base holds its raw buckets
 * (archive/timeseries-layout.ts), inserted into `system.buckets.<coll>` of the time-series
 * collection `create` made, as mongorestore does (restore.go), so that bucket `_id`s match the
 * oplog's bucket updates. An older base's measurements go through the collection itself.
 */
export function dataCollection(entry: CollectionEntry, targetColl: string): string {
  return holdsBuckets(entry) ? bucketsCollection(targetColl) : targetColl;
}

/** Raw documents in insert batches: at most `docs` documents, and `bytes` once past the first. */
export async function* batchFrames(
  frames: AsyncIterable<Buffer>,
  limits: { docs?: number; bytes?: number } = {},
): AsyncGenerator<Buffer[]> {
  const maxDocs = limits.docs ?? DEFAULT_INSERT_BATCH_DOCS;
  const maxBytes = limits.bytes ?? DEFAULT_INSERT_BATCH_BYTES;
  let batch: Buffer[] = [];
  let bytes = 0;
  for await (const raw of frames) {
    if (batch.length > 0 && bytes + raw.length > maxBytes) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(raw);
    bytes += raw.length;
    if (batch.length >= maxDocs) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Decodes a batch as it is sent, and inserts it; duplicate _ids are counted, not errors.
 * `ordered`: the documents go in in the batch's order; an ordered insert stops at its first
 * error, so after a duplicate the rest of the batch is sent again.
 */
async function insertBatch(
  collection: Collection,
  raws: Buffer[],
  counts: { documents: number; duplicates: number },
  target: string,
  ordered = false,
): Promise<void> {
  // Decoded in field order (a JS object would move integer-like names first); the driver writes
  // each Map back as the same bytes (test/unit/ordered-document.test.ts).
  let documents = raws.map((raw) => decodeOrdered(raw) as unknown as Document);
  // The raw copy is not needed past here.
  raws.length = 0;
  while (documents.length > 0) {
    try {
      const result = await collection.insertMany(documents, {
        ordered,
        bypassDocumentValidation: true,
        // The documents have their _id; the driver must not look for one as a property.
        forceServerObjectId: true,
      });
      counts.documents += result.insertedCount;
      return;
    } catch (error) {
      // Documents already there (no --drop, or a re-run) stay; anything else is a failure.
      if (!(error instanceof MongoBulkWriteError && error.writeErrors && allDuplicates(error))) {
        throw new TargetError(`inserting into ${target} failed: ${(error as Error).message}`, { cause: error });
      }
      counts.documents += error.result.insertedCount;
      if (!ordered) {
        counts.duplicates += documents.length - error.result.insertedCount;
        return;
      }
      // Ordered: everything before the duplicate went in, nothing after it was tried.
      const failedAt = firstWriteErrorIndex(error);
      counts.duplicates++;
      documents = documents.slice(failedAt + 1);
    }
  }
}

function firstWriteErrorIndex(error: MongoBulkWriteError): number {
  const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  return Math.min(...errors.map((writeError) => writeError.index));
}

/** listCollections' `capped` option: true, or a truthy number in old dumps. */
export function isCapped(options: Document): boolean {
  const capped: unknown = options.capped;
  return capped === true || (typeof capped === 'number' && capped !== 0) || (typeof capped === 'object' && capped !== null && Number(capped) !== 0);
}

function allDuplicates(error: MongoBulkWriteError): boolean {
  const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  return errors.every((writeError) => writeError.code === DUPLICATE_KEY);
}

/** Creates the collection (or view); true when it was created with its source UUID. */
async function createCollection(
  options: LoadBaseOptions,
  target: string,
  metadata: CollectionMetadata,
  sourceDb: string,
): Promise<boolean> {
  const { db, coll } = splitNs(target);
  if (options.drop) await options.client.db(db).collection(coll).drop().catch(() => false);
  const collectionOptions: Document = { ...metadata.options };
  if (typeof collectionOptions.viewOn === 'string') {
    const source = options.namespaces.map(joinNs(sourceDb, collectionOptions.viewOn));
    if (source) collectionOptions.viewOn = splitNs(source).coll;
  }
  const planned = planCreate({ db, coll, options: collectionOptions, indexes: metadata.indexes, uuid: metadata.uuid }, options.preserveUuid === true);
  try {
    await options.client.db(planned.db).command(planned.command);
  } catch (error) {
    // Without --drop the target's collection of that name is kept as it is (with its own UUID).
    if (!planned.preservesUuid && error instanceof MongoServerError && error.code === NAMESPACE_EXISTS) return false;
    throw new TargetError(`creating ${target}${planned.preservesUuid ? ` with its source UUID ${metadata.uuid ?? ''} (applyOps)` : ''} failed: ${(error as Error).message}`, { cause: error });
  }
  return planned.preservesUuid;
}
