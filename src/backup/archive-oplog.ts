// Archives new oplog once: from the chain's checkpoint up to the source's commit point, in
// gzip'ed chunks, committing the manifest after each chunk so a killed run loses at most the
// chunk it was writing and the next run resumes from the last committed one.
import { pointWords } from '../archive/window-words.ts';
import { timePoint } from '../archive/source-summary.ts';
import { Chunker, type ChunkLimits } from '../archive/chunker.ts';
import { addChunk, chainEnd, linkOf, type Chain, type Chunk } from '../archive/manifest.ts';
import { chunkKey, newRunId } from '../archive/object-keys.ts';
import { carriedFrom, trackingPrepares } from '../archive/open-prepares.ts';
import { hostsSeenOf, noteHosts } from '../archive/source-hosts.ts';
import { readMajorityPoint, type CommitPoint } from '../source/commit-point.ts';
import type { Source } from '../source/connect-source.ts';
import { readOplog } from '../source/oplog-reader.ts';
import { cutOffBy } from '../source/time-limit.ts';
import type { Store } from '../store/store.ts';
import { compareTs, formatTs, type Ts } from '../timestamp.ts';
import type { ManifestCommitter } from './commit.ts';
import { writeOplogObject } from './write-oplog-object.ts';

export interface ArchiveOplogResult {
  readonly chainId: string;
  readonly chunks: number;
  readonly ops: number;
  /** The chain's checkpoint after this run. */
  readonly checkpoint: Ts;
  /** The checkpoint op's wall clock, where recorded: receipts give the checkpoint as a time. */
  readonly checkpointWall?: string | null;
  readonly stoppedEarly: boolean;
}

export interface ArchiveOplogOptions {
  readonly source: Source;
  readonly store: Store;
  readonly committer: ManifestCommitter;
  readonly chain: Chain;
  readonly limits: ChunkLimits;
  readonly signal?: AbortSignal;
  /**
   * Archive no further than this op: a new base's T1, when the chain before it is brought up to
   * it (run-due.ts), so that no cutoff between the two chains is left unrestorable.
   */
  readonly until?: { readonly ts: Ts; readonly wall: string | null };
  /** A chunk's upload begins (its key); then `onChunk` once it is committed. */
  readonly onChunkStart?: (key: string) => void;
  readonly onChunk?: (chunk: Chunk) => void;
  /**
   * What a long wait is for ("finding the commit point", "listing collections"), for a terminal
   * to show; `total` where the stage counts something (the collections to dump).
   */
  readonly onStage?: (stage: string, message: string, total?: number) => void;
}

export async function archiveOplog(options: ArchiveOplogOptions): Promise<ArchiveOplogResult> {
  const { source, store, committer, limits, signal } = options;
  let chain = options.chain;
  const runId = newRunId();
  options.onStage?.('commit-point', 'finding the commit point');
  // Null where the server reports no majority point: then the read goes to the newest op.
  const commitPoint = capAt(await readMajorityPoint(source.client, source.readPreference, source.deadline), options.until);
  const start = chainEnd(chain);
  const result: { chainId: string; chunks: number; ops: number; checkpoint: Ts; checkpointWall: string | null; stoppedEarly: boolean } = {
    chainId: chain.id, chunks: 0, ops: 0, checkpoint: start.lastTs, checkpointWall: start.lastWall, stoppedEarly: false,
  };
  if (commitPoint && (!commitPoint.ts || compareTs(commitPoint.ts, start.lastTs) <= 0)) return result;

  options.onStage?.('read', `reading the oplog after the checkpoint ${pointWords(timePoint(start.lastTs, start.lastWall))}`);
  const chunker = new Chunker(
    readOplog(source, { from: start.lastTs, includeFrom: false, upTo: commitPoint }, signal),
    limits,
  );
  try {
    for (let first = await chunker.peek(); first; first = await chunker.peek()) {
      if (signal?.aborted) return { ...result, stoppedEarly: true };
      const previous = chainEnd(chain);
      const key = chunkKey(chain.id, first.header.ts, runId);
      options.onChunkStart?.(key);
      // Undefined where the chain's records predate the open set: it stays unknown to the chain's end.
      const prepares = carriedFrom(previous);
      const written = await writeOplogObject(store, key, trackingPrepares(chunker.nextChunk(), prepares), previous.lastTs, signal);
      // The pass's last chunk is sealed at the commit point it read up to; one cut short by the
      // limits, or a read without a commit point (it ends at whatever it found), at its last op.
      const last = (await chunker.peek()) === undefined && commitPoint?.ts ? commitPoint : undefined;
      const chunk: Chunk = {
        ...written.object,
        afterTs: previous.lastTs,
        prevSha256: linkOf(previous),
        sealedAt: new Date().toISOString(),
        lagMs: lagMs(commitPoint, written.object.lastWall),
        commitPoint: commitPoint?.kind ?? 'lastWritten',
        commitPointTs: last?.ts ?? written.object.lastTs,
        commitPointWall: last ? (last.wall?.toISOString() ?? null) : written.object.lastWall,
        stats: { byNs: written.byNs },
        ...(prepares && { openPrepares: prepares.records() }),
      };
      const seen = hostsSeenOf(source.hosts, chunk.sealedAt);
      const manifest = await committer.commit((current) => noteHosts(addChunk(current, chain.id, chunk), chain.id, seen));
      chain = manifest.chains.find((candidate) => candidate.id === chain.id) ?? chain;
      result.chunks++;
      result.ops += chunk.count;
      result.checkpoint = chunk.lastTs;
      result.checkpointWall = chunk.lastWall;
      options.onChunk?.(chunk);
    }
  } catch (error) {
    // A call cut off at the run's deadline may fail a moment before the signal fires (time-limit.ts).
    if (signal?.aborted || cutOffBy(error, source.deadline)) return { ...result, stoppedEarly: true };
    throw error;
  } finally {
    await chunker.close();
  }
  return result;
}

/** The commit point, lowered to `until` when that comes first. */
function capAt(point: CommitPoint | null, until: ArchiveOplogOptions['until']): CommitPoint | null {
  if (!until || (point?.ts && compareTs(point.ts, until.ts) <= 0)) return point;
  return { ts: until.ts, kind: point?.kind ?? 'lastWritten', wall: until.wall ? new Date(until.wall) : null };
}

/**
 * How far the chunk's last op is behind the commit point, by the source's wall clock; without a
 * majority point (null) the chunk ends at the newest op, so the lag is the op's age, as it is
 * for a streamed chunk.
 */
export function lagMs(commitPoint: CommitPoint | null, lastWall: string | null): number | null {
  if (!lastWall) return null;
  if (!commitPoint) return Math.max(0, Date.now() - Date.parse(lastWall));
  return commitPoint.wall ? commitPoint.wall.getTime() - Date.parse(lastWall) : null;
}
