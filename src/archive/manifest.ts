// The manifest: the bucket's own description of what it holds, so that a restore onto an empty
// cluster needs nothing but the bucket. A list of chains; each chain is one base plus the oplog
// chunks after it, every range contiguous with the one before, hash-linked by sha256.
// Pure data and pure updates; backup/commit.ts is the only writer (conditional writes).
import { ConflictError, IntegrityError } from '../errors.ts';
import { compareTs, formatTs, tsEquals, type Ts } from '../timestamp.ts';

/**
 * Bumped when the format changes; every older version stays readable. 1: one manifest.json
 * listing every object. 2: manifest.json is a small head (bases, the unsealed chunks, a summary)
 * pinning immutable, hash-linked index segments that hold the sealed chunk records
 * (archive/index-segment.ts); a version-1 manifest is a valid head whose chunks are all unsealed,
 * so it is read as it is and sealed into segments by the first commit.
 */
export const MANIFEST_FORMAT_VERSION = 2;

/**
 * 3: format 2 with a base collection stored in several pieces (`moreData`, a pending base's
 * `partial`: backup/dump-pieces.ts). A reader of format 2 would ignore those fields and restore
 * the first piece alone, without a word, so a manifest that holds pieces is written as format 3,
 * which such a reader refuses ("upgrade mongo-pitr"); one without pieces stays format 2, readable
 * by every reader of format 2.
 */
export const MANIFEST_PIECES_FORMAT_VERSION = 3;

/** Which replica set a chain belongs to; chunks never append across sources. */
export interface SourceIdentity {
  readonly setName: string;
  /** settings.replicaSetId of the replica-set config; null where the server has none (FerretDB). */
  readonly replicaSetId: string | null;
}

/** How the archived upper bound was chosen: the majority commit point, or the last written op. */
export type CommitPointKind = 'majority' | 'lastWritten';

export interface StoredObject {
  readonly key: string;
  /** Uncompressed bytes. */
  readonly rawBytes: number;
  /** Bytes in the store (gzip). */
  readonly storedBytes: number;
  /** sha256 of the stored bytes, hex. */
  readonly sha256: string;
  /**
   * Set when the stored bytes are encrypted client-side: "age" (age-encryption.org/v1 around
   * the gzip stream). Optional and additive: absent means plain gzip. storedBytes and sha256 are
   * over the encrypted bytes, so verify and prune need no key. "kms": an AWS Encryption SDK
   * message (envelope encryption, the data key wrapped by KMS in its header) around the gzip
   * stream, bound to this key by its encryption context.
   */
  readonly encryption?: 'age' | 'kms';
  /** For "kms": the ARN of the KMS key that wrapped the data key (not secret; names the key). */
  readonly kmsKeyId?: string;
  /**
   * A compacted object of encrypted pieces (backup/compact.ts): their stored bytes one after the
   * other, each decrypted on its own (archive/object-parts.ts), so compaction needs no key. Each
   * part's stored size and cipher, in order; `encryption` above is then the first encrypted
   * part's. Optional and additive: absent, the object is one stream.
   */
  readonly parts?: readonly ObjectPart[];
}

/** One piece of a compacted object of encrypted pieces: its stored bytes and how they are encrypted (absent: plain gzip). */
export interface ObjectPart {
  readonly storedBytes: number;
  readonly encryption?: StoredObject['encryption'];
  /**
   * For "kms": the piece's own object key, which its encryption context names (crypt/kms-cipher.ts),
   * and the key that wrapped its data key.
   */
  readonly key?: string;
  readonly kmsKeyId?: string;
}

export interface OplogObject extends StoredObject {
  readonly firstTs: Ts;
  readonly lastTs: Ts;
  /** Wall clocks of the first and last entry (ISO), where the entries carry one. */
  readonly firstWall: string | null;
  readonly lastWall: string | null;
  readonly count: number;
  /**
   * The prepared (distributed) transactions still undecided after this object's last op: each
   * prepare entry's ts and an opaque id (archive/open-prepares.ts), nothing that names a
   * namespace or holds data. Carried from the object before, so it is complete only where every
   * object back to the base has it. Optional, additive: absent (older records) means unknown.
   */
  readonly openPrepares?: readonly OpenPrepareRecord[];
}

/** A prepare entry whose commitTransaction or abortTransaction is not archived yet. */
export interface OpenPrepareRecord {
  /** ts of the prepare entry (the prepare timestamp). */
  readonly ts: Ts;
  /** sha256 of the transaction's lsid and txnNumber, hex: matches its decision, names nothing. */
  readonly id: string;
}

export interface CollectionEntry {
  readonly db: string;
  readonly coll: string;
  readonly type: 'collection' | 'view' | 'timeseries';
  readonly docs: number;
  /** Documents; null for views. */
  readonly data: StoredObject | null;
  readonly metadata: StoredObject;
  /**
   * A collection dumped in pieces over several runs (backup/dump-pieces.ts): its documents go on
   * in these objects, in order, after `data`'s (the first piece). Each is a gzip stream of raw
   * BSON like `data`. Optional and additive: absent, `data` holds every document, as mongodump
   * writes it. Read every collection's documents through dataObjectsOf.
   */
  readonly moreData?: readonly StoredObject[];
}

/** A collection's document objects in order: `data`, then any further pieces; none for a view. */
export function dataObjectsOf(entry: Pick<CollectionEntry, 'data' | 'moreData'>): StoredObject[] {
  return entry.data ? [entry.data, ...(entry.moreData ?? [])] : [];
}

/**
 * A collection a pending base is part way through (backup/dump-pieces.ts): the pieces stored
 * and committed so far, in _id order, and the _id the next piece starts after. Plain bases only:
 * the bound is a document's _id, which an encrypted base's manifest must not show.
 */
export interface PartialCollection {
  readonly db: string;
  readonly coll: string;
  /** The source collection's UUID when it has one: a collection dropped and made again starts over. */
  readonly uuid: string | null;
  readonly metadata: StoredObject;
  readonly pieces: readonly StoredObject[];
  /** Documents in the pieces. */
  readonly docs: number;
  /** The last stored document's _id: BSON of {_id: value}, base64 (source/resume-bound.ts). */
  readonly after: string;
}

/**
 * A collection of an encrypted base as the manifest shows it: its objects and nothing that names
 * it. Its database, name, type and document count are inside its encrypted metadata object
 * (archive/opaque-base.ts says what the manifest still shows).
 */
export interface OpaqueCollection {
  /** Documents; null for views. */
  readonly data: StoredObject | null;
  readonly metadata: StoredObject;
  /**
   * Pending bases only: the source collection's UUID (random, names nothing), so that a resumed
   * run, which may hold only public keys, knows the collection is stored. Dropped when sealed.
   */
  readonly uuid?: string;
  /** Pending bases only: its documents, so that a forgotten entry leaves the total right. Dropped when sealed. */
  readonly docs?: number;
}

/** An encrypted base's collections (optional, additive: absent in plain bases). */
export interface OpaqueCollections {
  readonly collections: readonly OpaqueCollection[];
  /** Documents in all of them: the only count the manifest keeps. */
  readonly documents: number;
}

export interface Base {
  readonly id: string;
  /** T0: the newest archivable op before the dump started. */
  readonly startTs: Ts;
  /** T1: the last op of the consistency oplog; the base restores to any cutoff after it. */
  readonly endTs: Ts;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly collections: readonly CollectionEntry[];
  /** Collections stored encrypted, under opaque keys: named only inside their objects. */
  readonly opaque?: OpaqueCollections;
  /** The oplog [T0, T1] written while the dump ran. */
  readonly oplog: OplogObject;
  readonly commitPoint: CommitPointKind;
}

export interface ChunkStats {
  /** Ops by namespace, then by op type. */
  readonly byNs: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface Chunk extends OplogObject {
  /** Exclusive lower bound: the previous object's lastTs, which the source oplog showed adjacent. */
  readonly afterTs: Ts;
  /** sha256 of the previous object (the base's oplog for the first chunk): a hash chain. */
  readonly prevSha256: string;
  readonly sealedAt: string;
  /** How far the sealed chunk lagged the source's commit point, in ms (null if unknown). */
  readonly lagMs: number | null;
  readonly commitPoint: CommitPointKind;
  /**
   * The commit point the chunk was sealed at: when it was committed, every op with ts <= this one
   * was archived (a pass that reads up to the majority point seals its last chunk there). The
   * restorable window ends here. Optional and additive: absent (older manifests, streamed chunks)
   * it is the chunk's lastTs, which the hash chain already proves contiguous.
   */
  readonly commitPointTs?: Ts;
  /** That op's wall clock (ISO), where known: decides millisecond cutoffs in its second. */
  readonly commitPointWall?: string | null;
  readonly stats: ChunkStats;
  /**
   * Format 2, compacted objects only (backup/compact.ts): the level (1 = an hour of chunks,
   * 2 = a day; absent = 0, a chunk as archived), how many archived chunks it holds, when it was
   * recorded, and the sha256 of the last of them, which the next record's prevSha256 names: the
   * hash chain of the chunks as archived stays checkable across compacted spans.
   */
  readonly level?: number;
  readonly pieces?: number;
  readonly compactedAt?: string;
  readonly endSha256?: string;
}

/** What a pass found wrong with a chain's stored objects (chain-health.ts). */
export interface ChainDamage {
  /** The first object found missing or different from what the manifest says. */
  readonly key: string;
  readonly reason: string;
  readonly detectedAt: string;
  /**
   * Where a restore from this chain must stop, worked out when the damage was found (the chain
   * loaded whole): the last op of the object before the damaged one; null when the base itself
   * is damaged. Recorded because a format-2 head lists only the unsealed chunks, so the damaged
   * object's predecessor cannot be found from the head. Optional, additive: absent in older
   * manifests, where it is worked out from the chunks at hand.
   */
  readonly restorableUpTo?: { readonly ts: Ts; readonly wall: string | null } | null;
}

export interface Chain {
  readonly id: string;
  readonly source: SourceIdentity;
  readonly base: Base;
  /**
   * The chunks, oldest first. In a head (format 2, `history` present) only the unsealed ones:
   * the older ones are in the index segments `history` pins (backup/read-manifest.ts loads them).
   */
  readonly chunks: readonly Chunk[];
  /** Format 2 heads: the sealed part of the chain (archive/index-segment.ts). */
  readonly history?: ChainHistory;
  /** A chain loaded whole from a head: the index objects its chunk records were read from. */
  readonly indexKeys?: readonly string[];
  /** Set once an object of the chain is found damaged: the chain is never extended again. Optional, additive. */
  readonly damage?: ChainDamage;
  /** When every object of the chain was last read back and its sha256 checked (ISO). Optional, additive. */
  readonly verifiedAt?: string;
  /**
   * The members the source's hello listed (hosts and passives) at the chain's last pass, and
   * when: status names the cluster by them, since two sets named rs0 without a replicaSetId
   * (FerretDB) look alike otherwise. Optional, additive (archive/source-hosts.ts).
   */
  readonly hostsSeen?: HostsSeen;
}

export interface HostsSeen {
  readonly hosts: readonly string[];
  readonly at: string;
}

/** A stored index object, pinned by its sha256. */
export interface IndexRef {
  readonly key: string;
  readonly sha256: string;
  readonly bytes: number;
  /** Chunk records in it. */
  readonly chunks: number;
}

/** A sealed segment: `seq` counts from 0 per chain; `prev` inside it pins the one before. */
export interface SegmentRef extends IndexRef {
  readonly seq: number;
  readonly firstTs: Ts;
  readonly lastTs: Ts;
}

/** The compacted index: every record of segments 0..throughSeq, compacted spans merged. */
export interface CompactedRef extends IndexRef {
  readonly throughSeq: number;
  readonly compactedAt: string;
}

/** What a head keeps of a chain's sealed chunks: enough for status, oplog and stream. */
export interface ChainHistory {
  /** Chunk records sealed, as archived (a compacted record counts its pieces). */
  readonly chunks: number;
  readonly ops: number;
  readonly storedBytes: number;
  /**
   * Of `chunks`, how many were stored encrypted (status says "mixed" from the head alone).
   * Optional, additive: absent when a segment was sealed before it was counted.
   */
  readonly encryptedChunks?: number;
  /**
   * Of `encryptedChunks`, how many under KMS (the rest age), and the KMS keys (ARNs, not secret)
   * that wrapped their data keys: status names the mode and the keys from the head alone.
   * Counted with encryptedChunks; absent in heads written before KMS mode (whose sealed chunks
   * are all age).
   */
  readonly kmsChunks?: number;
  readonly kmsKeys?: readonly string[];
  /** The last sealed chunk record, as archived: where an empty tail resumes from. */
  readonly end: Chunk;
  /** The newest sealed segment. */
  readonly segment: SegmentRef | null;
  readonly compacted: CompactedRef | null;
}

/**
 * A base still being dumped: T0 and the collections stored so far, committed after each one so
 * that a run stopped by a deadline (a Lambda invocation) leaves work the next run resumes. It
 * becomes a chain once every collection and the oplog [T0, T1] are stored. Restores ignore it.
 */
export interface PendingBase {
  /** The id the finished base and its chain will have. */
  readonly id: string;
  readonly source: SourceIdentity;
  /** T0 (the origin {0,0} when the oplog was empty). */
  readonly startTs: Ts;
  readonly startedAt: string;
  /** Collections stored so far, in the order they finished. */
  readonly collections: readonly CollectionEntry[];
  /** Collections stored encrypted so far, named only inside their objects. */
  readonly opaque?: OpaqueCollections;
  /**
   * Every base folder a run of this base writes into (`bases/<folder>/`), recorded before the
   * run writes its first object there, so that prune leaves all of it alone however long a
   * collection takes. Optional and additive: older manifests protect only the base's own folder.
   */
  readonly folders?: readonly string[];
  /**
   * Collections part way through, each a few pieces in (backup/dump-pieces.ts): the next run
   * resumes them after their last piece. Optional and additive: absent means none.
   */
  readonly partial?: readonly PartialCollection[];
}

export interface Manifest {
  readonly formatVersion: number;
  readonly chains: readonly Chain[];
  /**
   * Bases in progress, at most one per source. Optional and additive: manifests without it are
   * read as having none, and readers that predate it ignore it (formatVersion stays 1).
   */
  readonly pendingBases?: readonly PendingBase[];
  /**
   * The store location (Store.url) the manifest was written for. A manifest found anywhere else
   * (copied or moved) is not written to until adopted. Optional and additive.
   */
  readonly storeUrl?: string;
}

export function emptyManifest(): Manifest {
  return { formatVersion: MANIFEST_FORMAT_VERSION, chains: [] };
}

export function parseManifest(bytes: Buffer | string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString());
  } catch (error) {
    throw new IntegrityError('manifest.json is not valid JSON', { cause: error });
  }
  if (!isRecord(value) || typeof value.formatVersion !== 'number' || !Array.isArray(value.chains)) {
    throw new IntegrityError('manifest.json is not a mongo-pitr manifest');
  }
  if (value.formatVersion > MANIFEST_PIECES_FORMAT_VERSION) {
    throw new IntegrityError(
      `manifest.json has format ${value.formatVersion}; this mongo-pitr reads up to ${MANIFEST_PIECES_FORMAT_VERSION}`,
      { hint: 'upgrade mongo-pitr' },
    );
  }
  return value as unknown as Manifest;
}

export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify({ ...manifest, formatVersion: formatToWrite(manifest) }, null, 1)}\n`);
}

/** The format a manifest is written as: 3 while it holds collection pieces, else as it was (1 or 2). */
export function formatToWrite(manifest: Manifest): number {
  if (manifest.formatVersion < MANIFEST_FORMAT_VERSION) return manifest.formatVersion;
  return holdsPieces(manifest) ? MANIFEST_PIECES_FORMAT_VERSION : MANIFEST_FORMAT_VERSION;
}

function holdsPieces(manifest: Manifest): boolean {
  const inPieces = (entries: readonly CollectionEntry[]): boolean => entries.some((entry) => (entry.moreData?.length ?? 0) > 0);
  return (
    manifest.chains.some((chain) => inPieces(chain.base.collections)) ||
    (manifest.pendingBases ?? []).some((pending) => (pending.partial?.length ?? 0) > 0 || inPieces(pending.collections))
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The end of what a chain covers: its last chunk's last op, or the base's T1. */
export function chainEnd(chain: Chain): OplogObject {
  return lastChunkOf(chain) ?? chain.base.oplog;
}

/** The chain's newest chunk record, sealed into a segment or not. */
export function lastChunkOf(chain: Chain): Chunk | undefined {
  return chain.chunks.at(-1) ?? chain.history?.end;
}

/**
 * The sha256 the next object's prevSha256 names: an object's own, or for a compacted object
 * the last archived chunk it holds.
 */
export function linkOf(object: OplogObject | Chunk): string {
  return ('endSha256' in object && object.endSha256) || object.sha256;
}

/** Chunks in the chain, sealed or not, as archived (compaction does not change the count). */
export function chainChunkCount(chain: Chain): number {
  return (chain.history?.chunks ?? 0) + chain.chunks.reduce((sum, chunk) => sum + (chunk.pieces ?? 1), 0);
}

/** Ops in the chain: the base's oplog and every chunk's. */
export function chainOpCount(chain: Chain): number {
  return chain.base.oplog.count + (chain.history?.ops ?? 0) + chain.chunks.reduce((sum, chunk) => sum + chunk.count, 0);
}

/** Where the next chunk of this chain resumes from. */
export function checkpointOf(chain: Chain): Ts {
  return chainEnd(chain).lastTs;
}

/** The newest chain of one source, or undefined. */
export function newestChainOf(manifest: Manifest, source: SourceIdentity): Chain | undefined {
  return manifest.chains.filter((chain) => sameSource(chain.source, source)).at(-1);
}

export function sameSource(a: SourceIdentity, b: SourceIdentity): boolean {
  return a.setName === b.setName && a.replicaSetId === b.replicaSetId;
}

export function addChain(manifest: Manifest, chain: Chain): Manifest {
  if (manifest.chains.some((existing) => existing.id === chain.id)) {
    throw new IntegrityError(`chain ${chain.id} is already in the manifest`);
  }
  return { ...manifest, chains: [...manifest.chains, chain] };
}

/** The base in progress for one source, or undefined. */
export function pendingBaseOf(manifest: Manifest, source: SourceIdentity): PendingBase | undefined {
  return manifest.pendingBases?.find((pending) => sameSource(pending.source, source));
}

/**
 * Another base in progress for the same source means another run started one: a conflict a run
 * must not paper over.
 */
function refuseRivalBase(pendingBases: readonly PendingBase[], pending: Pick<PendingBase, 'id' | 'source'>): void {
  const rival = pendingBases.find((candidate) => candidate.id !== pending.id && sameSource(candidate.source, pending.source));
  if (rival) {
    throw new ConflictError(`base ${rival.id} is already in progress for replica set ${pending.source.setName}`, {
      hint: 'run one backup per store at a time; the next run resumes the base in progress',
    });
  }
}

/**
 * Records one more stored collection of a pending base, creating the pending base on its first
 * collection. Another base in progress for the same source means another run started one: a
 * conflict this run must not paper over.
 */
export function addPendingCollection(manifest: Manifest, pending: Omit<PendingBase, 'collections'>, entry: CollectionEntry): Manifest {
  const others = manifest.pendingBases ?? [];
  const current = others.find((candidate) => candidate.id === pending.id);
  refuseRivalBase(others, pending);
  const collections = [...(current?.collections ?? []).filter((done) => done.db !== entry.db || done.coll !== entry.coll), entry];
  // Finished, a collection dumped in pieces is no longer part way through.
  const { partial: _partial, ...rest } = current ?? pending;
  const partial = (current?.partial ?? []).filter((part) => part.db !== entry.db || part.coll !== entry.coll);
  const updated: PendingBase = { ...rest, collections, ...(partial.length > 0 ? { partial } : {}) };
  return { ...manifest, pendingBases: [...others.filter((candidate) => candidate.id !== pending.id), updated] };
}

/**
 * Records that a run of a pending base is about to write under `folder`, creating the pending
 * base first if it is new: committed before the run's first object, so nothing it writes is
 * ever unreferenced. Another base in progress for the same source is a conflict, as in
 * addPendingCollection.
 */
export function recordPendingRun(manifest: Manifest, pending: Omit<PendingBase, 'collections' | 'folders'>, folder: string): Manifest {
  const others = manifest.pendingBases ?? [];
  const current = others.find((candidate) => candidate.id === pending.id);
  refuseRivalBase(others, pending);
  const base: PendingBase = current ?? { ...pending, collections: [] };
  const folders = [...(base.folders ?? []).filter((known) => known !== folder), folder];
  return { ...manifest, pendingBases: [...others.filter((candidate) => candidate.id !== pending.id), { ...base, folders }] };
}

/**
 * Records the pieces of a collection part way through (replacing what was recorded of it),
 * creating the pending base on its first piece, as addPendingCollection does.
 */
export function addPendingPiece(manifest: Manifest, pending: Omit<PendingBase, 'collections'>, part: PartialCollection): Manifest {
  const others = manifest.pendingBases ?? [];
  const current = others.find((candidate) => candidate.id === pending.id);
  refuseRivalBase(others, pending);
  const base: PendingBase = current ?? { ...pending, collections: [] };
  const partial = [...(base.partial ?? []).filter((known) => known.db !== part.db || known.coll !== part.coll), part];
  return { ...manifest, pendingBases: [...others.filter((candidate) => candidate.id !== pending.id), { ...base, partial }] };
}

/** Every base folder a pending base holds on to: its own and each recorded run's. */
export function pendingFolders(pending: PendingBase): string[] {
  return [pending.id, ...(pending.folders ?? []).filter((folder) => folder !== pending.id)];
}

/**
 * Every key a pending base references so far. A resumed base's objects span several
 * bases/<T0>-<run>/ folders (each run writes under its own run id), so these, not one folder,
 * are what a pending base holds on to.
 */
export function pendingKeys(pending: PendingBase): string[] {
  const partial = (pending.partial ?? []).flatMap((part) => [part.metadata, ...part.pieces]);
  return [...collectionObjectsOf(pending), ...partial].map((object) => object.key);
}

/** The objects of a base's (or pending base's) collections, named and opaque: metadata, then data. */
export function collectionObjectsOf(base: Pick<Base, 'collections' | 'opaque'>): StoredObject[] {
  return [...base.collections, ...(base.opaque?.collections ?? [])].flatMap((entry) => [entry.metadata, ...dataObjectsOf(entry)]);
}

/** Documents in a base, named and opaque collections alike. */
export function baseDocuments(base: Pick<Base, 'collections' | 'opaque'>): number {
  return base.collections.reduce((sum, entry) => sum + entry.docs, 0) + (base.opaque?.documents ?? 0);
}

/** How far a pending base got into the collections it is part way through (dump-pieces.ts). */
export function partialProgress(pending: Pick<PendingBase, 'partial'>): { collections: number; pieces: number; documents: number } | undefined {
  const partial = pending.partial ?? [];
  if (partial.length === 0) return undefined;
  return {
    collections: partial.length,
    pieces: partial.reduce((sum, part) => sum + part.pieces.length, 0),
    documents: partial.reduce((sum, part) => sum + part.docs, 0),
  };
}

/** Collections in a base, named and opaque alike. */
export function baseCollectionCount(base: Pick<Base, 'collections' | 'opaque'>): number {
  return base.collections.length + (base.opaque?.collections.length ?? 0);
}

/**
 * Records one more collection of a pending base stored encrypted (addPendingCollection's twin):
 * the manifest gains its objects and the running document total, never its name.
 */
export function addPendingOpaqueCollection(
  manifest: Manifest,
  pending: Omit<PendingBase, 'collections'>,
  entry: OpaqueCollection & { readonly docs: number },
): Manifest {
  const others = manifest.pendingBases ?? [];
  const current = others.find((candidate) => candidate.id === pending.id);
  refuseRivalBase(others, pending);
  const base: PendingBase = current ?? { ...pending, collections: [] };
  const opaque: OpaqueCollections = {
    collections: [...(base.opaque?.collections ?? []), entry],
    documents: (base.opaque?.documents ?? 0) + entry.docs,
  };
  return { ...manifest, pendingBases: [...others.filter((candidate) => candidate.id !== pending.id), { ...base, opaque }] };
}

/** Forgets a pending base (finished into a chain, or abandoned after an oplog gap). */
export function removePendingBase(manifest: Manifest, id: string): Manifest {
  if (!manifest.pendingBases) return manifest;
  const pendingBases = manifest.pendingBases.filter((pending) => pending.id !== id);
  if (pendingBases.length > 0) return { ...manifest, pendingBases };
  const { pendingBases: _dropped, ...rest } = manifest;
  return rest;
}

/**
 * Appends a chunk to a chain, refusing anything that would break continuity: the chunk must
 * start right after the chain's end and link to its sha256.
 */
export function addChunk(manifest: Manifest, chainId: string, chunk: Chunk): Manifest {
  const chains = manifest.chains.map((chain) => {
    if (chain.id !== chainId) return chain;
    const end = chainEnd(chain);
    if (!tsEquals(chunk.afterTs, end.lastTs) || chunk.prevSha256 !== linkOf(end)) {
      throw new IntegrityError(
        `chunk ${chunk.key} does not continue chain ${chainId} (it follows ${formatTs(chunk.afterTs)}, the chain ends at ${formatTs(end.lastTs)})`,
      );
    }
    if (compareTs(chunk.firstTs, chunk.afterTs) <= 0) {
      throw new IntegrityError(`chunk ${chunk.key} starts at or before its predecessor's end`);
    }
    return { ...chain, chunks: [...chain.chunks, chunk] };
  });
  if (!chains.some((chain) => chain.id === chainId)) throw new IntegrityError(`no chain ${chainId} in the manifest`);
  return { ...manifest, chains };
}
