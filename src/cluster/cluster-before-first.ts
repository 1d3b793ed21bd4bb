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
// A match inside a prepared (cross-shard) transaction: find-ops.ts places it at its prepare
// entry's ts P, as the replica-set --before-first does. The transaction becomes visible at its
// commitTimestamp T, the same on every participant, and P <= T on each of them (the coordinator
// picks T no smaller than any participant's prepare timestamp: restore/prepared-cutoff.ts, which
// decides a prepared transaction at a cutoff by T < cutoff). With the cutoff at P, T < P never
// holds: the matching transaction is applied on no shard, and everything before P on every shard.
//
// A first match outside every cluster window is not skipped for a later one (that would restore
// past an earlier match, silently): the restore refuses the cutoff, as the replica-set mode does
// a match before its first base (cluster-restore.ts chooseWindow).
import type { ClusterMember } from '../archive/cluster-manifest.ts';
import type { OplogHeader } from '../archive/oplog-header.ts';
import type { Chunk, OplogObject } from '../archive/manifest.ts';
import { cutoffAt, findFirstOp, noFirstOpError, type Candidate, type FoundOp, type OpFilter } from '../restore/find-ops.ts';
import type { Store } from '../store/store.ts';
import { compareTs, formatTs, type Cutoff, type Ts } from '../timestamp.ts';
import { readClusterManifest } from './cluster-committer.ts';
import { memberStore } from './member-store.ts';

export interface ClusterFirstMatch {
  /** The member whose oplog holds the match. */
  readonly member: Pick<ClusterMember, 'name' | 'role' | 'setName'>;
  readonly op: FoundOp;
}

/**
 * The earliest of each member's first match, by ts; on equal ts (two shards' clocks can give the
 * same value to unrelated ops) the member listed first. The cutoff is the same either way.
 */
export function earliestMatch<T extends { readonly op: Pick<FoundOp, 'ts'> }>(matches: readonly (T | undefined)[]): T | undefined {
  let first: T | undefined;
  for (const match of matches) if (match && (!first || compareTs(match.op.ts, first.op.ts) < 0)) first = match;
  return first;
}

/**
 * The filter narrowed to ops strictly before `bound`: once one member has a match at M, later
 * members are read only up to M (their objects from M on are skipped by their bounds).
 */
export function beforeBound(filter: OpFilter, bound: Ts | undefined): OpFilter {
  if (!bound) return filter;
  return {
    text: filter.text,
    selective: filter.selective,
    from: filter.from,
    until: filter.until,
    mayMatchHeader: (header: OplogHeader) => compareTs(header.ts, bound) < 0 && filter.mayMatchHeader(header),
    mayMatchObject: (object: OplogObject | Chunk) => compareTs(object.firstTs, bound) < 0 && filter.mayMatchObject(object),
    matches: (candidate: Candidate) => compareTs(candidate.ts, bound) < 0 && filter.matches(candidate),
  };
}

/**
 * Searches every member of the cluster store, in cluster.json's order, for its first match before
 * the best found so far; none anywhere is the replica-set mode's UsageError (exit 2).
 */
export async function requireFirstClusterOp(store: Store, filter: OpFilter, signal?: AbortSignal): Promise<ClusterFirstMatch> {
  const { manifest } = await readClusterManifest(store);
  let first: ClusterFirstMatch | undefined;
  for (const member of manifest.members) {
    const op = await findFirstOp(memberStore(store, member.prefix), beforeBound(filter, first?.op.ts), signal);
    first = earliestMatch([first, op && { member, op }]);
  }
  if (!first) throw noFirstOpError(filter);
  return first;
}

/** The cutoff for every member: the match's ts (the op and everything after it not applied). */
export function clusterCutoffAt(match: ClusterFirstMatch): Cutoff {
  const cutoff = cutoffAt(match.op);
  return { ...cutoff, input: `${cutoff.input} on ${match.member.name}` };
}

/** The receipt's words: where the match was, and the --until that repeats this restore. */
export function firstMatchLines(match: ClusterFirstMatch, describe: (op: FoundOp) => string): string[] {
  return [
    `first match of --before-first across the cluster, on ${match.member.role === 'config' ? 'the config servers' : `shard ${match.member.name}`} (${match.member.setName}): ${describe(match.op)}`,
    `cutoff ${formatTs(match.op.ts)} for every member: the match and everything at or after it not applied on any member; repeat this restore with --until ${formatTs(match.op.ts)}`,
  ];
}
