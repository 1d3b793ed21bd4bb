// Writes the state a chain restores to as a mongodump folder, so leaving mongo-pitr is one
// `mongorestore --oplogReplay <dir>` away:
//   <db>/<coll>.bson            the base's documents (uncompressed, concatenated raw BSON)
//   <db>/<coll>.metadata.json   options, indexes, uuid (mongodump's format, which bases use)
//   oplog.bson                  the base's consistency oplog, then the chunks' entries before
//                               the cutoff, in ts order
// File names are mongodump's, collection names escaped as it escapes them (dump-folder.ts);
// a view has only its metadata, as in mongodump. A time-series collection is written as
// mongodump writes it: `<coll>.metadata.json` (type "timeseries") and its raw buckets in
// `system.buckets.<coll>.bson` (archive/timeseries-layout.ts), which mongorestore inserts into
// the buckets collection, so the oplog's bucket updates apply. An older base holding
// measurements is written without `type: "timeseries"`: mongorestore then creates the
// collection from its `timeseries` options and inserts the measurements through it.
// Every object is checked against the manifest (size and sha256) as it streams; the folder is
// assembled beside the destination and renamed into place only once all of it verified.
// Folders and files are created private (private-mode.ts): the export holds every document.
// Memory bound: one object's stream buffers at a time, plus one oplog entry; never decoded
// except the oplog entries' headers (ts and wall, for the cutoff).
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { UsageError } from '../errors.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-mode.ts';
import { readBsonFrames } from '../archive/bson-frames.ts';
import { formatWindow, planRestore, verifyContinuity, type RestorePlan } from '../archive/chain-window.ts';
import { tsWords, windowPoints, type WindowPoints } from '../archive/window-words.ts';
import { parseMetadata, serializeMetadata } from '../archive/collection-metadata.ts';
import { DigestStream } from '../archive/digest.ts';
import { dataObjectsOf, type CollectionEntry, type StoredObject } from '../archive/manifest.ts';
import type { SourceChoice } from '../archive/source-choice.ts';
import { readOplogHeader, type OplogHeader } from '../archive/oplog-header.ts';
import { decodeOplogEntry } from '../archive/bson-decode.ts';
import { commitTimestampOf, preparedCommitApplies, PrepareTracker } from '../restore/prepared-cutoff.ts';
import { readManifest } from '../backup/commit.ts';
import { checkDigest, getRecorded, objectsOf } from '../restore/download-chain.ts';
import type { Store } from '../store/store.ts';
import { decryptStageOf } from '../crypt/store-cipher.ts';
import { checkKeys } from '../crypt/key-check.ts';
import { formatTs, isBeforeCutoff, tsToDate, type Cutoff } from '../timestamp.ts';
import { DUMP_OPLOG_FILE, dumpDataFile, dumpMetadataFile } from './dump-folder.ts';
import { selectNamespaces, type NamespaceSelection } from './export-namespaces.ts';
import { bucketsCollection, holdsBuckets } from '../archive/timeseries-layout.ts';
import { isOpaqueKey } from '../archive/object-keys.ts';
import { namedBase, withoutCatalogNames } from '../archive/opaque-base.ts';

export interface ExportDumpOptions {
  readonly store: Store;
  /** The folder to create; it must not exist, or be empty. */
  readonly dir: string;
  /** Entries at or after it are left out of oplog.bson; none: everything archived. */
  readonly cutoff?: Cutoff;
  /** Which source's chains, where the store holds several. */
  readonly source?: SourceChoice;
  /**
   * --nsInclude/--nsExclude: mongorestore refuses --oplogReplay together with namespace
   * filters, so an export is where the selection happens (export-namespaces.ts).
   */
  readonly namespaces?: { readonly include?: readonly string[]; readonly exclude?: readonly string[] };
  readonly signal?: AbortSignal;
  readonly onCollection?: (ns: string, docs: number) => void;
}

export interface ExportDumpResult {
  readonly chainId: string;
  /** Positions first, as before; restoreWindow gives the same ends structured. */
  readonly window: string;
  readonly restoreWindow: WindowPoints;
  readonly dir: string;
  readonly collections: number;
  readonly documents: number;
  /** Entries written to oplog.bson. */
  readonly oplogEntries: number;
  /** ts of the last entry written, and of the first left out by the cutoff (secs:ordinal). */
  readonly lastEntry: string | null;
  readonly firstLeftOut: string | null;
}

export async function exportDump(options: ExportDumpOptions): Promise<ExportDumpResult> {
  const { manifest } = await readManifest(options.store);
  const plan = planRestore(manifest, options.cutoff, options.source);
  verifyContinuity(plan.chain);
  await checkKeys(options.store, objectsOf(plan), options.signal);
  const dir = resolve(options.dir);
  await checkDestination(dir);
  const work = `${dir}.mongo-pitr-${randomBytes(4).toString('hex')}`;
  const selection = selectNamespaces(options.namespaces);
  // An encrypted base names its collections only inside their metadata objects (a few KiB each).
  const named = await namedBase(plan.base, (object) => fetchSmall(options.store, object, options.signal));
  const collections = named.collections.filter((entry) => selection?.collection(`${entry.db}.${entry.coll}`) ?? true);
  await mkdir(work, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    let documents = 0;
    for (const entry of collections) {
      await exportCollection(options.store, entry, work, options.signal);
      documents += entry.docs;
      options.onCollection?.(`${entry.db}.${entry.coll}`, entry.docs);
    }
    const oplog = await exportOplog(options.store, plan, join(work, DUMP_OPLOG_FILE), selection, options.signal);
    await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(work, dir);
    return {
      chainId: plan.chain.id,
      window: formatWindow(plan.window),
      restoreWindow: windowPoints(plan.window),
      dir,
      collections: collections.length,
      documents,
      ...oplog,
    };
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}

/** The destination must be new or an empty folder: an export never mixes with other files. */
async function checkDestination(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) {
    await mkdir(dirname(dir), { recursive: true, mode: PRIVATE_DIR_MODE });
    return;
  }
  if (!info.isDirectory() || (await readdir(dir)).length > 0) {
    throw new UsageError(`${dir} already exists and is not an empty folder`, { hint: 'name a new folder for the export' });
  }
}

async function exportCollection(store: Store, entry: CollectionEntry, work: string, signal?: AbortSignal): Promise<void> {
  const folder = join(work, entry.db);
  await mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
  // An encrypted base's metadata also names the database and counts the documents: mongodump's has neither.
  let metadata = isOpaqueKey(entry.metadata.key) ? withoutCatalogNames(await fetchSmall(store, entry.metadata, signal)) : await fetchSmall(store, entry.metadata, signal);
  const buckets = holdsBuckets(entry);
  if (entry.type === 'timeseries' && !buckets) {
    metadata = serializeMetadata({ ...parseMetadata(metadata, entry.coll), type: 'collection' });
  }
  await writeFile(join(folder, dumpMetadataFile(entry.coll)), metadata, { flag: 'wx', mode: PRIVATE_FILE_MODE });
  const dataFile = join(folder, dumpDataFile(buckets ? bucketsCollection(entry.coll) : entry.coll));
  // A collection dumped in pieces (backup/dump-pieces.ts) becomes one .bson file, as mongodump
  // writes it: the pieces' documents one after the other, each piece checked as it streams.
  for (const [index, object] of dataObjectsOf(entry).entries()) {
    const digest = new DigestStream();
    const body = await getRecorded(store, object, signal);
    const file = createWriteStream(dataFile, index === 0 ? { flags: 'wx', mode: PRIVATE_FILE_MODE } : { flags: 'a' });
    await pipeline(body, digest, decryptStageOf(store, object), createGunzip(), file, { signal });
    checkDigest(object, digest);
  }
}

/** A metadata object, gunzipped: a few KiB of options and index specs. */
async function fetchSmall(store: Store, object: StoredObject, signal?: AbortSignal): Promise<Buffer> {
  const digest = new DigestStream();
  const chunks: Buffer[] = [];
  await pipeline(await getRecorded(store, object, signal), digest, decryptStageOf(store, object), createGunzip(), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) chunks.push(chunk);
  }, { signal });
  checkDigest(object, digest);
  return Buffer.concat(chunks);
}

/**
 * The base's oplog, then each chunk's, up to the first entry the cutoff leaves out. An object
 * the cutoff ends inside is still read to its end, so its sha256 is checked like any other.
 * A transaction prepared before the cutoff and committed at a commitTimestamp before it has
 * its commitTransaction entry after the cutoff (restore/prepared-cutoff.ts): the export reads
 * on, through the chunks past the cutoff if need be, until every such prepare is decided, and
 * writes those commit entries too, so that mongorestore applies exactly the transactions the
 * cutoff includes; an archive that ends first makes the cutoff unrestorable (UsageError).
 */
async function exportOplog(
  store: Store,
  plan: RestorePlan,
  file: string,
  selection: NamespaceSelection | undefined,
  signal?: AbortSignal,
): Promise<Pick<ExportDumpResult, 'oplogEntries' | 'lastEntry' | 'firstLeftOut'>> {
  const out = createWriteStream(file, { flags: 'wx', mode: PRIVATE_FILE_MODE });
  const result = { oplogEntries: 0, lastEntry: null as string | null, firstLeftOut: null as string | null };
  const prepares = new PrepareTracker();
  const awaiting = () => prepares.awaitingDecision(plan.cutoff).length > 0;
  const later = plan.chain.chunks.slice(plan.chunks.length);
  try {
    for (const object of [plan.base.oplog, ...plan.chunks, ...later]) {
      if (result.firstLeftOut !== null && !awaiting()) break;
      const digest = new DigestStream();
      await pipeline(await getRecorded(store, object, signal), digest, decryptStageOf(store, object), createGunzip(), async (source: AsyncIterable<Buffer>) => {
        for await (const raw of readBsonFrames(source, { label: object.key })) {
          if (result.firstLeftOut !== null && !awaiting()) continue;
          const header = readOplogHeader(raw);
          const before = result.firstLeftOut === null && isBeforeCutoff(header.ts, header.wall, plan.cutoff);
          if (!before && result.firstLeftOut === null) result.firstLeftOut = formatTs(header.ts);
          if (!keepEntry(raw, header, before, prepares, plan.cutoff)) continue;
          // Unfiltered, the bytes pass through untouched; filtered, the entries selected.
          for (const kept of selection ? selection.entries(raw) : [raw]) {
            if (!out.write(kept)) await once(out, 'drain');
            result.oplogEntries++;
            result.lastEntry = formatTs(header.ts);
          }
        }
      }, { signal });
      checkDigest(object, digest);
    }
    const undecided = prepares.awaitingDecision(plan.cutoff)[0];
    if (undecided) {
      throw new UsageError(`--until ${plan.cutoff?.input ?? ''} is past a transaction prepared at ${tsWords(undecided.ts, { positions: true })} whose commit or abort is not archived yet`, {
        hint: `export to a cutoff at or before it (--until ${formatTs(undecided.ts)}, or ${tsToDate(undecided.ts).toISOString()}), or once the archive holds the decision`,
      });
    }
    out.end();
    await once(out, 'finish');
    // The plan holds only the chunks the cutoff reaches into: the next one starts after it.
    const next = plan.chain.chunks[plan.chunks.length];
    if (result.firstLeftOut === null && next) result.firstLeftOut = formatTs(next.firstTs);
    return result;
  } finally {
    out.destroy();
  }
}

/**
 * Whether an entry goes into oplog.bson: before the cutoff, every entry but the commit of a
 * prepared transaction the cutoff leaves out (its commitTimestamp in a millisecond cutoff's own
 * second); past it, only the commits of prepared transactions the cutoff lets in. Only
 * transaction commands (admin.$cmd) are decoded.
 */
function keepEntry(raw: Buffer, header: OplogHeader, before: boolean, prepares: PrepareTracker, cutoff: Cutoff | undefined): boolean {
  if (header.op !== 'c' || header.ns !== 'admin.$cmd') return before;
  const entry = decodeOplogEntry(raw);
  const decided = prepares.push(entry);
  const commitTimestamp = decided ? commitTimestampOf(entry) : undefined;
  if (commitTimestamp === undefined) return before;
  return preparedCommitApplies(commitTimestamp, cutoff);
}

