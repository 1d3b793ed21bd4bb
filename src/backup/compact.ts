// Compaction: merges closed spans of sealed chunks into one object each, at levels (an hour, a
// day: archive/compaction-plan.ts), so that a restore of a long window fetches a few large
// objects instead of a million small ones. Order, for every batch of groups:
//   1. each merged object is streamed (piece by piece: fetched, checked against its sha256,
//      gunzipped, gzipped again) into a new key, then read back and checked; where a piece is
//      encrypted, the pieces' stored bytes are copied as they are, part after part (storeParts),
//      so compaction never needs the key;
//   2. a new compacted index (every sealed record, the merged spans replaced) is stored;
//   3. the head is committed by compare-and-swap (commit.ts) to pin it;
//   4. the pieces it replaced become unreferenced; they are deleted (sweepRetired) only once the
//      grace period has passed since the compaction was recorded, so a restore that planned on
//      the index before it still finds them.
// A kill anywhere leaves either the old index (the new objects are unreferenced, and removed
// after the grace period) or the new one; nothing is referenced twice, and the next run plans
// again from what is recorded: compaction resumes.
//
// Memory bound: one chain's sealed records, plus gzip and upload buffers; objects are streamed.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import pLimit from 'p-limit';
import { planCompaction, mergedRecord, type CompactionGroup } from '../archive/compaction-plan.ts';
import { DigestStream } from '../archive/digest.ts';
import { COMPACTED_KIND, compactedRefOf, serializeIndexObject, type CompactedBody } from '../archive/index-segment.ts';
import type { Chain, Chunk, Manifest, ObjectPart, StoredObject } from '../archive/manifest.ts';
import { chainIndexPrefix, compactedChunkKey, compactedIndexKey, CHUNKS_PREFIX, newRunId } from '../archive/object-keys.ts';
import { findOrphans, retiredAt } from '../archive/retention.ts';
import { ConflictError, IntegrityError } from '../errors.ts';
import type { ObjectInfo, Store } from '../store/store.ts';
import { checkDigest, getRecorded } from '../restore/download-chain.ts';
import { ManifestCommitter } from './commit.ts';
import { DEFAULT_ORPHAN_GRACE_MS } from './prune.ts';
import { loadSealed, readManifest } from './read-manifest.ts';
import { putDigested, storeGzipped } from './store-object.ts';
import { decryptStageOf } from '../crypt/store-cipher.ts';

/**
 * Groups merged between two commits of the compacted index: each commit rewrites the index (all
 * sealed records), so commits are spaced by work done, and a kill loses at most one batch.
 */
const GROUPS_PER_COMMIT = 2048;
const COMMIT_EVERY_MS = 20_000;
/** Merged objects written at once. */
const MERGE_CONCURRENCY = 4;
const DELETE_CONCURRENCY = 8;

export interface CompactOptions {
  readonly store: Store;
  /** The caller's committer (run, stream): compaction then commits in turn with its chunks. */
  readonly committer?: ManifestCommitter;
  /** Replaced pieces are deleted this long after the compaction was recorded (prune's grace). */
  readonly graceMs?: number;
  /** Stop after this many merged objects (stream compacts a little between flushes). */
  readonly maxGroups?: number;
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  readonly onObject?: (record: Chunk) => void;
}

export interface CompactResult {
  /** Merged objects written and recorded. */
  readonly merged: number;
  /** Chunk records they replaced. */
  readonly replaced: number;
  /** Replaced objects deleted (past the grace period). */
  readonly deleted: number;
  readonly stoppedEarly: boolean;
}

export async function compact(options: CompactOptions): Promise<CompactResult> {
  const { store, signal } = options;
  const now = options.now ?? Date.now;
  const committer = options.committer ?? (await ManifestCommitter.open(store));
  const runId = newRunId();
  let merged = 0;
  let replaced = 0;
  let stoppedEarly = false;
  for (const headChain of committer.manifest.chains) {
    for (;;) {
      const chain = committer.manifest.chains.find((candidate) => candidate.id === headChain.id);
      if (!chain?.history?.segment) break;
      const budget = (options.maxGroups ?? Infinity) - merged;
      if (budget <= 0 || signal?.aborted) {
        stoppedEarly = budget <= 0 ? merged > 0 : true;
        break;
      }
      const sealed = await loadSealed(store, chain);
      const groups = planCompaction(sealed.records).slice(0, Math.min(GROUPS_PER_COMMIT, budget));
      if (groups.length === 0) break;
      const records = await mergeGroups(store, chain.id, sealed.records, groups, runId, now, signal, options.onObject);
      const before = new Set(sealed.records);
      const done = records.filter((record) => !before.has(record));
      if (done.length === 0) break;
      await recordCompaction(committer, chain, records, runId, now);
      merged += done.length;
      replaced += sealed.records.length - (records.length - done.length);
    }
  }
  const deleted = signal?.aborted ? 0 : await sweepRetired(store, now(), options.graceMs ?? DEFAULT_ORPHAN_GRACE_MS, signal);
  return { merged, replaced, deleted, stoppedEarly };
}

/** Writes each group's merged object and returns the sealed records with the groups replaced. */
async function mergeGroups(
  store: Store,
  chainId: string,
  records: readonly Chunk[],
  groups: readonly CompactionGroup[],
  runId: string,
  now: () => number,
  signal: AbortSignal | undefined,
  onObject: CompactOptions['onObject'],
): Promise<Chunk[]> {
  const started = now();
  const limit = pLimit(MERGE_CONCURRENCY);
  const mergeOne = async (group: CompactionGroup): Promise<Chunk | undefined> => {
    if (signal?.aborted || now() - started > COMMIT_EVERY_MS) return undefined;
    const pieces = records.slice(group.start, group.end);
    const first = pieces[0];
    if (!first) return undefined;
    const key = compactedChunkKey(chainId, first.firstTs, group.level, runId);
    const stored = pieces.some((piece) => piece.encryption !== undefined)
      ? await storeParts(store, key, pieces, signal)
      : await storeGzipped(store, key, concatenated(store, pieces, signal), signal);
    const rawBytes = pieces.reduce((sum, piece) => sum + piece.rawBytes, 0);
    if (stored.rawBytes !== rawBytes) throw new IntegrityError(`${key} holds ${stored.rawBytes} bytes of entries, its pieces ${rawBytes}`);
    // Read back before it is recorded: what the index will pin is what the store holds.
    await readBack(store, stored, signal);
    const record = mergedRecord(pieces, stored, group.level, new Date(now()).toISOString());
    onObject?.(record);
    return record;
  };
  const merged = await Promise.all(groups.map((group) => limit(() => mergeOne(group))));
  const out: Chunk[] = [];
  let cursor = 0;
  groups.forEach((group, index) => {
    const record = merged[index];
    if (!record) return;
    out.push(...records.slice(cursor, group.start), record);
    cursor = group.end;
  });
  out.push(...records.slice(cursor));
  return out;
}

/**
 * Merges pieces of which some are encrypted without the key: their stored bytes one after the
 * other, each checked against its sha256 as it is copied; the record lists each part's size and
 * cipher so that readers decrypt part by part (archive/object-parts.ts). Plain pieces among them
 * (a chain where encryption was turned on) stay plain parts: nothing is decrypted, nothing
 * re-encrypted, so the pieces' recipients stay those of the merged object.
 */
async function storeParts(store: Store, key: string, pieces: readonly Chunk[], signal?: AbortSignal): Promise<StoredObject> {
  const { bytes, sha256 } = await putDigested(store, key, signal, (digest) => pipeline(storedBytesOf(store, pieces, signal), digest, { signal }));
  const parts = pieces.flatMap((piece): readonly ObjectPart[] => piece.parts ?? [partOf(piece)]);
  const encryption = parts.find((part) => part.encryption !== undefined)?.encryption;
  const rawBytes = pieces.reduce((sum, piece) => sum + piece.rawBytes, 0);
  return { key, rawBytes, storedBytes: bytes, sha256, ...(encryption ? { encryption } : {}), parts };
}

/**
 * A piece as one part. A KMS piece keeps its own key, which its encryption context names
 * (crypt/kms-cipher.ts: the context refuses an object read under another key), and its KMS key.
 */
function partOf(piece: Chunk): ObjectPart {
  if (piece.encryption === 'kms') return { storedBytes: piece.storedBytes, encryption: 'kms', key: piece.key, ...(piece.kmsKeyId !== undefined && { kmsKeyId: piece.kmsKeyId }) };
  return { storedBytes: piece.storedBytes, ...(piece.encryption ? { encryption: piece.encryption } : {}) };
}

/** The pieces' stored bytes as they are, in order, each checked against its recorded size and sha256. */
async function* storedBytesOf(store: Store, pieces: readonly Chunk[], signal?: AbortSignal): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    const digest = new DigestStream();
    const feeding = pipeline(await getRecorded(store, piece, signal), digest, { signal, end: true });
    try {
      for await (const part of digest) yield part as Buffer;
      await feeding;
    } finally {
      feeding.catch(() => undefined);
    }
    checkDigest(piece, digest);
  }
}

/** The pieces' entries, in order: each piece checked against its recorded size and sha256. */
async function* concatenated(store: Store, pieces: readonly Chunk[], signal?: AbortSignal): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    const digest = new DigestStream();
    const gunzip = createGunzip();
    const body = await getRecorded(store, piece, signal);
    const feeding = pipeline(body, digest, decryptStageOf(store, piece), gunzip, { signal, end: true });
    try {
      for await (const part of gunzip) yield part as Buffer;
      await feeding;
    } finally {
      feeding.catch(() => undefined);
    }
    checkDigest(piece, digest);
  }
}

async function readBack(store: Store, object: { key: string; storedBytes: number; sha256: string; rawBytes: number }, signal?: AbortSignal): Promise<void> {
  const digest = new DigestStream();
  await pipeline(await getRecorded(store, object, signal), digest, new Writable({ write: (_chunk, _encoding, done) => done() }), { signal });
  checkDigest(object, digest);
}

/** Stores the new compacted index and commits the head that pins it. */
async function recordCompaction(committer: ManifestCommitter, chain: Chain, records: Chunk[], runId: string, now: () => number): Promise<void> {
  const history = chain.history;
  const segment = history?.segment;
  if (!history || !segment) return;
  const body: CompactedBody = {
    formatVersion: 2,
    kind: COMPACTED_KIND,
    chainId: chain.id,
    throughSeq: segment.seq,
    throughSha256: segment.sha256,
    compactedAt: new Date(now()).toISOString(),
    chunks: records,
  };
  const key = compactedIndexKey(chain.id, segment.seq, runId + Date.now().toString(36));
  const bytes = serializeIndexObject(body);
  const ref = compactedRefOf(key, bytes, body);
  const storedBytes = records.reduce((sum, record) => sum + record.storedBytes, 0);
  await committer.commit((manifest) => withCompacted(manifest, chain, ref, storedBytes), { writes: [{ key, bytes }] });
}

/** The head with the chain's compacted index replaced; refuses if the sealed part changed under it. */
function withCompacted(manifest: Manifest, planned: Chain, ref: ReturnType<typeof compactedRefOf>, storedBytes: number): Manifest {
  const chains = manifest.chains.map((chain) => {
    if (chain.id !== planned.id) return chain;
    const history = chain.history;
    if (!history || history.compacted?.key !== planned.history?.compacted?.key || (history.segment?.seq ?? -1) < ref.throughSeq) {
      throw new ConflictError(`chain ${chain.id} was compacted by another run meanwhile`, { hint: 'run one compaction per store at a time' });
    }
    // storedBytes of the sealed records through ref.throughSeq changed; later segments' did not.
    const later = (history.storedBytes ?? 0) - (planned.history?.storedBytes ?? 0);
    return { ...chain, history: { ...history, compacted: ref, storedBytes: storedBytes + later } };
  });
  return { ...manifest, chains };
}

/**
 * Deletes what compactions replaced once the grace period has passed since they were recorded:
 * unreferenced keys under chunks/ and index/ that a compaction retired (retention.ts retiredAt).
 * Other unreferenced objects are prune's to judge.
 */
export async function sweepRetired(store: Store, nowMs: number, graceMs: number, signal?: AbortSignal): Promise<number> {
  const { manifest } = await readManifest(store);
  const retired = retiredAt([manifest]);
  const listing: ObjectInfo[] = [];
  for (const chain of manifest.chains) {
    for (const prefix of [`${CHUNKS_PREFIX}${chain.id}/`, chainIndexPrefix(chain.id)]) {
      for await (const object of store.list(prefix)) if (retired(object.key) > 0) listing.push(object);
    }
  }
  // Read again after listing: a compaction recorded meanwhile references its new objects there.
  const { manifest: fresh } = await readManifest(store);
  const { orphans } = findOrphans(listing, [manifest, fresh], nowMs, graceMs);
  const limit = pLimit(DELETE_CONCURRENCY);
  await Promise.all(orphans.map((object) => limit(async () => {
    signal?.throwIfAborted();
    await store.delete(object.key);
  })));
  return orphans.length;
}
