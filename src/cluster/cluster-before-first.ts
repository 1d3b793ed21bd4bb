// `restore --before-first <filter>` on a cluster store: the first archived op the filter matches
// on ANY member (the config servers and every shard), whose ts then is the one cutoff of every
// member (cluster-restore.ts).
//
// Why "first" is the smallest ts across members: each member's oplog ts is a cluster time, a
// hybrid logical clock every node advances past any time it receives, gossiped on every message
// between nodes, drivers and routers (mongodb/mongo src/mongo/db/vector_clock/vector_clock.h:
// gossipOut/gossipIn on every message, _advanceTime only moves the clock forward; formerly
// src/mongo/db/logical_clock.cpp). So an op that could have seen the effects of
// another carries a later ts than it, and a cluster-wide read "at cluster time C" sees exactly
// the entries before C on every shard. The smallest matching ts M is therefore the latest cutoff
// at which no match is visible anywhere, and the state there is one the cluster itself could
// read: every shard's entries before M applied, none at or after.
//
// "First" and "cutoff" are by where the matched write became VISIBLE (restore/first-visible-op.ts):
// a match inside a prepared (cross-shard) transaction became visible at its commitTimestamp T,
// the same on every participant, although its prepare entry on this shard is at P <= T. The
// cutoff is T: every write before T on every shard is applied (those in [P, T) too, on every
// shard: they were visible before the match), and the transaction on none (it applies iff
// T < cutoff, restore/prepared-cutoff.ts). An aborted transaction's ops never became visible and
// match nothing. A matched commitTransaction entry cuts at its commitTimestamp, not its own ts.
//
// A first match outside every cluster window is not skipped for a later one (that would restore
// past an earlier match, silently): the restore refuses the cutoff, as the replica-set mode does
// a match before its first base (cluster-restore.ts chooseWindow).
import type { ClusterMember } from '../archive/cluster-manifest.ts';
import { noFirstOpError, type FoundOp, type OpFilter } from '../restore/find-ops.ts';
import { findFirstVisibleOp, VISIBLE_AT, visibleCutoff, visibleReason, type VisibleMatch } from '../restore/first-visible-op.ts';
import type { Store } from '../store/store.ts';
import { compareTs, formatTs, type Cutoff } from '../timestamp.ts';
import { readClusterManifest } from './cluster-committer.ts';
import { memberStore } from './member-store.ts';

export interface ClusterFirstMatch extends VisibleMatch {
  /** The member whose oplog holds the match. */
  readonly member: Pick<ClusterMember, 'name' | 'role' | 'setName'>;
}

/**
 * The earliest of each member's first match, by where it became visible (its cutoff); on equal
 * cutoffs (two shards' clocks can give the same value to unrelated ops, and the halves of one
 * distributed transaction share T) the member listed first. The cutoff is the same either way.
 */
export function earliestMatch<T extends { readonly cutoff: VisibleMatch['cutoff'] }>(matches: readonly (T | undefined)[]): T | undefined {
  let first: T | undefined;
  for (const match of matches) if (match && (!first || compareTs(match.cutoff, first.cutoff) < 0)) first = match;
  return first;
}

/**
 * Searches every member of the cluster store, in cluster.json's order, for its first match
 * visible before the best found so far; none anywhere is the replica-set mode's UsageError (exit 2).
 */
export async function requireFirstClusterOp(store: Store, filter: OpFilter, signal?: AbortSignal): Promise<ClusterFirstMatch> {
  const { manifest } = await readClusterManifest(store);
  let first: ClusterFirstMatch | undefined;
  for (const member of manifest.members) {
    const match = await findFirstVisibleOp(memberStore(store, member.prefix), filter, { signal, bound: first?.cutoff });
    first = earliestMatch([first, match && { ...match, member }]);
  }
  if (!first) throw noFirstOpError(filter);
  return first;
}

/** The cutoff for every member: where the match became visible. */
export function clusterCutoffAt(match: ClusterFirstMatch): Cutoff {
  const cutoff = visibleCutoff(match);
  return { ...cutoff, input: `${cutoff.input} on ${match.member.name}` };
}

/** The receipt's words: where the match was, and the --until that repeats this restore. */
export function firstMatchLines(match: ClusterFirstMatch, describe: (op: FoundOp) => string): string[] {
  return [
    `first match of --before-first across the cluster, on ${match.member.role === 'config' ? 'the config servers' : `shard ${match.member.name}`} (${match.member.setName}): ${describe(match.op)}`,
    match.visibleAt === VISIBLE_AT.op
      ? `cutoff ${formatTs(match.cutoff)} for every member: the match and everything at or after it not applied on any member; repeat this restore with --until ${formatTs(match.cutoff)}`
      : `cutoff ${formatTs(match.cutoff)} for every member, where the first match became visible (${visibleReason(match)}): the transaction and everything at or after the cutoff not applied on any member, every write before it applied on every member; repeat this restore with --until ${formatTs(match.cutoff)}`,
  ];
}
