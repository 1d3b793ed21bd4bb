// The use cases a scheduler or the CLI calls: a base now, the new oplog now, or whatever is
// due. Each opens the manifest once, works, and commits as it goes; a stop signal (a Lambda
// deadline, SIGTERM) ends the work between commits, so the chain is always consistent.
import { Interrupted, OplogGap, UsageError } from '../errors.ts';
import { DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_SPAN_SECONDS, type ChunkLimits } from '../archive/chunker.ts';
import { baseCollectionCount, baseDocuments, chainEnd, collectionObjectsOf, newestChainOf, partialProgress, pendingBaseOf, type Chain, type Chunk, type CollectionEntry, type PartialCollection, type PendingBase } from '../archive/manifest.ts';
import type { Source } from '../source/connect-source.ts';
import type { Store } from '../store/store.ts';
import { formatTs, tsEquals } from '../timestamp.ts';
import { pointWords, tsWords } from '../archive/window-words.ts';
import { timePoint, type TimePoint } from '../archive/source-summary.ts';
import { ChainDamaged } from '../archive/chain-health.ts';
import { archiveOplog, type ArchiveOplogResult } from './archive-oplog.ts';
import { ensureChainWhole, recordVerified } from './check-chain.ts';
import { closeHoleBeforeNewestBase } from './close-hole.ts';
import { compact, type CompactResult } from './compact.ts';
import { cutOffBy } from '../source/time-limit.ts';
import { ManifestCommitter } from './commit.ts';
import { takeBase, type DumpPlan } from './take-base.ts';
import { counted } from '../words.ts';

export interface BackupRunOptions {
  readonly source: Source;
  readonly store: Store;
  readonly limits?: ChunkLimits;
  readonly concurrency?: number;
  /** Raw bytes per piece of a collection dumped in pieces (dump-pieces.ts); default DEFAULT_PIECE_BYTES. */
  readonly pieceBytes?: number;
  readonly includeAuth?: boolean;
  /** A config server member of a cluster: its sharding metadata is dumped too (namespace.ts). */
  readonly includeConfigMetadata?: boolean;
  readonly signal?: AbortSignal;
  /** Progress: a base's collection is stored. */
  readonly onCollection?: (entry: CollectionEntry) => void;
  /** A sealed piece of a collection dumped in pieces that is not its last is committed (take-base.ts). */
  readonly onPiece?: (part: PartialCollection) => void;
  /** Progress: a chunk's upload begins, then it is committed. */
  readonly onChunkStart?: (key: string) => void;
  readonly onChunk?: (chunk: Chunk) => void;
  /**
   * What a long wait is for ("finding the commit point", "listing collections"), for a terminal
   * to show; `total` where the stage counts something (the collections to dump).
   */
  readonly onStage?: (stage: string, message: string, total?: number) => void;
  /** A base's document estimate, then each document dumped (take-base.ts), for a progress bar. */
  readonly onDumpPlan?: (plan: DumpPlan) => void;
  readonly onDocument?: () => void;
  /** Read back and hash the whole chain when its last verify is older than this (check-chain.ts). */
  readonly verifyEveryMs?: number;
}

export const DEFAULT_LIMITS: ChunkLimits = { chunkBytes: DEFAULT_CHUNK_BYTES, chunkSpanSeconds: DEFAULT_CHUNK_SPAN_SECONDS };

export interface BaseSummary {
  readonly chainId: string;
  readonly collections: number;
  readonly documents: number;
  readonly storedBytes: number;
  readonly startTs: string;
  readonly endTs: string;
  /** T0 and T1 as {t, i, iso, wall} (T1's wall where the base's oplog recorded it). */
  readonly start: TimePoint;
  readonly end: TimePoint;
  readonly oplogOps: number;
}

/**
 * Takes a base now (or finishes the one in progress). Stopped by the signal, it throws the
 * signal's reason as before; what was stored stays committed as a pending base that the next
 * backup or run resumes.
 */
export async function backupBase(options: BackupRunOptions): Promise<BaseSummary> {
  const committer = await ManifestCommitter.open(options.store);
  const taken = await takeBase({ ...options, committer });
  if (taken.stoppedEarly) {
    const reason: unknown = options.signal?.reason;
    const partial = taken.pending && partialProgress(taken.pending);
    const pieces = partial ? ` and ${counted(partial.pieces, 'piece')} of ${counted(partial.collections, 'collection')} part way` : '';
    const stored = taken.pending ? `${counted(baseCollectionCount(taken.pending), 'collection')} stored${pieces}` : 'nothing stored yet';
    const message = `base backup stopped with ${stored}; the next backup or run resumes it`;
    throw reason instanceof Interrupted ? new Interrupted(reason.signal, `${message} (${reason.signal})`) : new Error(message, { cause: reason });
  }
  await closeHoleBeforeNewestBase({ ...options, committer, limits: options.limits ?? DEFAULT_LIMITS });
  return summarizeBase(taken.chain);
}

export function summarizeBase(chain: Chain): BaseSummary {
  const base = chain.base;
  return {
    chainId: chain.id,
    collections: baseCollectionCount(base),
    documents: baseDocuments(base),
    storedBytes: collectionObjectsOf(base).reduce((sum, object) => sum + object.storedBytes, 0) + base.oplog.storedBytes,
    startTs: formatTs(base.startTs),
    endTs: formatTs(base.endTs),
    start: timePoint(base.startTs),
    end: timePoint(base.endTs, tsEquals(base.endTs, base.oplog.lastTs) ? base.oplog.lastWall : null),
    oplogOps: base.oplog.count,
  };
}

/** A base still in progress: how far it got. */
export interface PendingBaseSummary {
  readonly baseId: string;
  readonly startTs: string;
  readonly startedAt: string;
  readonly collections: number;
  readonly documents: number;
  /**
   * Collections part way through, dumped in pieces (dump-pieces.ts): the progress a base too
   * large for one run makes from run to run. Absent when there are none.
   */
  readonly partial?: { readonly collections: number; readonly pieces: number; readonly documents: number };
}

export function summarizePending(pending: PendingBase): PendingBaseSummary {
  const partial = partialProgress(pending);
  return {
    baseId: pending.id,
    startTs: formatTs(pending.startTs),
    startedAt: pending.startedAt,
    collections: baseCollectionCount(pending),
    documents: baseDocuments(pending),
    ...(partial && { partial }),
  };
}

/** Archives new oplog onto this source's newest chain; without one, a UsageError. */
export async function backupOplog(options: BackupRunOptions): Promise<ArchiveOplogResult> {
  const committer = await ManifestCommitter.open(options.store);
  const chain = newestChainOf(committer.manifest, options.source.identity);
  if (!chain) {
    throw new UsageError(`the store has no base for replica set ${options.source.identity.setName}`, {
      hint: 'take one first with mongo-pitr backup (or use mongo-pitr run)',
    });
  }
  const limits = options.limits ?? DEFAULT_LIMITS;
  await closeHoleBeforeNewestBase({ ...options, committer, limits });
  let check;
  try {
    check = await ensureChainWhole(options.store, committer, chain, { verifyEveryMs: options.verifyEveryMs, signal: options.signal });
  } catch (error) {
    // Stopped (a deadline) while checking: nothing was written, the next pass checks again.
    if (options.signal?.aborted && !(error instanceof ChainDamaged)) return { chainId: chain.id, chunks: 0, ops: 0, checkpoint: chainEnd(chain).lastTs, stoppedEarly: true };
    throw error;
  }
  const result = await archiveOplog({ ...options, committer, chain, limits });
  await recordVerified(committer, chain.id, check);
  return result;
}

export interface RunDueOptions extends BackupRunOptions {
  /** Take a new base when the newest one is older than this; undefined: never for age. */
  readonly baseEveryMs?: number;
  readonly now?: Date;
  /** Compact at the end of the pass (default true). */
  readonly compact?: boolean;
}

export interface RunDueResult {
  readonly base?: BaseSummary;
  /**
   * Why a base was due (taken, worked on, or left for the next run when stopped early): none
   * yet, the oplog rolled over past the checkpoint, age, or one in progress from an earlier run.
   */
  readonly baseReason?: 'no-base' | 'oplog-gap' | 'base-age' | 'resume' | 'damaged';
  /** The base still in progress when the run stopped early. */
  readonly pendingBase?: PendingBaseSummary;
  /** A pending base dropped because its T0 rolled out of the oplog (a new one was started). */
  readonly abandonedBase?: string;
  readonly oplog?: ArchiveOplogResult;
  /** The chain before the newest base, archived on up to that base's T1 (close-hole.ts). */
  readonly bridge?: ArchiveOplogResult;
  readonly gap?: { checkpoint: string; oldestAvailable: string | null };
  /** What compaction did at the end of the pass (backup/compact.ts), when it did anything. */
  readonly compaction?: CompactResult;
  readonly stoppedEarly: boolean;
}

/**
 * What a scheduled pass does: the new oplog onto the newest chain, then a base when one is due
 * or in progress. The oplog goes first so the old chain stays current (and has no hole before
 * the new base) while a base takes several runs.
 */
export async function runDue(options: RunDueOptions): Promise<RunDueResult> {
  const committer = await ManifestCommitter.open(options.store);
  try {
    return await runDuePass(options, committer);
  } catch (error) {
    // Once the stop signal has fired, a failure is the stop showing through a call it cut short
    // (a server call past its time limit, time-limit.ts; a store call aborted): every commit
    // before it stands, and the next run continues from the manifest.
    if (!options.signal?.aborted && !cutOffBy(error, options.source.deadline)) throw error;
    return stoppedAt(committer, options, {});
  }
}

async function runDuePass(options: RunDueOptions, committer: ManifestCommitter): Promise<RunDueResult> {
  const identity = options.source.identity;
  const limits = options.limits ?? DEFAULT_LIMITS;
  // A run killed between a new base and closing the hole before it closes it now.
  const bridge = await closeHoleBeforeNewestBase({ ...options, committer, limits });
  const chain = newestChainOf(committer.manifest, identity);
  const pending = pendingBaseOf(committer.manifest, identity);
  let oplog: ArchiveOplogResult | undefined;
  let gap: RunDueResult['gap'];
  let damaged: ChainDamaged | undefined;
  if (chain) {
    try {
      const check = await ensureChainWhole(options.store, committer, chain, { verifyEveryMs: options.verifyEveryMs, now: options.now, signal: options.signal });
      oplog = await archiveOplog({ ...options, committer, chain, limits });
      await recordVerified(committer, chain.id, check);
    } catch (error) {
      if (error instanceof ChainDamaged) damaged = error;
      // Only a new base can continue; the old chain stays restorable up to its end.
      else if (error instanceof OplogGap) gap = { checkpoint: error.checkpoint, oldestAvailable: error.oldestAvailable };
      // Stopped while checking the chain: nothing was written, the checkpoint is where it was.
      else if (options.signal?.aborted || cutOffBy(error, options.source.deadline)) oplog = { chainId: chain.id, chunks: 0, ops: 0, checkpoint: chainEnd(chain).lastTs, stoppedEarly: true };
      else throw error;
    }
  }
  const reason = damaged && !pending ? 'damaged' : baseReason(chain, pending !== undefined, gap !== undefined, options);
  // A damaged chain is never extended: a new base starts a new chain in this same pass, and the
  // pass still ends with the integrity error naming the damaged object (exit 6).
  if (damaged && chain) {
    const result = await runDueBase(options, committer, () => ({ ...(reason && { baseReason: reason }) }), pending);
    const note = result.base ? `; new base ${result.base.chainId} started a new chain` : result.pendingBase ? `; new base ${result.pendingBase.baseId} in progress` : '';
    throw new ChainDamaged(chain, damaged.damage, note);
  }
  const progress = () => ({ ...(oplog && { oplog }), ...(bridge && { bridge }), ...(gap && { gap }), ...(reason && { baseReason: reason }) });
  if (oplog?.stoppedEarly || options.signal?.aborted) {
    return { ...progress(), ...(pending && { pendingBase: summarizePending(pending) }), stoppedEarly: true };
  }
  if (!reason) return { ...progress(), ...(await compactAfter(options, committer)), stoppedEarly: false };
  return runDueBase(options, committer, progress, pending);
}

/**
 * The base part of a pass: takes (or resumes) a base, then archives the chain before it on up to
 * its T1 (close-hole.ts). `progress` is what the pass did before, reported with the outcome.
 */
async function runDueBase(
  options: RunDueOptions,
  committer: ManifestCommitter,
  progress: () => Partial<RunDueResult>,
  pending: PendingBase | undefined,
): Promise<RunDueResult> {
  if (options.signal?.aborted) return { ...progress(), ...(pending && { pendingBase: summarizePending(pending) }), stoppedEarly: true };
  let taken;
  try {
    taken = await takeBase({ ...options, committer });
  } catch (error) {
    if (!options.signal?.aborted && !cutOffBy(error, options.source.deadline)) throw error;
    return stoppedAt(committer, options, progress());
  }
  const abandoned = taken.abandoned ? { abandonedBase: taken.abandoned } : {};
  if (taken.stoppedEarly) {
    return { ...progress(), ...abandoned, ...(taken.pending && { pendingBase: summarizePending(taken.pending) }), stoppedEarly: true };
  }
  const bridge = await closeHoleBeforeNewestBase({ ...options, committer, limits: options.limits ?? DEFAULT_LIMITS });
  return { ...progress(), ...(bridge && { bridge }), ...abandoned, base: summarizeBase(taken.chain), ...(await compactAfter(options, committer)), stoppedEarly: false };
}

/** A pass ends by compacting what is due, with the same committer; the signal stops it between merges. */
async function compactAfter(options: RunDueOptions, committer: ManifestCommitter): Promise<{ compaction?: CompactResult }> {
  if (options.compact === false || options.signal?.aborted) return {};
  const compaction = await compact({ store: options.store, committer, signal: options.signal });
  return compaction.merged > 0 || compaction.deleted > 0 ? { compaction } : {};
}

/**
 * The result of a pass cut short by an error past its stop (a call cut off at the deadline):
 * what it did before, the base in progress, and the newest chain's checkpoint as committed.
 */
function stoppedAt(committer: ManifestCommitter, options: RunDueOptions, done: Partial<RunDueResult>): RunDueResult {
  const identity = options.source.identity;
  const pending = pendingBaseOf(committer.manifest, identity);
  const chain = newestChainOf(committer.manifest, identity);
  const oplog = done.oplog ?? (chain && { chainId: chain.id, chunks: 0, ops: 0, checkpoint: chainEnd(chain).lastTs, stoppedEarly: true });
  return { ...done, ...(oplog && { oplog }), ...(pending && { pendingBase: summarizePending(pending) }), stoppedEarly: true };
}

function baseReason(chain: Chain | undefined, pending: boolean, gap: boolean, options: RunDueOptions): RunDueResult['baseReason'] {
  if (pending) return 'resume';
  if (!chain) return 'no-base';
  if (gap) return 'oplog-gap';
  const now = options.now ?? new Date();
  const aged = options.baseEveryMs !== undefined && now.getTime() - Date.parse(chain.base.finishedAt) >= options.baseEveryMs;
  return aged ? 'base-age' : undefined;
}

/** Why a run took a base, in words (the JSON keeps the codes). */
const BASE_REASONS: Record<NonNullable<RunDueResult['baseReason']>, string> = {
  'no-base': 'the first base of this source',
  'oplog-gap': 'a new base: the oplog rolled past the checkpoint',
  'base-age': 'a new base: the newest was older than --base-every',
  resume: 'the base in progress, resumed',
  damaged: 'a new base: the chain is damaged',
};

const plural = (count: number, singular: string, many = `${singular}s`): string => `${count} ${count === 1 ? singular : many}`;

/** A run's result as readable lines, for the CLI and the Lambda's log. */
export function describeRunDue(result: RunDueResult): string[] {
  const lines: string[] = [];
  const entries = (count: number) => plural(count, 'oplog entry', 'oplog entries');
  if (result.gap) lines.push(`oplog gap: the checkpoint ${positionWords(result.gap.checkpoint)} is gone from the source's oplog (its oldest entry: ${result.gap.oldestAvailable ? positionWords(result.gap.oldestAvailable) : 'none'})`);
  if (result.oplog) lines.push(`${entries(result.oplog.ops)} archived in ${plural(result.oplog.chunks, 'chunk')}; checkpoint ${checkpointWords(result.oplog)}`);
  if (result.compaction) lines.push(`compacted ${plural(result.compaction.replaced, 'chunk')} into ${plural(result.compaction.merged, 'object')}; deleted ${plural(result.compaction.deleted, 'replaced object')}`);
  if (result.bridge) lines.push(`chain ${result.bridge.chainId} archived on to the new base's T1: ${entries(result.bridge.ops)} in ${plural(result.bridge.chunks, 'chunk')}`);
  if (result.abandonedBase) lines.push(`base ${result.abandonedBase} abandoned: its start rolled out of the oplog`);
  if (result.base) {
    const reason = result.baseReason ? `${BASE_REASONS[result.baseReason]}: ` : '';
    lines.push(`base ${result.base.chainId} (${reason}${plural(result.base.documents, 'document')}, ${entries(result.base.oplogOps)})`);
  }
  if (result.pendingBase) {
    const partial = result.pendingBase.partial;
    const pieces = partial ? ` and ${plural(partial.pieces, 'piece')} (${plural(partial.documents, 'document')}) of ${plural(partial.collections, 'collection')} part way` : '';
    lines.push(`base ${result.pendingBase.baseId} in progress: ${plural(result.pendingBase.collections, 'collection')} stored${pieces}; the next run resumes it`);
  }
  if (result.stoppedEarly) lines.push('stopped early: everything above is committed');
  return lines;
}

/** The checkpoint as a time: its op's wall clock where recorded, else its second. */
export function checkpointWords(oplog: Pick<ArchiveOplogResult, 'checkpoint' | 'checkpointWall'>): string {
  return pointWords(timePoint(oplog.checkpoint, oplog.checkpointWall ?? null));
}

/** A "secs:ordinal" string (an OplogGap's) as a time; anything else as it is. */
function positionWords(text: string): string {
  const match = /^(\d+):(\d+)$/.exec(text);
  return match ? tsWords({ t: Number(match[1]), i: Number(match[2]) }) : text;
}

/** A run's result as plain JSON (timestamps as "secs:ordinal"), for the CLI and the Lambda. */
export function runDueReport(result: RunDueResult): Record<string, unknown> {
  const checkpoint = result.base?.endTs ?? (result.oplog ? formatTs(result.oplog.checkpoint) : null);
  return {
    ...result,
    oplog: result.oplog && { ...result.oplog, checkpoint: formatTs(result.oplog.checkpoint) },
    bridge: result.bridge && { ...result.bridge, checkpoint: formatTs(result.bridge.checkpoint) },
    checkpoint,
  };
}
