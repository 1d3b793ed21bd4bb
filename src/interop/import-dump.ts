// Imports what `mongodump --oplog` wrote as a base of a new chain, so a user arriving with dumps
// keeps them restorable, and `mongo-pitr oplog` against the same replica set continues the chain
// from the dump's last oplog entry. Three layouts, as mongodump writes them:
//   directory   <db>/<coll>.bson + <db>/<coll>.metadata.json, and oplog.bson at the top
//   --gzip      the same files with a .gz suffix (dump-folder.ts names them all)
//   --archive   one file interleaving every namespace's documents, checksummed, maybe gzip'ed
//               as a whole (mongodump-archive.ts reads it)
// The base's window is the dump's oplog: T0 its first entry, T1 its last. Without an oplog
// (a dump made without --oplog) the caller names both, and T1 must be the ts of an entry the
// source's oplog still holds for `mongo-pitr oplog` to continue from it.
// The source identity (set name and replicaSetId) is the caller's: chunks only ever append to a
// chain of the same identity, so it must be what `mongo-pitr oplog` will see at that set.
// Streamed: documents pass through as raw BSON, never decoded, at most one bounded queue per
// namespace in flight (an archive interleaves up to its concurrent_collections namespaces).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { IntegrityError, UsageError } from '../errors.ts';
import { readBsonFile } from '../archive/bson-frames.ts';
import { parseMetadata, serializeMetadata, type CollectionMetadata } from '../archive/collection-metadata.ts';
import { addChain, sameSource, type Base, type Chain, type CollectionEntry, type OplogObject, type SourceIdentity } from '../archive/manifest.ts';
import { baseId, baseOplogKey, collectionDataKey, collectionMetadataKey, isOpaqueKey, newRunId } from '../archive/object-keys.ts';
import { sealOpaque } from '../archive/opaque-base.ts';
import { storeOpaqueCollection, storesOpaque } from '../backup/store-opaque-collection.ts';
import { readOplogHeader, type RawOplogEntry } from '../archive/oplog-header.ts';
import { ManifestCommitter } from '../backup/commit.ts';
import { storeGzipped } from '../backup/store-object.ts';
import { writeOplogObject } from '../backup/write-oplog-object.ts';
import { isInternalNs, joinNs } from '../namespace.ts';
import type { Store } from '../store/store.ts';
import { compareTs, formatTs, tsToDate, type Ts } from '../timestamp.ts';
import { DUMP_OPLOG_FILES, collectionFiles, escapeDumpName, readMaybeGzip, unescapeDumpName } from './dump-folder.ts';
import { FrameQueue } from './frame-queue.ts';
import { ARCHIVE_OPLOG_NS, archiveNs, preludeNamespace, readArchive, scanArchive } from './mongodump-archive.ts';
import { BUCKETS_PREFIX, bucketsCollection, bucketsDataKey } from '../archive/timeseries-layout.ts';

export const DEFAULT_IMPORT_CONCURRENCY = 4;

export interface ImportDumpOptions {
  readonly store: Store;
  /** A mongodump output directory (plain or --gzip), or a mongodump --archive file. */
  readonly path: string;
  /** The replica set the dump was taken from; `mongo-pitr oplog` appends for this identity. */
  readonly source: SourceIdentity;
  /** The window of a dump without an oplog; refused when the dump has one. */
  readonly startTs?: Ts;
  readonly endTs?: Ts;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onCollection?: (entry: CollectionEntry) => void;
}

export interface ImportDumpResult {
  readonly chain: Chain;
  readonly format: 'directory' | 'archive';
  /** Namespaces in the dump a base never holds (admin.system.version, ...), left out. */
  readonly skipped: readonly string[];
  readonly warnings: readonly string[];
}

export async function importDump(options: ImportDumpOptions): Promise<ImportDumpResult> {
  const info = await stat(options.path).catch(() => undefined);
  if (!info) throw new UsageError(`${options.path} does not exist`, { hint: 'give the folder mongodump wrote (or its --archive file)' });
  if (info.isDirectory()) return importDirectory(options);
  if (info.isFile()) return importArchive(options);
  throw new UsageError(`${options.path} is neither a mongodump folder nor an archive file`);
}

// ---- what every layout shares -------------------------------------------------------------

/** One collection of the dump, before its documents are read. */
interface DumpCollection {
  readonly db: string;
  readonly coll: string;
  readonly metadata: CollectionMetadata;
}

/** Builds the base's collection entry: metadata in our (mongodump) format, documents gzip'ed. */
async function storeCollection(
  store: Store,
  id: string,
  collection: DumpCollection,
  documents: AsyncIterable<Buffer> | null,
  signal?: AbortSignal,
): Promise<CollectionEntry> {
  const { db, coll, metadata } = collection;
  // Encrypting: under a random id, the names inside the metadata object (commitImport keeps them out of the manifest).
  if (storesOpaque(store)) {
    const data = metadata.type === 'view' ? null : (documents ?? noDocuments());
    return (await storeOpaqueCollection(store, id, db, { ...metadata, collectionName: coll }, data, signal)).named;
  }
  const storedMetadata = await storeGzipped(store, collectionMetadataKey(id, db, coll), serializeMetadata(metadata), signal);
  if (metadata.type === 'view') return { db, coll, type: 'view', docs: 0, data: null, metadata: storedMetadata };
  let docs = 0;
  const counted = (async function* () {
    for await (const document of documents ?? []) {
      docs++;
      yield document;
    }
  })();
  // A time-series collection's documents are its raw buckets, kept as such (timeseries-layout.ts).
  const key = metadata.type === 'timeseries' ? bucketsDataKey(id, db, coll) : collectionDataKey(id, db, coll);
  const data = await storeGzipped(store, key, counted, signal);
  return { db, coll, type: metadata.type, docs, data, metadata: storedMetadata };
}

/** A collection the dump has no documents for: stored with an empty data object, as a plain base does. */
async function* noDocuments(): AsyncGenerator<Buffer> {}

function checkWindowFlags(options: ImportDumpOptions, hasOplog: boolean): void {
  const flags = options.startTs !== undefined || options.endTs !== undefined;
  if (hasOplog && flags) {
    throw new UsageError('the dump has an oplog: its first and last entries are the base\'s window, so --start-ts/--end-ts are not taken');
  }
  if (hasOplog) return;
  if (!options.startTs || !options.endTs) {
    throw new UsageError('the dump has no oplog (mongodump without --oplog): give --start-ts and --end-ts (secs:ordinal)', {
      hint: '--end-ts must be the ts of an entry the source oplog still holds, for mongo-pitr oplog to continue from it',
    });
  }
  if (compareTs(options.startTs, options.endTs) > 0) {
    throw new UsageError(`--start-ts ${formatTs(options.startTs)} is after --end-ts ${formatTs(options.endTs)}`);
  }
}

/** Raw oplog entries with their headers, refusing any that does not follow the one before. */
async function* oplogEntries(frames: AsyncIterable<Buffer>, label: string): AsyncGenerator<RawOplogEntry> {
  let previous: Ts | undefined;
  let index = 0;
  for await (const raw of frames) {
    const header = readOplogHeader(raw);
    if (previous && compareTs(header.ts, previous) <= 0) {
      throw new IntegrityError(`${label}: oplog entry ${index} (ts ${formatTs(header.ts)}) does not come after the one before it (${formatTs(previous)})`, {
        hint: 'a mongodump --oplog file is in ts order; this one was edited or concatenated',
      });
    }
    previous = header.ts;
    index++;
    yield { raw, header };
  }
}

/** Stores the consistency oplog; without entries, the window the caller named. */
async function storeOplog(
  options: ImportDumpOptions,
  id: string,
  entries: AsyncIterable<RawOplogEntry>,
  startTs: Ts,
): Promise<OplogObject> {
  const { object } = await writeOplogObject(options.store, baseOplogKey(id), entries, startTs, options.signal);
  if (object.count > 0) return object;
  if (!options.startTs || !options.endTs) throw new UsageError('the dump\'s oplog is empty: give --start-ts and --end-ts (secs:ordinal)');
  return { ...object, firstTs: options.startTs, lastTs: options.endTs };
}

/** The collections stored encrypted, as the manifest records them: objects and the document total, no names. */
function opaqueOf(collections: readonly CollectionEntry[]): Pick<Base, 'opaque'> {
  const opaque = collections.filter((entry) => isOpaqueKey(entry.metadata.key));
  if (opaque.length === 0) return {};
  const sealed = sealOpaque({ collections: opaque.map(({ data, metadata }) => ({ data, metadata })), documents: opaque.reduce((sum, entry) => sum + entry.docs, 0) });
  return sealed ? { opaque: sealed } : {};
}

async function commitImport(
  options: ImportDumpOptions,
  id: string,
  collections: CollectionEntry[],
  oplog: OplogObject,
  extra: { format: ImportDumpResult['format']; skipped: string[] },
): Promise<ImportDumpResult> {
  const base: Base = {
    id,
    startTs: oplog.firstTs,
    endTs: oplog.lastTs,
    // The dump's own times, so that base-age scheduling (run --base-every) sees its real age.
    startedAt: oplog.firstWall ?? tsToDate(oplog.firstTs).toISOString(),
    finishedAt: oplog.lastWall ?? tsToDate(oplog.lastTs).toISOString(),
    collections: collections.filter((entry) => !isOpaqueKey(entry.metadata.key)).sort((a, b) => compareNames(joinNs(a.db, a.coll), joinNs(b.db, b.coll))),
    ...opaqueOf(collections),
    oplog,
    // What mongodump read is not known to be majority-committed.
    commitPoint: 'lastWritten',
  };
  const chain: Chain = { id, source: options.source, base, chunks: [] };
  const committer = await ManifestCommitter.open(options.store);
  const warnings = committer.manifest.chains
    .filter((existing) => sameSource(existing.source, options.source))
    .map((existing) => `chain ${existing.id} has the same source (${options.source.setName}); mongo-pitr oplog now continues the imported chain instead`);
  await committer.commit((manifest) => addChain(manifest, chain));
  return { chain, format: extra.format, skipped: extra.skipped, warnings };
}

async function* nothing<T>(): AsyncGenerator<T> {}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- directory layout ---------------------------------------------------------------------

interface DirectoryCollection extends DumpCollection {
  readonly dataFile: string | undefined;
}

interface DirectoryLayout {
  readonly collections: DirectoryCollection[];
  readonly oplogFile: string | undefined;
  readonly skipped: string[];
}

async function importDirectory(options: ImportDumpOptions): Promise<ImportDumpResult> {
  const layout = await scanDirectory(options.path);
  const first = layout.oplogFile ? await firstFrame(layout.oplogFile) : undefined;
  checkWindowFlags(options, first !== undefined);
  const startTs = first ? readOplogHeader(first).ts : (options.startTs as Ts);
  const id = baseId(startTs, newRunId());
  const limit = pLimit(options.concurrency ?? DEFAULT_IMPORT_CONCURRENCY);
  const { store, signal } = options;
  const stored = Promise.all(
    layout.collections.map((collection) =>
      limit(async () => {
        const documents = collection.dataFile ? readBsonFile(collection.dataFile, { signal }) : null;
        const entry = await storeCollection(store, id, collection, documents, signal);
        options.onCollection?.(entry);
        return entry;
      }),
    ),
  );
  const frames = layout.oplogFile ? readBsonFile(layout.oplogFile, { signal }) : nothing<Buffer>();
  const oplog = storeOplog(options, id, oplogEntries(frames, layout.oplogFile ?? 'oplog'), startTs);
  const [collections, oplogObject] = await Promise.all([stored, oplog]);
  return commitImport(options, id, collections, oplogObject, { format: 'directory', skipped: layout.skipped });
}

async function firstFrame(file: string): Promise<Buffer | undefined> {
  for await (const frame of readBsonFile(file)) return frame;
  return undefined;
}

/** Finds the dump's files: `<db>/` folders of collection files, and the oplog at the top. */
async function scanDirectory(dir: string): Promise<DirectoryLayout> {
  const top = await readdir(dir, { withFileTypes: true });
  const oplogs = top.filter((entry) => entry.isFile() && (DUMP_OPLOG_FILES as readonly string[]).includes(entry.name));
  if (oplogs.length > 1) throw new UsageError(`${dir} holds both ${DUMP_OPLOG_FILES.join(' and ')}`);
  const layout: DirectoryLayout = { collections: [], oplogFile: oplogs[0] ? join(dir, oplogs[0].name) : undefined, skipped: [] };
  let dataFiles = 0;
  for (const entry of top.filter((candidate) => candidate.isDirectory()).sort((a, b) => compareNames(a.name, b.name))) {
    const db = entry.name;
    const files = await collectionFiles(join(dir, db));
    // mongodump writes a time-series collection as `<coll>.metadata.json` (type "timeseries")
    // and `system.buckets.<coll>.bson`: the buckets file is that collection's data.
    const bucketsOf = new Map<string, string>();
    for (const [stem, found] of files) {
      if (found.data) dataFiles++;
      const metadata = found.metadata
        ? parseMetadata(await readMaybeGzip(found.metadata), unescapeDumpName(stem))
        : defaultMetadata(unescapeDumpName(stem));
      if (metadata.type !== 'timeseries') continue;
      const buckets = files.get(escapeDumpName(bucketsCollection(metadata.collectionName)));
      if (buckets?.data) bucketsOf.set(escapeDumpName(bucketsCollection(metadata.collectionName)), buckets.data);
    }
    for (const [stem, found] of files) {
      if (bucketsOf.has(stem) && !found.metadata) continue;
      const metadata = found.metadata
        ? parseMetadata(await readMaybeGzip(found.metadata), unescapeDumpName(stem))
        : defaultMetadata(unescapeDumpName(stem));
      const ns = joinNs(db, metadata.collectionName);
      if (isInternalNs(ns)) {
        layout.skipped.push(ns);
        continue;
      }
      // 8.3+ "viewless" time-series: mongodump writes the buckets as `<coll>.bson` itself.
      const dataFile = metadata.type === 'timeseries'
        ? (bucketsOf.get(escapeDumpName(bucketsCollection(metadata.collectionName))) ?? found.data)
        : found.data;
      layout.collections.push({ db, coll: metadata.collectionName, metadata, dataFile });
    }
  }
  if (dataFiles === 0 && !layout.oplogFile) {
    throw new UsageError(`${dir} holds no .bson file: not a mongodump folder`, {
      hint: 'give the folder mongodump wrote, with one sub-folder per database',
    });
  }
  return layout;
}

/** What mongorestore assumes for a .bson without metadata: a plain collection, _id index only. */
function defaultMetadata(collectionName: string): CollectionMetadata {
  return { collectionName, type: 'collection', options: {}, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }], uuid: null };
}

// ---- archive layout -----------------------------------------------------------------------

interface ArchivePrelude {
  readonly collections: Map<string, DumpCollection>;
  readonly skipped: string[];
  /**
   * Time-series collections by the other namespace their data may come under: mongodump names
   * it `system.buckets.<coll>`, but 8.3+ "viewless" time-series keep their buckets in `<coll>`
   * itself (mongo-tools intent.go DataCollection).
   */
  readonly aliases: Map<string, string>;
}

/** Two passes over the file: the first checks every CRC and finds the oplog's bounds (T0 names the base), the second stores. */
async function importArchive(options: ImportDumpOptions): Promise<ImportDumpResult> {
  // Pass one refuses what import cannot take (a bad metadata text) at the prelude.
  const scan = await scanArchive(options.path, { signal: options.signal, onPrelude: parsePrelude });
  checkWindowFlags(options, scan.oplogFirst !== undefined);
  const startTs = scan.oplogFirst ?? (options.startTs as Ts);
  const id = baseId(startTs, newRunId());
  const { store, signal } = options;
  const uploads = new Map<string, { queue: FrameQueue; done: Promise<unknown> }>();
  const entries: CollectionEntry[] = [];
  let oplog: Promise<OplogObject> | undefined;
  let prelude: ArchivePrelude | undefined;
  /** The namespace a block's data is stored for (time-series aliases resolved). */
  const dataNs = (blockNs: string): string => prelude?.aliases.get(blockNs) ?? blockNs;
  const queueFor = (blockNs: string): FrameQueue | undefined => {
    const ns = dataNs(blockNs);
    const existing = uploads.get(ns);
    if (existing) return existing.queue;
    const collection = prelude?.collections.get(ns);
    if (ns !== ARCHIVE_OPLOG_NS && !collection) return undefined;
    const queue = new FrameQueue();
    const done = collection
      ? storeCollection(store, id, collection, queue, signal).then((entry) => {
          entries.push(entry);
          options.onCollection?.(entry);
        })
      : (oplog = storeOplog(options, id, oplogEntries(queue, `${options.path} (oplog)`), startTs));
    done.catch((error: unknown) => queue.fail(error));
    uploads.set(ns, { queue, done });
    return queue;
  };
  try {
    // Uploads whose namespace ended but which are still writing: at most `concurrency` of them,
    // so a slow store holds back the reader instead of queueing collection after collection.
    const draining = new Set<Promise<unknown>>();
    const limit = options.concurrency ?? DEFAULT_IMPORT_CONCURRENCY;
    for await (const event of readArchive(options.path, signal)) {
      if (event.kind === 'prelude') prelude = parsePrelude(event.metadata);
      else if (event.kind === 'document') await queueFor(event.ns)?.push(event.raw);
      else {
        queueFor(event.ns)?.end();
        const done = uploads.get(dataNs(event.ns))?.done;
        if (done) {
          const tracked: Promise<unknown> = done.finally(() => draining.delete(tracked));
          tracked.catch(() => undefined); // its failure surfaces below, through uploads
          draining.add(tracked);
        }
        while (draining.size >= limit) await Promise.race(draining);
      }
    }
  } catch (error) {
    for (const { queue } of uploads.values()) queue.fail(error);
    await Promise.allSettled([...uploads.values()].map((upload) => upload.done));
    throw error;
  }
  await Promise.all([...uploads.values()].map((upload) => upload.done));
  // Collections with no document (views, empty collections) never had a data block.
  for (const [ns, collection] of prelude?.collections ?? []) {
    if (!uploads.has(ns)) entries.push(await storeCollection(store, id, collection, null, signal));
  }
  const oplogObject = await (oplog ?? storeOplog(options, id, nothing<RawOplogEntry>(), startTs));
  return commitImport(options, id, entries, oplogObject, { format: 'archive', skipped: prelude?.skipped ?? [] });
}

function parsePrelude(metadata: readonly Record<string, unknown>[]): ArchivePrelude {
  const prelude: ArchivePrelude = { collections: new Map(), skipped: [], aliases: new Map() };
  for (const entry of metadata) {
    const { db, coll, ns } = preludeNamespace(entry);
    if (ns === ARCHIVE_OPLOG_NS) continue;
    if (isInternalNs(joinNs(db, coll))) {
      prelude.skipped.push(joinNs(db, coll));
      continue;
    }
    const text = typeof entry.metadata === 'string' && entry.metadata !== '' ? entry.metadata : undefined;
    const metadata = text ? parseMetadata(text, coll) : defaultMetadata(coll);
    if (entry.type === 'timeseries' || metadata.type === 'timeseries') {
      // Its data blocks come under the buckets namespace (mongodump's DataNamespace).
      const timeseries = { ...metadata, type: 'timeseries' as const, collectionName: coll };
      prelude.collections.set(archiveNs(db, bucketsCollection(coll)), { db, coll, metadata: timeseries });
      prelude.aliases.set(ns, archiveNs(db, bucketsCollection(coll)));
      continue;
    }
    if (coll.startsWith(BUCKETS_PREFIX) && prelude.collections.has(ns)) continue;
    prelude.collections.set(ns, { db, coll, metadata: { ...metadata, collectionName: coll } });
  }
  return prelude;
}
