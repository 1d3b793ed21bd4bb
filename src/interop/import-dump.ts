// Imports what `mongodump --oplog` wrote as a base of a new chain, so a user arriving with dumps
// keeps them restorable, and `mongo-pitr oplog` against the same replica set continues the chain
// from the dump's last oplog entry. Three layouts, as mongodump writes them (mongo-tools
// mongodump/mongodump.go, common/archive/spec.md):
//   directory   <db>/<coll>.bson + <db>/<coll>.metadata.json, and oplog.bson at the top
//   --gzip      the same files with a .gz suffix (each file gzip'ed on its own)
//   --archive   one file: magic 0x8199e26d, a prelude (header document, one document per
//               collection with its metadata.json text, 0xffffffff), then blocks of
//               {db, collection, EOF, CRC} header + documents + 0xffffffff, interleaving
//               namespaces; an EOF block carries the CRC-64 (Go's crc64.ECMA) of the
//               namespace's documents. The whole file may be gzip'ed (--archive --gzip).
// The base's window is the dump's oplog: T0 its first entry, T1 its last. Without an oplog
// (a dump made without --oplog) the caller names both, and T1 must be the ts of an entry the
// source's oplog still holds for `mongo-pitr oplog` to continue from it.
// The source identity (set name and replicaSetId) is the caller's: chunks only ever append to a
// chain of the same identity, so it must be what `mongo-pitr oplog` will see at that set.
// Streamed: documents pass through as raw BSON, never decoded, at most one bounded queue per
// namespace in flight (an archive interleaves up to its concurrent_collections namespaces).
import { createReadStream } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import pLimit from 'p-limit';
import { IntegrityError, UsageError } from '../errors.ts';
import { hasGzipMagic, readBsonFile } from '../archive/bson-frames.ts';
import { decodeDocument } from '../archive/bson-decode.ts';
import { parseMetadata, serializeMetadata, type CollectionMetadata } from '../archive/collection-metadata.ts';
import { addChain, sameSource, type Base, type Chain, type CollectionEntry, type OplogObject, type SourceIdentity } from '../archive/manifest.ts';
import { baseId, baseOplogKey, collectionDataKey, collectionMetadataKey, newRunId } from '../archive/object-keys.ts';
import { readOplogHeader, type RawOplogEntry } from '../archive/oplog-header.ts';
import { ManifestCommitter } from '../backup/commit.ts';
import { storeGzipped } from '../backup/store-object.ts';
import { writeOplogObject } from '../backup/write-oplog-object.ts';
import { isInternalNs, joinNs } from '../namespace.ts';
import type { Store } from '../store/store.ts';
import { compareTs, formatTs, tsToDate, type Ts } from '../timestamp.ts';

export const DEFAULT_IMPORT_CONCURRENCY = 4;
/** Bytes a namespace's queue holds before the archive reader waits for its upload. */
const QUEUE_BYTES = 8 * 1024 * 1024;
/** mongo-tools common/archive: the archive's magic number and block terminator. */
export const ARCHIVE_MAGIC = 0x8199e26d;
const TERMINATOR = -1;
/** The only archive format version mongo-tools has written (common/archive/spec.md). */
const ARCHIVE_FORMAT_VERSION = '0.1';
/** The oplog's namespace in an archive: database "", collection "oplog". */
const ARCHIVE_OPLOG = { db: '', coll: 'oplog' } as const;

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

// ---- mongodump names ----------------------------------------------------------------------

/**
 * A collection name as mongodump writes it in a file name: Go's url.PathEscape
 * (mongo-tools common/util EscapeCollectionName), which keeps ASCII letters, digits and
 * `-_.~$&+=:@` and writes every other UTF-8 byte as %XX.
 */
export function escapeDumpName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+=:@]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The inverse (url.PathUnescape); a file name that is not valid escaping is taken as it is. */
export function unescapeDumpName(segment: string): string {
  if (!/%[0-9A-Fa-f]{2}/.test(segment)) return segment;
  const parts = segment.split(/(%[0-9A-Fa-f]{2})/).map((part) =>
    /^%[0-9A-Fa-f]{2}$/.test(part) ? Buffer.from([parseInt(part.slice(1), 16)]) : Buffer.from(part, 'utf8'),
  );
  const decoded = Buffer.concat(parts);
  const text = decoded.toString('utf8');
  return Buffer.from(text, 'utf8').equals(decoded) ? text : segment;
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
  const storedMetadata = await storeGzipped(store, collectionMetadataKey(id, db, coll), serializeMetadata(metadata), signal);
  if (metadata.type === 'view') return { db, coll, type: 'view', docs: 0, data: null, metadata: storedMetadata };
  let docs = 0;
  const counted = (async function* () {
    for await (const document of documents ?? []) {
      docs++;
      yield document;
    }
  })();
  const data = await storeGzipped(store, collectionDataKey(id, db, coll), counted, signal);
  return { db, coll, type: metadata.type, docs, data, metadata: storedMetadata };
}

/** Time-series dumps hold buckets; a base holds measurements (see source/catalog.ts). */
function refuseTimeseries(ns: string): never {
  throw new UsageError(`${ns} is a time-series collection: its dump holds buckets, which import cannot turn into measurements`, {
    hint: 'restore it with mongorestore, or dump without it (mongodump --excludeCollection)',
  });
}

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
    collections: collections.sort((a, b) => compareNames(joinNs(a.db, a.coll), joinNs(b.db, b.coll))),
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

const METADATA_SUFFIXES = ['.metadata.json.gz', '.metadata.json'];
const DATA_SUFFIXES = ['.bson.gz', '.bson'];

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
  const oplogs = top.filter((entry) => entry.isFile() && (entry.name === 'oplog.bson' || entry.name === 'oplog.bson.gz'));
  if (oplogs.length > 1) throw new UsageError(`${dir} holds both oplog.bson and oplog.bson.gz`);
  const layout: DirectoryLayout = { collections: [], oplogFile: oplogs[0] ? join(dir, oplogs[0].name) : undefined, skipped: [] };
  let dataFiles = 0;
  for (const entry of top.filter((candidate) => candidate.isDirectory()).sort((a, b) => compareNames(a.name, b.name))) {
    const db = entry.name;
    const files = await collectionFiles(join(dir, db));
    for (const [stem, found] of files) {
      if (found.data) dataFiles++;
      const metadata = found.metadata
        ? parseMetadata(await readMaybeGzip(found.metadata), unescapeDumpName(stem))
        : defaultMetadata(unescapeDumpName(stem));
      const ns = joinNs(db, metadata.collectionName);
      if (metadata.type === 'timeseries' || metadata.collectionName.startsWith('system.buckets.')) refuseTimeseries(ns);
      if (isInternalNs(ns)) {
        layout.skipped.push(ns);
        continue;
      }
      layout.collections.push({ db, coll: metadata.collectionName, metadata, dataFile: found.data });
    }
  }
  if (dataFiles === 0 && !layout.oplogFile) {
    throw new UsageError(`${dir} holds no .bson file: not a mongodump folder`, {
      hint: 'give the folder mongodump wrote, with one sub-folder per database',
    });
  }
  return layout;
}

/** A database folder's files, paired by collection: `<stem>.bson[.gz]` and `<stem>.metadata.json[.gz]`. */
async function collectionFiles(dir: string): Promise<Map<string, { data?: string; metadata?: string }>> {
  const files = new Map<string, { data?: string; metadata?: string }>();
  const names = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name).sort(compareNames);
  for (const name of names) {
    const metadataSuffix = METADATA_SUFFIXES.find((suffix) => name.endsWith(suffix));
    const dataSuffix = metadataSuffix ? undefined : DATA_SUFFIXES.find((suffix) => name.endsWith(suffix));
    const suffix = metadataSuffix ?? dataSuffix;
    if (!suffix) continue;
    const stem = name.slice(0, -suffix.length);
    const found = files.get(stem) ?? {};
    const kind = metadataSuffix ? 'metadata' : 'data';
    if (found[kind]) throw new UsageError(`${join(dir, name)}: the folder holds ${basename(found[kind])} for the same collection too`);
    found[kind] = join(dir, name);
    files.set(stem, found);
  }
  return files;
}

/** What mongorestore assumes for a .bson without metadata: a plain collection, _id index only. */
function defaultMetadata(collectionName: string): CollectionMetadata {
  return { collectionName, type: 'collection', options: {}, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }], uuid: null };
}

/** A small file (metadata.json), gunzipped when it starts with the gzip magic bytes. */
async function readMaybeGzip(file: string): Promise<Buffer> {
  const bytes = await readFile(file);
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}

// ---- archive layout -----------------------------------------------------------------------

interface ArchivePrelude {
  readonly collections: Map<string, DumpCollection>;
  readonly skipped: string[];
  /** Namespaces the prelude lists, each of which must end with an EOF block. */
  readonly expected: Set<string>;
}

type ArchiveEvent =
  | { readonly kind: 'prelude'; readonly metadata: readonly Record<string, unknown>[] }
  | { readonly kind: 'document'; readonly ns: string; readonly raw: Buffer }
  | { readonly kind: 'eof'; readonly ns: string; readonly crc: bigint };

/** Two passes over the file: the first checks every CRC and finds the oplog's bounds (T0 names the base), the second stores. */
async function importArchive(options: ImportDumpOptions): Promise<ImportDumpResult> {
  const scan = await scanArchive(options.path, options.signal);
  checkWindowFlags(options, scan.oplogFirst !== undefined);
  const startTs = scan.oplogFirst ?? (options.startTs as Ts);
  const id = baseId(startTs, newRunId());
  const { store, signal } = options;
  const uploads = new Map<string, { queue: FrameQueue; done: Promise<unknown> }>();
  const entries: CollectionEntry[] = [];
  let oplog: Promise<OplogObject> | undefined;
  let prelude: ArchivePrelude | undefined;
  const queueFor = (ns: string): FrameQueue | undefined => {
    const existing = uploads.get(ns);
    if (existing) return existing.queue;
    const collection = prelude?.collections.get(ns);
    if (ns !== archiveNs(ARCHIVE_OPLOG.db, ARCHIVE_OPLOG.coll) && !collection) return undefined;
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
        const done = uploads.get(event.ns)?.done;
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

function archiveNs(db: string, coll: string): string {
  return `${db}.${coll}`;
}

function parsePrelude(metadata: readonly Record<string, unknown>[]): ArchivePrelude {
  const prelude: ArchivePrelude = { collections: new Map(), skipped: [], expected: new Set() };
  for (const entry of metadata) {
    const db = typeof entry.db === 'string' ? entry.db : '';
    const coll = typeof entry.collection === 'string' ? entry.collection : '';
    if (!coll) throw new IntegrityError('archive prelude lists a collection without a name');
    const ns = archiveNs(db, coll);
    if (entry.type === 'timeseries') refuseTimeseries(ns);
    prelude.expected.add(ns);
    if (db === ARCHIVE_OPLOG.db && coll === ARCHIVE_OPLOG.coll) continue;
    if (isInternalNs(joinNs(db, coll))) {
      prelude.skipped.push(joinNs(db, coll));
      continue;
    }
    const text = typeof entry.metadata === 'string' && entry.metadata !== '' ? entry.metadata : undefined;
    const metadata = text ? parseMetadata(text, coll) : defaultMetadata(coll);
    if (metadata.type === 'timeseries') refuseTimeseries(ns);
    prelude.collections.set(ns, { db, coll, metadata: { ...metadata, collectionName: coll } });
  }
  return prelude;
}

interface ArchiveScan {
  readonly oplogFirst: Ts | undefined;
}

/** Pass one: the whole archive's structure, every namespace's CRC, the oplog's first entry. */
async function scanArchive(path: string, signal?: AbortSignal): Promise<ArchiveScan> {
  const crcs = new Map<string, Crc64>();
  let prelude: ArchivePrelude | undefined;
  let oplogFirst: Ts | undefined;
  const closed = new Set<string>();
  const oplogNs = archiveNs(ARCHIVE_OPLOG.db, ARCHIVE_OPLOG.coll);
  for await (const event of readArchive(path, signal)) {
    if (event.kind === 'prelude') {
      prelude = parsePrelude(event.metadata);
      continue;
    }
    if (closed.has(event.ns)) throw new IntegrityError(`${path}: archive has data for ${event.ns} after its EOF block`);
    if (!prelude?.expected.has(event.ns) && event.ns !== oplogNs) {
      throw new IntegrityError(`${path}: archive has data for ${event.ns}, which its prelude does not list`);
    }
    let crc = crcs.get(event.ns);
    if (!crc) crcs.set(event.ns, (crc = new Crc64()));
    if (event.kind === 'document') {
      crc.update(event.raw);
      if (event.ns === oplogNs) oplogFirst ??= readOplogHeader(event.raw).ts;
      continue;
    }
    if (crc.value() !== BigInt.asUintN(64, event.crc)) {
      throw new IntegrityError(`${path}: CRC mismatch for ${event.ns}: the archive is corrupt`, { hint: 'make the archive again, or copy it again' });
    }
    closed.add(event.ns);
  }
  const unfinished = [...(prelude?.expected ?? [])].filter((ns) => !closed.has(ns));
  if (unfinished.length > 0) {
    throw new IntegrityError(`${path}: the archive ends before ${unfinished.slice(0, 3).join(', ')} ${unfinished.length > 3 ? '...' : ''}is complete`, {
      hint: 'the archive is truncated: make or copy it again',
    });
  }
  return { oplogFirst };
}

/** Reads an archive (plain, or gzip'ed as a whole) as prelude, documents and EOFs. */
async function* readArchive(path: string, signal?: AbortSignal): AsyncGenerator<ArchiveEvent> {
  const file = createReadStream(path, { signal });
  const gzip = await hasGzipMagic(path);
  const gunzip = gzip ? createGunzip() : undefined;
  if (gunzip) {
    file.on('error', (error) => gunzip.destroy(error));
    file.pipe(gunzip);
  }
  const reader = new ByteReader(gunzip ?? file, path);
  try {
    const magic = await reader.read(4);
    if (!magic || magic.readUInt32LE(0) !== ARCHIVE_MAGIC) {
      throw new UsageError(`${path} is not a mongodump archive (no archive magic number) nor a mongodump folder`);
    }
    const header = await reader.document();
    if (!header) throw new IntegrityError(`${path}: archive has no header`);
    const version = decodeDocument(header).version;
    if (version !== ARCHIVE_FORMAT_VERSION) {
      throw new UsageError(`${path}: archive format version ${String(version)}; this mongo-pitr reads ${ARCHIVE_FORMAT_VERSION}`);
    }
    const metadata: Record<string, unknown>[] = [];
    for (let doc = await reader.document(); doc; doc = await reader.document()) metadata.push(decodeDocument(doc));
    yield { kind: 'prelude', metadata };
    for (;;) {
      const block = await reader.document(true);
      if (block === undefined) return;
      if (block === null) throw new IntegrityError(`${path}: archive has an empty block`);
      const fields = decodeDocument(block);
      const ns = archiveNs(String(fields.db ?? ''), String(fields.collection ?? ''));
      if (!fields.collection) throw new IntegrityError(`${path}: archive block header without a collection`);
      if (fields.EOF === true) {
        if ((await reader.document()) !== null) throw new IntegrityError(`${path}: archive EOF block for ${ns} holds documents`);
        yield { kind: 'eof', ns, crc: bigintOf(fields.CRC) };
        continue;
      }
      for (let doc = await reader.document(); doc; doc = await reader.document()) yield { kind: 'document', ns, raw: doc };
    }
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (error instanceof Error && typeof code === 'string' && code.startsWith('Z_')) {
      throw new IntegrityError(`${path}: corrupt gzip data (${error.message})`, { cause: error });
    }
    throw error;
  } finally {
    gunzip?.destroy();
    file.destroy();
  }
}

function bigintOf(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (value && typeof value === 'object' && typeof (value as { toBigInt?: unknown }).toBigInt === 'function') {
    return (value as { toBigInt(): bigint }).toBigInt();
  }
  return BigInt(Number(value ?? 0));
}

/** Exact reads from a stream: the next n bytes, or undefined at a clean end of stream. */
class ByteReader {
  readonly #iterator: AsyncIterator<Buffer>;
  readonly #label: string;
  #chunks: Buffer[] = [];
  #length = 0;
  #offset = 0;

  constructor(source: AsyncIterable<Buffer>, label: string) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#label = label;
  }

  async read(size: number): Promise<Buffer | undefined> {
    while (this.#length < size) {
      const next = await this.#iterator.next();
      if (next.done) {
        if (this.#length === 0) return undefined;
        throw new IntegrityError(`${this.#label}: archive truncated at byte ${this.#offset + this.#length}`, { hint: 'the archive was cut short: make or copy it again' });
      }
      this.#chunks.push(next.value);
      this.#length += next.value.length;
    }
    const joined = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    const result = joined.subarray(0, size);
    this.#chunks = joined.length > size ? [joined.subarray(size)] : [];
    this.#length -= size;
    this.#offset += size;
    return result;
  }

  /**
   * The next BSON document; null at a terminator (0xffffffff); undefined at the end of the
   * stream, accepted only where `endAllowed` (between blocks).
   */
  async document(endAllowed = false): Promise<Buffer | null | undefined> {
    const at = this.#offset;
    const head = await this.read(4);
    if (!head) {
      if (endAllowed) return undefined;
      throw new IntegrityError(`${this.#label}: archive truncated at byte ${at}`, { hint: 'the archive was cut short: make or copy it again' });
    }
    const size = head.readInt32LE(0);
    if (size === TERMINATOR) return null;
    if (size < 5 || size > 16 * 1024 * 1024 + 16 * 1024) throw new IntegrityError(`${this.#label}: invalid BSON document length ${size} at byte ${at} of the archive`);
    const rest = await this.read(size - 4);
    if (!rest || rest[rest.length - 1] !== 0) throw new IntegrityError(`${this.#label}: BSON document at byte ${at} of the archive does not end with 0x00`);
    return Buffer.concat([head, rest]);
  }
}

/**
 * CRC-64 as Go's hash/crc64 with the ECMA table computes it (reflected polynomial
 * 0xC96C5795D7870F42, initial and final complement; "CRC-64/XZ", check value
 * 0x995DC9BBDF1939FA for "123456789"). Two 32-bit halves keep it fast without BigInt per byte.
 */
export class Crc64 {
  static readonly #table = Crc64.#makeTable();
  #hi = 0xffffffff;
  #lo = 0xffffffff;

  static #makeTable(): { hi: Uint32Array; lo: Uint32Array } {
    const hi = new Uint32Array(256);
    const lo = new Uint32Array(256);
    for (let index = 0; index < 256; index++) {
      let h = 0;
      let l = index;
      for (let bit = 0; bit < 8; bit++) {
        const carry = l & 1;
        l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
        h >>>= 1;
        if (carry) {
          h = (h ^ 0xc96c5795) >>> 0;
          l = (l ^ 0xd7870f42) >>> 0;
        }
      }
      hi[index] = h;
      lo[index] = l;
    }
    return { hi, lo };
  }

  update(bytes: Uint8Array): this {
    const { hi: tableHi, lo: tableLo } = Crc64.#table;
    let hi = this.#hi;
    let lo = this.#lo;
    for (let index = 0; index < bytes.length; index++) {
      const slot = (lo ^ (bytes[index] ?? 0)) & 0xff;
      lo = ((tableLo[slot] ?? 0) ^ ((lo >>> 8) | (hi << 24))) >>> 0;
      hi = ((tableHi[slot] ?? 0) ^ (hi >>> 8)) >>> 0;
    }
    this.#hi = hi;
    this.#lo = lo;
    return this;
  }

  /** The checksum of everything so far, unsigned. */
  value(): bigint {
    return (BigInt((~this.#hi) >>> 0) << 32n) | BigInt((~this.#lo) >>> 0);
  }
}

/**
 * A bounded hand-over from the archive reader to one namespace's upload: `push` waits while the
 * queue holds more than QUEUE_BYTES, and fails once the upload has failed.
 */
class FrameQueue implements AsyncIterable<Buffer> {
  #items: Buffer[] = [];
  #bytes = 0;
  #ended = false;
  #error: { readonly cause: unknown } | undefined;
  #wakeConsumer: (() => void) | undefined;
  #wakeProducer: (() => void) | undefined;

  async push(frame: Buffer): Promise<void> {
    this.#throwIfFailed();
    this.#items.push(frame);
    this.#bytes += frame.length;
    this.#wake('consumer');
    while (this.#bytes > QUEUE_BYTES && !this.#error) await new Promise<void>((resolve) => (this.#wakeProducer = resolve));
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error.cause;
  }

  end(): void {
    this.#ended = true;
    this.#wake('consumer');
  }

  fail(cause: unknown): void {
    this.#error ??= { cause };
    this.#wake('consumer');
    this.#wake('producer');
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      const item = this.#items.shift();
      if (item) {
        this.#bytes -= item.length;
        this.#wake('producer');
        yield item;
        continue;
      }
      if (this.#error) throw this.#error.cause;
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wakeConsumer = resolve));
    }
  }

  #wake(which: 'consumer' | 'producer'): void {
    const wake = which === 'consumer' ? this.#wakeConsumer : this.#wakeProducer;
    if (which === 'consumer') this.#wakeConsumer = undefined;
    else this.#wakeProducer = undefined;
    wake?.();
  }
}
