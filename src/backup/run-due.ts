// The use cases a scheduler or the CLI calls: a base now, the new oplog now, or whatever is
// due. Each opens the manifest once, works, and commits as it goes; a stop signal (a Lambda
// deadline, SIGTERM) ends the work between commits, so the chain is always consistent.
import { OplogGap, UsageError } from '../errors.ts';
import { DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_SPAN_SECONDS, type ChunkLimits } from '../archive/chunker.ts';
import { newestChainOf, type Chain } from '../archive/manifest.ts';
import type { Source } from '../source/connect-source.ts';
import type { Store } from '../store/store.ts';
import { formatTs } from '../timestamp.ts';
import { archiveOplog, type ArchiveOplogResult } from './archive-oplog.ts';
import { ManifestCommitter } from './commit.ts';
import { takeBase } from './take-base.ts';

export interface BackupRunOptions {
  readonly source: Source;
  readonly store: Store;
  readonly limits?: ChunkLimits;
  readonly concurrency?: number;
  readonly includeAuth?: boolean;
  readonly signal?: AbortSignal;
}

export const DEFAULT_LIMITS: ChunkLimits = { chunkBytes: DEFAULT_CHUNK_BYTES, chunkSpanSeconds: DEFAULT_CHUNK_SPAN_SECONDS };

export interface BaseSummary {
  readonly chainId: string;
  readonly collections: number;
  readonly documents: number;
  readonly storedBytes: number;
  readonly startTs: string;
  readonly endTs: string;
  readonly oplogOps: number;
}

export async function backupBase(options: BackupRunOptions): Promise<BaseSummary> {
  const committer = await ManifestCommitter.open(options.store);
  const { chain } = await takeBase({ ...options, committer });
  return summarizeBase(chain);
}

export function summarizeBase(chain: Chain): BaseSummary {
  const base = chain.base;
  return {
    chainId: chain.id,
    collections: base.collections.length,
    documents: base.collections.reduce((sum, entry) => sum + entry.docs, 0),
    storedBytes: base.collections.reduce((sum, entry) => sum + (entry.data?.storedBytes ?? 0) + entry.metadata.storedBytes, 0) + base.oplog.storedBytes,
    startTs: formatTs(base.startTs),
    endTs: formatTs(base.endTs),
    oplogOps: base.oplog.count,
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
  return archiveOplog({ ...options, committer, chain, limits: options.limits ?? DEFAULT_LIMITS });
}

export interface RunDueOptions extends BackupRunOptions {
  /** Take a new base when the newest one is older than this; undefined: never for age. */
  readonly baseEveryMs?: number;
  readonly now?: Date;
}

export interface RunDueResult {
  readonly base?: BaseSummary;
  /** Why a base was taken: none yet, the oplog rolled over past the checkpoint, or age. */
  readonly baseReason?: 'no-base' | 'oplog-gap' | 'base-age';
  readonly oplog?: ArchiveOplogResult;
  readonly gap?: { checkpoint: string; oldestAvailable: string | null };
  readonly stoppedEarly: boolean;
}

/** What a scheduled pass does: a base when one is due, otherwise the new oplog. */
export async function runDue(options: RunDueOptions): Promise<RunDueResult> {
  const committer = await ManifestCommitter.open(options.store);
  const chain = newestChainOf(committer.manifest, options.source.identity);
  const now = options.now ?? new Date();
  const aged = chain && options.baseEveryMs !== undefined && now.getTime() - Date.parse(chain.base.finishedAt) >= options.baseEveryMs;
  if (!chain || aged) {
    const { chain: fresh } = await takeBase({ ...options, committer });
    return { base: summarizeBase(fresh), baseReason: chain ? 'base-age' : 'no-base', stoppedEarly: false };
  }
  try {
    const oplog = await archiveOplog({ ...options, committer, chain, limits: options.limits ?? DEFAULT_LIMITS });
    return { oplog, stoppedEarly: oplog.stoppedEarly };
  } catch (error) {
    if (!(error instanceof OplogGap)) throw error;
    // Only a new base can continue; the old chain stays restorable up to its end.
    const gap = { checkpoint: error.checkpoint, oldestAvailable: error.oldestAvailable };
    if (options.signal?.aborted) return { gap, stoppedEarly: true };
    const { chain: fresh } = await takeBase({ ...options, committer });
    return { base: summarizeBase(fresh), baseReason: 'oplog-gap', gap, stoppedEarly: false };
  }
}
