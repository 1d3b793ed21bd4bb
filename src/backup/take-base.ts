// A base backup, the `mongodump --oplog` idea: note T0, dump every collection (documents,
// options, indexes), note T1, and store the oplog [T0, T1] with it. Replaying that oplog over
// the dump gives the state at T1, however the dump interleaved with writes, because oplog
// entries are idempotent by _id.
//
// A base is resumable: each stored collection is committed to the manifest as part of a pending
// base, so a run stopped by its signal (a Lambda deadline) leaves work that the next run for the
// same source continues — skipping stored collections, re-dumping unfinished ones — however many
// runs the dump takes. The result stays consistent because the oplog [T0, T1] still covers every
// write since the first collection was read. If T0 has rolled out of the oplog meanwhile, that
// cannot hold any more: the pending base is dropped and a new one starts.
//
// A collection too large for one run does not restart from its first document on every run: an
// ordinary collection with a plain _id index is dumped in pieces (dump-pieces.ts), each committed
// as it is sealed, and the next run resumes after the last piece. Encrypted bases, and the
// collections dump-pieces.ts leaves whole (capped, clustered, collated, time-series, system.*),
// still resume by whole collections.
//
// Each run writes only under its own run id (object-keys.ts), so a resumed base's objects may
// sit in several bases/<T0>-<run>/ folders; the manifest lists every key. Two runs resuming the
// same base at once therefore never overwrite each other's objects; the conditional commit lets
// one of them win.
import { randomInt } from 'node:crypto';
import { BSON } from 'mongodb';
import pLimit from 'p-limit';
import { serializeMetadata, type CollectionMetadata } from '../archive/collection-metadata.ts';
import {
  addChain,
  addPendingCollection,
  addPendingPiece,
  addPendingOpaqueCollection,
  pendingBaseOf,
  recordPendingRun,
  removePendingBase,
  type Base,
  type Chain,
  type CollectionEntry,
  type Manifest,
  type StoredObject,
  type PartialCollection,
  type PendingBase,
} from '../archive/manifest.ts';
import { DEFAULT_PIECE_BYTES, dumpInPieces, dumpsInPieces } from './dump-pieces.ts';
import {
  baseId,
  baseOplogKey,
  collectionDataKey,
  collectionMetadataKey,
  newRunId,
} from '../archive/object-keys.ts';
import { forgetUnmatchedOpaque, resumableOpaque, sealOpaque } from '../archive/opaque-base.ts';
import { storeOpaqueCollection, storesOpaque, type StoredCollection } from './store-opaque-collection.ts';
import { OplogGap, SourceError } from '../errors.ts';
import { readCatalog, type CatalogEntry } from '../source/catalog.ts';
import { readCommitPoint, type CommitPoint } from '../source/commit-point.ts';
import { DEFAULT_MAJORITY_WAIT_MS, lastWriteOf, memberProbe, waitForMajority } from '../source/last-write.ts';
import { bucketsCollection, bucketsDataKey } from '../archive/timeseries-layout.ts';
import { transactionSafeStart } from '../source/transaction-start.ts';
import type { Source } from '../source/connect-source.ts';
import { dumpCollection } from '../source/dump-collection.ts';
import { estimateDocuments } from '../source/estimate-count.ts';
import { readOplog } from '../source/oplog-reader.ts';
import type { Store } from '../store/store.ts';
import { tsEquals, type Ts } from '../timestamp.ts';
import type { ManifestCommitter } from './commit.ts';
import { storeGzipped } from './store-object.ts';
import { writeOplogObject } from './write-oplog-object.ts';
import type { RawOplogEntry } from '../archive/oplog-header.ts';
import { BaseOplogCheck, UnsafeBaseOplog } from './base-oplog-check.ts';
import { OpenPrepares, trackingPrepares } from '../archive/open-prepares.ts';
import { hostsSeenOf } from '../archive/source-hosts.ts';
import { counted } from '../words.ts';

export const DEFAULT_DUMP_CONCURRENCY = 4;
/** Bases taken in one call when DDL in the base oplog (base-oplog-check.ts) spoils one. */
const MAX_BASE_ATTEMPTS = 3;
/** An oplog that was empty when the base started: read it from its beginning. */
const ORIGIN: Ts = { t: 0, i: 0 };

export interface TakeBaseOptions {
  readonly source: Source;
  readonly store: Store;
  readonly committer: ManifestCommitter;
  readonly concurrency?: number;
  readonly includeAuth?: boolean;
  /** A config server member of a cluster: its sharding metadata is dumped too (namespace.ts). */
  readonly includeConfigMetadata?: boolean;
  /** How long the sealed base waits for the majority point to reach T1 (last-write.ts). */
  readonly majorityWaitMs?: number;
  /**
   * Raw bytes per piece of a collection dumped in pieces (dump-pieces.ts): a run stopped by its
   * signal loses at most the piece it was writing. Default DEFAULT_PIECE_BYTES; tests set it tiny.
   */
  readonly pieceBytes?: number;
  /** Told each sealed piece of a collection that is not its last, once it is committed. */
  readonly onPiece?: (part: PartialCollection) => void;
  /** Stops the dump between commits; the base stays pending for the next run. */
  readonly signal?: AbortSignal;
  readonly onCollection?: (entry: CollectionEntry) => void;
  /**
   * What a long wait is for ("finding the commit point", "listing collections"), for a terminal
   * to show; `total` where the stage counts something (the collections to dump).
   */
  readonly onStage?: (stage: string, message: string, total?: number) => void;
  /**
   * Given, the dump first estimates how many documents it will read (estimate-count.ts) and
   * reports it, then each document read: what a progress bar's total, percent and ETA need.
   */
  readonly onDumpPlan?: (plan: DumpPlan) => void;
  readonly onDocument?: () => void;
}

export interface DumpPlan {
  readonly collections: number;
  /** Null when the source would not estimate. */
  readonly estimatedDocuments: number | null;
}

interface TakeBaseOutcome {
  readonly manifest: Manifest;
  /** True when this run continued a base an earlier run had started. */
  readonly resumed: boolean;
  /** The id of a pending base dropped because its T0 rolled out of the oplog. */
  readonly abandoned?: string;
}

export type TakeBaseResult =
  | (TakeBaseOutcome & { readonly stoppedEarly: false; readonly chain: Chain })
  /** Stopped by the signal: what is stored so far is committed as `pending` (if anything is). */
  | (TakeBaseOutcome & { readonly stoppedEarly: true; readonly pending: PendingBase | undefined });

/**
 * Takes a base, or finishes the one in progress for this source. A base whose oplog holds a
 * rename or import that moved unlogged documents (base-oplog-check.ts) is never sealed: it is
 * dropped and taken again from a T0 after that command, up to MAX_BASE_ATTEMPTS times.
 */
export async function takeBase(options: TakeBaseOptions): Promise<TakeBaseResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await takeBaseOnce(options);
    } catch (error) {
      if (!(error instanceof UnsafeBaseOplog)) throw error;
      // Resuming it would read the same window again: a spoiled base is dropped either way.
      const spoiled = pendingBaseOf(options.committer.manifest, options.source.identity);
      if (spoiled) await options.committer.commit((manifest) => removePendingBase(manifest, spoiled.id));
      if (attempt >= MAX_BASE_ATTEMPTS || options.signal?.aborted) throw error;
    }
  }
}

async function takeBaseOnce(options: TakeBaseOptions): Promise<TakeBaseResult> {
  const { committer, source } = options;
  const pending = pendingBaseOf(committer.manifest, source.identity);
  if (!pending) return dumpBase(options, await startBase(options), false);
  try {
    return await dumpBase(options, pending, true);
  } catch (error) {
    if (!(error instanceof OplogGap) || options.signal?.aborted) throw error;
    await committer.commit((manifest) => removePendingBase(manifest, pending.id));
    return { ...(await dumpBase(options, await startBase(options), false)), abandoned: pending.id };
  }
}

async function startBase(options: TakeBaseOptions): Promise<PendingBase> {
  const startedAt = new Date().toISOString();
  options.onStage?.('commit-point', 'finding the commit point (T0, where the base starts)');
  const t0 = await readCommitPoint(options.source.client, options.source.readPreference, options.source.deadline);
  // Never start inside a transaction chain: replay could not apply it whole.
  const startTs = t0.ts ? await transactionSafeStart(options.source, { ...t0, ts: t0.ts }) : ORIGIN;
  return { id: baseId(startTs, newRunId()), source: options.source.identity, startTs, startedAt, collections: [] };
}

async function dumpBase(options: TakeBaseOptions, pending: PendingBase, resumed: boolean): Promise<TakeBaseResult> {
  const { source, store, committer, signal } = options;
  const from = tsEquals(pending.startTs, ORIGIN) ? null : pending.startTs;
  // A resumed run writes under its own run id; a new base's first run under the base's id.
  const folder = resumed ? baseId(pending.startTs, newRunId()) : pending.id;
  const stopped = (): TakeBaseResult => ({
    stoppedEarly: true,
    pending: pendingBaseOf(committer.manifest, source.identity),
    manifest: committer.manifest,
    resumed,
  });
  if (resumed) await assertInOplog(source, from);

  const { id, source: identity, startTs, startedAt } = pending;
  // Recorded before this run's first object: prune protects the whole folder from now on.
  // Encrypted collections this run cannot match to the catalog are forgotten and dumped again.
  await committer.commit((manifest) => forgetUnmatchedOpaque(recordPendingRun(manifest, { id, source: identity, startTs, startedAt }, folder), id));
  const stored = new Set(pending.collections.map((entry) => `${entry.db}.${entry.coll}`));
  const storedUuids = resumableOpaque(pending).uuids;
  options.onStage?.('catalog', 'listing collections');
  const listed = (await readCatalog(source.client, { includeAuth: options.includeAuth, includeConfigMetadata: options.includeConfigMetadata, deadline: source.deadline }))
    .filter((entry) => !stored.has(`${entry.db}.${entry.coll}`) && !(entry.uuid !== null && storedUuids.has(entry.uuid)));
  // Encrypting, objects are named by random ids; dumped in random order too, so that the order
  // the pending base records them in says nothing of the names' alphabetical order.
  const opaque = storesOpaque(store);
  const catalog = opaque ? shuffled(listed) : listed;
  if (options.onDumpPlan) {
    options.onStage?.('estimate', `estimating the documents of ${counted(catalog.length, 'collection')}`);
    const dumped = catalog.map((entry) => ({ db: entry.db, type: entry.type, coll: entry.type === 'timeseries' && entry.bucketsListed !== false ? bucketsCollection(entry.coll) : entry.coll }));
    options.onDumpPlan({ collections: catalog.length, estimatedDocuments: await estimateDocuments(source, dumped) });
  }
  options.onStage?.('dump', `dumping ${counted(catalog.length, 'collection')}`, catalog.length);
  const head = { id, source: identity, startTs, startedAt };
  // Pieces and collections are committed in the order they come: ManifestCommitter.commit
  // queues every commit after the one before (commit.ts), each naming the version before it.
  const partial = new Map((pending.partial ?? []).map((part) => [`${part.db}.${part.coll}`, part]));
  const pieces: PieceOptions = {
    pieceBytes: options.pieceBytes ?? DEFAULT_PIECE_BYTES,
    resumed: (entry) => partial.get(`${entry.db}.${entry.coll}`),
    commitPiece: async (part) => {
      await committer.commit((manifest) => addPendingPiece(manifest, head, part));
      options.onPiece?.(part);
    },
  };
  const failure = await dumpCollections(catalog, {
    concurrency: options.concurrency ?? DEFAULT_DUMP_CONCURRENCY,
    signal,
    dump: (entry) =>
      opaque
        ? dumpOneOpaque(source, store, folder, entry, signal, options.onDocument)
        : dumpOne(source, store, folder, entry, signal, options.onDocument, pieces).then((named) => ({ named })),
    record: async ({ named, opaque: opaqueEntry }) => {
      await committer.commit((manifest) =>
        opaqueEntry ? addPendingOpaqueCollection(manifest, head, opaqueEntry) : addPendingCollection(manifest, head, named),
      );
      options.onCollection?.(named);
    },
  });
  if (signal?.aborted && !failure?.commit) return stopped();
  if (failure) throw failure.error;

  let t1: CommitPoint | null = null;
  const check = new BaseOplogCheck();
  // Starts empty: the oplog starts at the first entry of every transaction open at T0, prepared
  // ones included (source/transaction-start.ts), so every prepare open at T1 is in it.
  const prepares = new OpenPrepares();
  let written;
  try {
    options.onStage?.('t1', 'waiting for the commit point to pass the last write (T1), then storing the oplog written meanwhile');
    t1 = await readT1(source, options.majorityWaitMs ?? DEFAULT_MAJORITY_WAIT_MS, signal);
    // The first entry is read before the upload starts: that is where a T0 that rolled out of
    // the oplog shows, as OplogGap, with no object half-written.
    const entries = readOplog(source, { from, includeFrom: true, upTo: t1 }, signal);
    try {
      const first = await entries.next();
      const all = async function* () {
        if (first.done) return;
        yield first.value;
        yield* entries;
      };
      written = await writeOplogObject(store, baseOplogKey(folder), trackingPrepares(checked(all(), check), prepares), startTs, signal);
    } finally {
      await entries.return(undefined);
    }
  } catch (error) {
    if (signal?.aborted) return stopped();
    throw error;
  }
  // The oplog object stays unreferenced (an orphan, as after a killed run) when the base is refused.
  if (check.problems.length > 0) throw new UnsafeBaseOplog(check.problems);
  const sealing = pendingBaseOf(committer.manifest, identity);
  const collections = [...(sealing?.collections ?? [])].sort(byNamespace);
  const opaqueCollections = sealOpaque(sealing?.opaque);
  const base: Base = {
    id,
    startTs,
    endTs: written.object.lastTs,
    startedAt,
    finishedAt: new Date().toISOString(),
    collections,
    ...(opaqueCollections ? { opaque: opaqueCollections } : {}),
    oplog: { ...written.object, openPrepares: prepares.records() },
    commitPoint: t1?.kind ?? 'lastWritten',
  };
  const seen = hostsSeenOf(source.hosts, base.finishedAt);
  const chain: Chain = { id, source: identity, base, chunks: [], ...(seen && { hostsSeen: seen }) };
  const manifest = await committer.commit((current) => addChain(removePendingBase(current, id), chain));
  return { stoppedEarly: false, chain, manifest, resumed };
}

/**
 * Dumps collections `concurrency` at a time and records each one as it is stored, one record at
 * a time (each is a conditional manifest write that must name the version before it). Starts
 * no dump once the signal fired or something failed, and waits for every started one to settle,
 * so no commit is still running when the caller goes on. Returns the first failure; a failed
 * record is marked, since stopping never causes one.
 */
async function dumpCollections(
  catalog: readonly CatalogEntry[],
  work: {
    concurrency: number;
    signal: AbortSignal | undefined;
    dump: (entry: CatalogEntry) => Promise<StoredCollection>;
    record: (entry: StoredCollection) => Promise<void>;
  },
): Promise<{ error: unknown; commit: boolean } | undefined> {
  const limit = pLimit(work.concurrency);
  let failure: { error: unknown; commit: boolean } | undefined;
  let records: Promise<void> = Promise.resolve();
  await Promise.all(
    catalog.map((entry) =>
      limit(async () => {
        if (work.signal?.aborted || failure) return;
        let dumped: StoredCollection;
        try {
          dumped = await work.dump(entry);
        } catch (error) {
          failure ??= { error, commit: false };
          return;
        }
        records = records.then(() => (failure?.commit ? undefined : work.record(dumped)));
        await records.catch((error: unknown) => {
          failure = failure?.commit ? failure : { error, commit: true };
        });
      }),
    ),
  );
  return failure;
}

/**
 * T1: the pinned member's last applied optime once every collection is dumped, so the base oplog
 * covers every write the dump can hold; the base waits (bounded) until it is majority-committed
 * (last-write.ts). Null where the member reports no lastWrite (FerretDB): the read then ends at
 * the newest op. A member that reports lastWrite but no majority point is read up to T1 as
 * 'lastWritten'.
 */
async function readT1(source: Source, majorityWaitMs: number, signal: AbortSignal | undefined): Promise<CommitPoint | null> {
  const probe = memberProbe(source);
  const lastWrite = lastWriteOf(await probe.hello());
  if (!lastWrite) return null;
  if (!lastWrite.majority) return { ts: lastWrite.opTime.ts, kind: 'lastWritten', wall: null };
  await waitForMajority(probe, lastWrite.opTime, majorityWaitMs, signal);
  return { ts: lastWrite.opTime.ts, kind: 'majority', wall: null, ...(lastWrite.opTime.t === undefined ? {} : { term: lastWrite.opTime.t }) };
}

/**
 * BSON element names (with their terminating NUL) of the commands the check reads; a command
 * entry holding none of them (a transaction's applyOps of CRUD, an index build) is not decoded.
 */
const CHECKED_FIELDS = ['create', 'drop', 'renameCollection', 'importCollection', 'upgradeDowngradeViewlessTimeseries'].map((name) => Buffer.from(`${name}\0`));

/** Passes the base oplog through, showing the command entries that may matter (decoded) to the check. */
async function* checked(entries: AsyncIterable<RawOplogEntry>, check: BaseOplogCheck): AsyncGenerator<RawOplogEntry> {
  for await (const entry of entries) {
    if (entry.header.op === 'c' && CHECKED_FIELDS.some((field) => entry.raw.includes(field))) check.observe(BSON.deserialize(entry.raw));
    yield entry;
  }
}

/** Throws OplogGap when `from` is no longer the oldest entry at or after itself. */
async function assertInOplog(source: Source, from: Ts | null): Promise<void> {
  if (!from) return;
  const entries = readOplog(source, { from, includeFrom: true, upTo: { ts: from, kind: 'lastWritten', wall: null } });
  for await (const _ of entries) break;
}

function byNamespace(a: CollectionEntry, b: CollectionEntry): number {
  return a.db !== b.db ? (a.db < b.db ? -1 : 1) : a.coll < b.coll ? -1 : a.coll > b.coll ? 1 : 0;
}

/**
 * The collection a catalog entry's documents are read from, and the key they are stored under:
 * a time-series collection is dumped as its raw buckets, as mongodump does (the oplog speaks
 * buckets; archive/timeseries-layout.ts), every other collection as itself.
 */
export function dumpedData(folder: string, entry: Pick<CatalogEntry, 'db' | 'coll' | 'type' | 'bucketsListed'>): { coll: string; key: string } {
  if (entry.type === 'timeseries') {
    if (entry.bucketsListed === false) {
      throw new SourceError(`${entry.db}.${entry.coll} is a time-series collection without a system.buckets collection (MongoDB 8.3+ "viewless" time-series), which this version cannot dump`, {
        hint: 'back this collection up with mongodump: a base cannot leave a collection out yet',
      });
    }
    return { coll: bucketsCollection(entry.coll), key: bucketsDataKey(folder, entry.db, entry.coll) };
  }
  return { coll: entry.coll, key: collectionDataKey(folder, entry.db, entry.coll) };
}

/**
 * Dumps a collection of an encrypted base under a random id (store-opaque-collection.ts).
 * Decided before anything is stored: a collection this version cannot dump fails here.
 */
async function dumpOneOpaque(
  source: Source,
  store: Store,
  folder: string,
  entry: CatalogEntry,
  signal?: AbortSignal,
  onDocument?: () => void,
): Promise<StoredCollection> {
  const dumped = entry.type === 'view' ? undefined : dumpedData(folder, entry);
  const documents = dumped === undefined ? null : counting(dumpCollection(source.client, entry.db, dumped.coll, signal, source.deadline), onDocument);
  return storeOpaqueCollection(store, folder, entry.db, metadataOf(entry), documents, signal);
}

/** A collection's metadata object as mongodump writes it, named or opaque alike. */
function metadataOf(entry: CatalogEntry): CollectionMetadata {
  return { collectionName: entry.coll, type: entry.type, options: entry.options, indexes: entry.indexes, uuid: entry.uuid };
}

/** The same documents, calling `onDocument` (the dump bar, a count) for each one. */
async function* counting<T>(documents: AsyncIterable<T>, onDocument?: () => void): AsyncGenerator<T> {
  for await (const document of documents) {
    onDocument?.();
    yield document;
  }
}

/** How this run dumps collections in pieces (dump-pieces.ts). */
interface PieceOptions {
  readonly pieceBytes: number;
  /** What an earlier run of the base stored of a collection part way through. */
  readonly resumed: (entry: CatalogEntry) => PartialCollection | undefined;
  readonly commitPiece: (part: PartialCollection) => Promise<void>;
}

/** A copy of `items` in random order (Fisher–Yates). */
function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

async function dumpOne(
  source: Source,
  store: Store,
  /** The base folder this run writes into. */
  folder: string,
  entry: CatalogEntry,
  signal?: AbortSignal,
  onDocument?: () => void,
  pieces?: PieceOptions,
): Promise<CollectionEntry> {
  // Decided before anything is stored: a collection this version cannot dump fails here.
  const dumped = entry.type === 'view' ? undefined : dumpedData(folder, entry);
  const storeMetadata = (): Promise<StoredObject> =>
    storeGzipped(store, collectionMetadataKey(folder, entry.db, entry.coll), serializeMetadata(metadataOf(entry)), signal);
  if (pieces && dumpsInPieces(entry)) {
    const { pieceBytes, commitPiece } = pieces;
    return dumpInPieces({ source, store, folder, entry, pieceBytes, resumed: pieces.resumed(entry), signal, onDocument, storeMetadata, commitPiece });
  }
  const metadata = await storeMetadata();
  if (dumped === undefined) return { db: entry.db, coll: entry.coll, type: entry.type, docs: 0, data: null, metadata };
  let docs = 0;
  const documents = dumpCollection(source.client, entry.db, dumped.coll, signal, source.deadline);
  const data = await storeGzipped(
    store,
    dumped.key,
    counting(documents, () => {
      docs++;
      onDocument?.();
    }),
    signal,
  );
  return { db: entry.db, coll: entry.coll, type: entry.type, docs, data, metadata };
}
