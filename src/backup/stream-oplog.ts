// Streams the oplog into the store as it is written: a long-running tailer that seals a chunk
// when it has held entries for the flush interval, or when the chunk reaches its size or span
// limit, and commits the manifest after each chunk (as archive-oplog does, so a killed streamer
// loses at most the chunk it was writing). When the signal fires it seals the chunk it has,
// archives whatever was written up to that moment in one last catch-up pass, and returns: a
// clean stop (SIGTERM from a process supervisor) leaves nothing written before it unarchived.
// Memory: one driver batch of oplog and the store's upload buffers; a chunk streams through
// gzip into the store and is never held whole.
import type { ChunkLimits } from '../archive/chunker.ts';
import { addChunk, chainEnd, linkOf, newestChainOf, type Chain, type Chunk } from '../archive/manifest.ts';
import type { RawOplogEntry } from '../archive/oplog-header.ts';
import { chunkKey, newRunId } from '../archive/object-keys.ts';
import { carriedFrom, trackingPrepares } from '../archive/open-prepares.ts';
import { hostsSeenOf, noteHosts } from '../archive/source-hosts.ts';
import { UsageError } from '../errors.ts';
import { readMajorityPoint } from '../source/commit-point.ts';
import type { Source } from '../source/connect-source.ts';
import { tailOplog } from '../source/oplog-reader.ts';
import type { Store } from '../store/store.ts';
import type { Ts } from '../timestamp.ts';
import { archiveOplog, lagMs } from './archive-oplog.ts';
import { ChainDamaged } from '../archive/chain-health.ts';
import { ensureChainWhole, recordVerified } from './check-chain.ts';
import { ManifestCommitter } from './commit.ts';
import { takeBase } from './take-base.ts';
import { DEFAULT_LIMITS } from './run-due.ts';
import { BackgroundCompaction, DEFAULT_STREAM_COMPACT_EVERY_MS } from './background-compaction.ts';
import type { CompactResult } from './compact.ts';
import { writeOplogObject } from './write-oplog-object.ts';

export const DEFAULT_FLUSH_INTERVAL_MS = 60_000;
/** How long one wait for new oplog lasts; a chunk is sealed at most this late after its interval. */
export const DEFAULT_TAIL_IDLE_MS = 1_000;

export interface StreamOplogOptions {
  readonly source: Source;
  readonly store: Store;
  readonly limits?: ChunkLimits;
  /** A chunk is sealed this long after its first entry arrived, full or not. */
  readonly flushIntervalMs?: number;
  readonly idleMs?: number;
  /** Stops the stream: the chunk in hand is sealed and committed, then the rest is caught up. */
  readonly signal?: AbortSignal;
  readonly onChunk?: (chunk: Chunk) => void;
  /** Compact in the background at most this often (background-compaction.ts); 0: never. */
  readonly compactEveryMs?: number;
  readonly onCompaction?: (result: CompactResult) => void;
  /** Read back and hash the whole chain when its last verify is older than this (check-chain.ts). */
  readonly verifyEveryMs?: number;
  /** The chain to extend was found damaged; a new base is taken and the stream goes on onto it. */
  readonly onDamaged?: (error: ChainDamaged) => void;
}

export interface StreamOplogResult {
  readonly chainId: string;
  readonly chunks: number;
  readonly ops: number;
  /** The chain's checkpoint when the stream ended. */
  readonly checkpoint: Ts;
  /** Set when the chain found at the start was damaged (the stream went on onto a new base). */
  readonly damaged?: ChainDamaged;
}

/** Tails the source's oplog onto its newest chain until the signal fires; without a chain, a UsageError. */
export async function streamOplog(options: StreamOplogOptions): Promise<StreamOplogResult> {
  const { source, store, signal } = options;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  const committer = await ManifestCommitter.open(store);
  const newest = newestChainOf(committer.manifest, source.identity);
  if (!newest) {
    throw new UsageError(`the store has no base for replica set ${source.identity.setName}`, {
      hint: 'take one first with mongo-pitr backup (or mongo-pitr run)',
    });
  }
  let chain: Chain = newest;
  let damaged: ChainDamaged | undefined;
  try {
    await recordVerified(committer, newest.id, await ensureChainWhole(store, committer, newest, { verifyEveryMs: options.verifyEveryMs, signal }));
    chain = committer.manifest.chains.find((candidate) => candidate.id === newest.id) ?? newest;
  } catch (error) {
    // Stopped while checking the chain: nothing was written, nothing is left to catch up.
    if (signal?.aborted && !(error instanceof ChainDamaged)) return { chainId: newest.id, chunks: 0, ops: 0, checkpoint: chainEnd(newest).lastTs };
    if (!(error instanceof ChainDamaged)) throw error;
    // Never extended again: a new base starts a new chain at once, and the stream goes on.
    damaged = error;
    options.onDamaged?.(error);
    const taken = await takeBase({ source, store, committer, signal });
    if (taken.stoppedEarly) throw error;
    chain = taken.chain;
  }
  const runId = newRunId();
  const kind = (await readMajorityPoint(source.client, source.readPreference))?.kind ?? 'lastWritten';
  const idleMs = Math.min(options.idleMs ?? DEFAULT_TAIL_IDLE_MS, flushIntervalMs);
  const chunks = new TailChunks(tailOplog(source, { from: chainEnd(chain).lastTs, idleMs }, signal), limits);
  let streamed = { chunks: 0, ops: 0 };
  const compactEveryMs = options.compactEveryMs ?? DEFAULT_STREAM_COMPACT_EVERY_MS;
  const compaction = compactEveryMs > 0 ? new BackgroundCompaction(store, committer, compactEveryMs, options.onCompaction) : undefined;
  try {
    for (let first = await chunks.first(); first; first = await chunks.first()) {
      const current = chain;
      const previous = chainEnd(current);
      // No signal here: a chunk once started is always finished and committed.
      const entries = chunks.chunk(first, Date.now() + flushIntervalMs);
      const prepares = carriedFrom(previous);
      const written = await writeOplogObject(store, chunkKey(current.id, first.header.ts, runId), trackingPrepares(entries, prepares), previous.lastTs);
      const chunk: Chunk = {
        ...written.object,
        afterTs: previous.lastTs,
        prevSha256: linkOf(previous),
        sealedAt: new Date().toISOString(),
        lagMs: lagMs(null, written.object.lastWall),
        commitPoint: kind,
        stats: { byNs: written.byNs },
        ...(prepares && { openPrepares: prepares.records() }),
      };
      const seen = hostsSeenOf(source.hosts, chunk.sealedAt);
      const manifest = await committer.commit((latest) => noteHosts(addChunk(latest, current.id, chunk), current.id, seen));
      chain = manifest.chains.find((candidate) => candidate.id === current.id) ?? current;
      streamed = { chunks: streamed.chunks + 1, ops: streamed.ops + chunk.count };
      options.onChunk?.(chunk);
      compaction?.poke();
    }
    await compaction?.stop();
  } finally {
    await chunks.close();
    await compaction?.halt();
  }

  // Stopped: what was written up to now goes in one more pass, bounded by the commit point.
  const rest = await archiveOplog({ source, store, committer, chain, limits, onChunk: options.onChunk });
  return { chainId: chain.id, chunks: streamed.chunks + rest.chunks, ops: streamed.ops + rest.ops, checkpoint: rest.checkpoint, ...(damaged && { damaged }) };
}

/**
 * Cuts the endless tail into chunks: a chunk ends before the entry that would take it past its
 * size or span limit (as Chunker does), or once its time is up, or when the tail ends. Holds
 * at most the one entry that opens the next chunk.
 */
class TailChunks {
  readonly #tail: AsyncGenerator<RawOplogEntry | null>;
  readonly #limits: ChunkLimits;
  #carried: RawOplogEntry | undefined;

  constructor(tail: AsyncGenerator<RawOplogEntry | null>, limits: ChunkLimits) {
    this.#tail = tail;
    this.#limits = limits;
  }

  /** The entry that opens the next chunk, waiting through idle ticks; undefined once the tail ended. */
  async first(): Promise<RawOplogEntry | undefined> {
    const carried = this.#carried;
    this.#carried = undefined;
    if (carried) return carried;
    for (;;) {
      const next = await this.#tail.next();
      if (next.done) return undefined;
      if (next.value) return next.value;
    }
  }

  /** The chunk `first` opens: it, then what arrives before `sealAt` and fits the limits. */
  async *chunk(first: RawOplogEntry, sealAt: number): AsyncGenerator<RawOplogEntry> {
    yield first;
    let bytes = first.header.size;
    while (Date.now() < sealAt) {
      const next = await this.#tail.next();
      if (next.done) return;
      const entry = next.value;
      if (!entry) continue;
      const full = bytes + entry.header.size > this.#limits.chunkBytes;
      const long = entry.header.ts.t - first.header.ts.t >= this.#limits.chunkSpanSeconds;
      if (full || long) {
        this.#carried = entry;
        return;
      }
      bytes += entry.header.size;
      yield entry;
    }
  }

  async close(): Promise<void> {
    await this.#tail.return(undefined);
  }
}
