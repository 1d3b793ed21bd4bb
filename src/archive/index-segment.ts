// Format 2 of the manifest, pure: the head (manifest.json, rewritten by compare-and-swap on every
// commit) keeps each chain's base, its unsealed chunk records and a summary; older records are
// sealed into immutable index segments, each pinned by its sha256 in the next segment (`prev`)
// and the newest in the head. So a commit writes the head and, every SEGMENT_CHUNKS chunks (or
// SEGMENT_MAX_AGE_MS), one segment, whatever the archive's age; the bucket alone still proves
// the chain: head → newest segment → ... → first segment, by sha256, and inside them each
// chunk's prevSha256. A compacted index (backup/compact.ts) replaces segments 0..throughSeq by
// one object holding their records with compacted spans merged; it pins the segment it ends at.
//
// Objects are JSON, one chunk record a line, so that they stay readable with any tool.
import { createHash } from 'node:crypto';
import { IntegrityError } from '../errors.ts';
import type { Chain, ChainHistory, Chunk, CompactedRef, IndexRef, Manifest, SegmentRef } from './manifest.ts';
import { segmentKey } from './object-keys.ts';

/** Records per sealed segment: the head holds at most this many chunk records per chain. */
export const SEGMENT_CHUNKS = 128;
/** An unsealed record older than this is sealed at the next commit, however few there are. */
export const SEGMENT_MAX_AGE_MS = 60 * 60 * 1000;

export const SEGMENT_KIND = 'mongo-pitr.index-segment';
export const COMPACTED_KIND = 'mongo-pitr.compacted-index';

export interface SegmentBody {
  readonly formatVersion: 2;
  readonly kind: typeof SEGMENT_KIND;
  readonly chainId: string;
  readonly seq: number;
  /** The segment before (seq - 1), pinned by its sha256; null for seq 0. */
  readonly prev: SegmentRef | null;
  readonly chunks: readonly Chunk[];
}

export interface CompactedBody {
  readonly formatVersion: 2;
  readonly kind: typeof COMPACTED_KIND;
  readonly chainId: string;
  /** Holds the records of segments 0..throughSeq. */
  readonly throughSeq: number;
  /** sha256 of segment throughSeq, which segment throughSeq + 1 names as its prev. */
  readonly throughSha256: string;
  readonly compactedAt: string;
  readonly chunks: readonly Chunk[];
}

/** An object to store before the head that references it. */
export interface IndexWrite {
  readonly key: string;
  readonly bytes: Buffer;
}

/** JSON with one chunk record a line: header fields first, then the records. */
export function serializeIndexObject(body: SegmentBody | CompactedBody): Buffer {
  const { chunks, ...header } = body;
  const head = JSON.stringify(header).slice(0, -1);
  const lines = chunks.map((chunk) => JSON.stringify(chunk)).join(',\n');
  return Buffer.from(`${head},"chunks":[\n${lines}\n]}\n`);
}

export function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Checks an index object's bytes against the ref that pins it, then parses it. */
export function parseIndexObject(bytes: Buffer, ref: IndexRef, kind: typeof SEGMENT_KIND | typeof COMPACTED_KIND, chainId: string): SegmentBody | CompactedBody {
  const sha256 = sha256Of(bytes);
  if (bytes.length !== ref.bytes || sha256 !== ref.sha256) {
    throw new IntegrityError(`${ref.key} is corrupt: ${bytes.length} bytes with sha256 ${sha256.slice(0, 12)}…, its reference says ${ref.bytes} bytes with ${ref.sha256.slice(0, 12)}…`);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString());
  } catch (error) {
    throw new IntegrityError(`${ref.key} is not valid JSON`, { cause: error });
  }
  const body = (typeof value === 'object' ? value : null) as { kind?: unknown; chainId?: unknown; chunks?: unknown } | null;
  if (!body || body.kind !== kind || body.chainId !== chainId || !Array.isArray(body.chunks) || body.chunks.length !== ref.chunks) {
    throw new IntegrityError(`${ref.key} is not the ${kind} its reference describes`);
  }
  return value as SegmentBody | CompactedBody;
}

/**
 * Seals what is due in every chain of a head: full segments of SEGMENT_CHUNKS records, and all
 * unsealed records once the oldest is SEGMENT_MAX_AGE_MS old. Returns the objects to write first
 * and the head that references them. A chain from a format-1 manifest (no history) is sealed the
 * same way, segment after segment: that is the conversion to format 2.
 */
export function sealDue(manifest: Manifest, nowMs: number, runId: string): { manifest: Manifest; writes: IndexWrite[] } {
  const writes: IndexWrite[] = [];
  const chains = manifest.chains.map((chain) => sealChain(chain, nowMs, runId, writes));
  return { manifest: { ...manifest, formatVersion: 2, chains }, writes };
}

function sealChain(chain: Chain, nowMs: number, runId: string, writes: IndexWrite[]): Chain {
  let current = chain;
  while (current.chunks.length >= SEGMENT_CHUNKS) current = sealSome(current, SEGMENT_CHUNKS, runId, writes);
  const oldest = current.chunks[0];
  if (oldest && nowMs - Date.parse(oldest.sealedAt) >= SEGMENT_MAX_AGE_MS) current = sealSome(current, current.chunks.length, runId, writes);
  return current;
}

/** Moves the first `count` unsealed records into a new segment. */
export function sealSome(chain: Chain, count: number, runId: string, writes: IndexWrite[]): Chain {
  const records = chain.chunks.slice(0, count);
  const last = records.at(-1);
  if (!last) return chain;
  const previous = chain.history?.segment ?? null;
  const seq = previous ? previous.seq + 1 : 0;
  const body: SegmentBody = { formatVersion: 2, kind: SEGMENT_KIND, chainId: chain.id, seq, prev: previous, chunks: records };
  const bytes = serializeIndexObject(body);
  const first = records[0] ?? last;
  const segment: SegmentRef = {
    key: segmentKey(chain.id, seq, runId),
    sha256: sha256Of(bytes),
    bytes: bytes.length,
    chunks: records.length,
    seq,
    firstTs: first.firstTs,
    lastTs: last.lastTs,
  };
  writes.push({ key: segment.key, bytes });
  const before = chain.history;
  const history: ChainHistory = {
    chunks: (before?.chunks ?? 0) + records.reduce((sum, chunk) => sum + (chunk.pieces ?? 1), 0),
    ops: (before?.ops ?? 0) + records.reduce((sum, chunk) => sum + chunk.count, 0),
    storedBytes: (before?.storedBytes ?? 0) + records.reduce((sum, chunk) => sum + chunk.storedBytes, 0),
    // Counted only while every sealed record has been: a count begun late would say "mixed" wrongly.
    ...((before === undefined || before.encryptedChunks !== undefined) && {
      encryptedChunks: (before?.encryptedChunks ?? 0) + records.reduce((sum, chunk) => sum + (chunk.encryption ? (chunk.pieces ?? 1) : 0), 0),
    }),
    end: last,
    segment,
    compacted: before?.compacted ?? null,
  };
  return { ...chain, chunks: chain.chunks.slice(count), history };
}

/** Seals every unsealed record of one chain (compaction works on sealed records only). */
export function sealAll(manifest: Manifest, chainId: string, runId: string): { manifest: Manifest; writes: IndexWrite[] } {
  const writes: IndexWrite[] = [];
  const chains = manifest.chains.map((chain) => {
    let current = chain;
    while (current.id === chainId && current.chunks.length > 0) current = sealSome(current, Math.min(SEGMENT_CHUNKS, current.chunks.length), runId, writes);
    return current;
  });
  return { manifest: { ...manifest, formatVersion: 2, chains }, writes };
}

/** The compacted ref a head records for a compacted index body. */
export function compactedRefOf(key: string, bytes: Buffer, body: CompactedBody): CompactedRef {
  return { key, sha256: sha256Of(bytes), bytes: bytes.length, chunks: body.chunks.length, throughSeq: body.throughSeq, compactedAt: body.compactedAt };
}
