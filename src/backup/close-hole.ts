// No hole at a new base. A chain's window ends where it was sealed; the next chain's starts at its
// base's T1. The cutoffs between the two (the whole dump, hours for a big base) would restore from
// neither: the old chain does not reach them, the new base is not consistent before T1. So once a
// base is sealed, the chain before it is archived on up to that T1, bounded there: the two
// windows then meet (the old one ends at T1, the new one starts just after it).
// Run after every base and at the start of every scheduled pass, so a run killed between the two
// commits closes the hole on the next one. If the old chain's checkpoint has rolled out of the
// oplog meanwhile, the hole is the one the oplog gap already made, and stays.
import { sealOf } from '../archive/chain-window.ts';
import { sameSource, type Chain, type SourceIdentity } from '../archive/manifest.ts';
import { OplogGap } from '../errors.ts';
import type { Source } from '../source/connect-source.ts';
import type { Store } from '../store/store.ts';
import { compareTs } from '../timestamp.ts';
import type { ChunkLimits } from '../archive/chunker.ts';
import type { Chunk } from '../archive/manifest.ts';
import { archiveOplog, type ArchiveOplogResult } from './archive-oplog.ts';
import type { ManifestCommitter } from './commit.ts';

export interface CloseHoleOptions {
  readonly source: Source;
  readonly store: Store;
  readonly committer: ManifestCommitter;
  readonly limits: ChunkLimits;
  readonly signal?: AbortSignal;
  readonly onChunkStart?: (key: string) => void;
  readonly onChunk?: (chunk: Chunk) => void;
}

/** The source's chain before its newest one, when it is sealed before the newest base's T1. */
export function chainBeforeHole(chains: readonly Chain[], source: SourceIdentity): Chain | undefined {
  const own = chains.filter((chain) => sameSource(chain.source, source));
  const newest = own.at(-1);
  const previous = own.at(-2);
  if (!newest || !previous) return undefined;
  return compareTs(sealOf(previous).ts, newest.base.oplog.lastTs) < 0 ? previous : undefined;
}

/**
 * Archives the chain before the newest one up to the newest base's T1. Undefined when there is
 * no hole, or when it cannot be closed any more (its checkpoint left the oplog).
 */
export async function closeHoleBeforeNewestBase(options: CloseHoleOptions): Promise<ArchiveOplogResult | undefined> {
  const { committer } = options;
  const previous = chainBeforeHole(committer.manifest.chains, options.source.identity);
  const newest = committer.manifest.chains.filter((chain) => sameSource(chain.source, options.source.identity)).at(-1);
  if (!previous || !newest) return undefined;
  const t1 = { ts: newest.base.oplog.lastTs, wall: newest.base.oplog.lastWall };
  try {
    return await archiveOplog({ ...options, chain: previous, until: t1 });
  } catch (error) {
    if (error instanceof OplogGap) return undefined;
    throw error;
  }
}
