// A scheduled pass over a sharded cluster: every member's new oplog archived onto its own
// replica-set chain (the existing runDue, members in parallel, each under the pass's stop
// signal), then a cluster base when one is due: none yet, a shard not in the newest one, a
// member whose chain restarted on its own (an oplog gap), age (--base-every), or one in progress.
// Each member commits to its own manifest as it goes and cluster.json is written last, so a pass
// stopped or killed at any point leaves every member chain consistent and the next pass resumes.
import { MongoClient } from 'mongodb';
import pLimit from 'p-limit';
import { membersWithoutClusterBase, newestClusterBase, noteMembers, type ClusterBase, type ClusterManifest, type MemberRole } from '../archive/cluster-manifest.ts';
import type { ChunkLimits } from '../archive/chunker.ts';
import { newestChainOf, pendingBaseOf, type SourceIdentity } from '../archive/manifest.ts';
import { readHead } from '../backup/commit.ts';
import { describeRunDue, runDue, type RunDueResult } from '../backup/run-due.ts';
import type { Deadline } from '../source/time-limit.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_MEMBER_CONCURRENCY, memberPrefixOf, takeClusterBase, type MemberBaseOutcome, type MemberProgress } from './cluster-base.ts';
import { ClusterCommitter } from './cluster-committer.ts';
import { connectMembers, seenMembers, type MemberSource } from './member-sources.ts';
import { memberStore } from './member-store.ts';
import type { ClusterTopology } from './topology.ts';

export interface ClusterRunOptions {
  readonly store: Store;
  readonly topology: ClusterTopology;
  /** Take a cluster base when the newest is older than this; undefined: never for age. */
  readonly baseEveryMs?: number;
  /** Take a cluster base in this pass even when none is due (`backup` on a cluster). */
  readonly baseNow?: boolean;
  readonly verifyEveryMs?: number;
  /** A running balancer that cannot be stopped (no mongos) is accepted. */
  readonly allowBalancer?: boolean;
  readonly limits?: ChunkLimits;
  /** Members worked on at once (default 4). */
  readonly concurrency?: number;
  readonly compact?: boolean;
  readonly signal?: AbortSignal;
  readonly deadline?: Deadline;
  readonly now?: Date;
  readonly onMember?: (member: string, event: string, message: string) => void;
  /** Each member's progress hooks (its stages, its dump, its chunks), for a bar per member. */
  readonly memberProgress?: (member: string) => MemberProgress;
  /**
   * Each member once connected, before any of its work, with its store (a view of `store`): its
   * metrics primed from its manifest, as a cluster stream's (cluster-stream.ts). Awaited, so that
   * nothing it counts happens before it.
   */
  readonly onMemberReady?: (member: { readonly name: string; readonly role: MemberRole; readonly identity: SourceIdentity }, store: Store) => Promise<void>;
}

export type ClusterBaseReason = 'no-base' | 'new-member' | 'member-removed' | 'member-restarted' | 'base-age' | 'resume' | 'requested';

export interface MemberPassResult {
  readonly name: string;
  readonly role: 'config' | 'shard';
  readonly setName: string;
  /** The member's own pass (run-due.ts); absent when it has no chain yet (its base comes with the cluster base). */
  readonly oplog?: RunDueResult;
  readonly base?: MemberBaseOutcome;
}

export interface ClusterRunResult {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly baseReason?: ClusterBaseReason;
  readonly clusterBase?: ClusterBase;
  /** The cluster base still in progress when the pass stopped early. */
  readonly pendingClusterBase?: string;
  readonly balancerWasRunning?: boolean;
  readonly members: readonly MemberPassResult[];
  readonly stoppedEarly: boolean;
}

export async function runCluster(options: ClusterRunOptions): Promise<ClusterRunResult> {
  const committer = await ClusterCommitter.open(options.store);
  const now = options.now ?? new Date();
  const sources = await connectMembers(options.topology, options.deadline ? { deadline: options.deadline } : {});
  const mongos = await mongosClientOf(options.topology);
  try {
    const seen = seenMembers(sources.members);
    const noted = noteMembers(committer.manifest, seen, now.toISOString());
    if (noted.added.length > 0 || noted.removed.length > 0) await committer.commit((manifest) => noteMembers(manifest, seen, now.toISOString()).manifest);
    if (options.onMemberReady) {
      const ready = options.onMemberReady;
      await Promise.all(sources.members.map((member) => ready({ name: member.name, role: member.role, identity: member.source.identity }, memberStore(options.store, memberPrefixOf(member)))));
    }
    const passes = await archiveMembers(sources.members, options);
    const restarted = passes.some((pass) => pass.oplog?.base !== undefined || (pass.oplog?.pendingBase !== undefined && pass.oplog.baseReason !== 'resume'))
      || (await membersOffClusterBase(committer.manifest, sources.members, options.store)).length > 0;
    const reason = clusterBaseReason(committer.manifest, restarted, options.baseEveryMs, now) ?? (options.baseNow ? 'requested' : undefined);
    const common = { added: noted.added, removed: noted.removed, ...(reason && { baseReason: reason }) };
    if (options.signal?.aborted || passes.some((pass) => pass.oplog?.stoppedEarly)) {
      return { ...common, ...pendingOf(committer.manifest), members: passes, stoppedEarly: true };
    }
    if (!reason) return { ...common, members: passes, stoppedEarly: false };
    const taken = await takeClusterBase({
      store: options.store,
      committer,
      members: sources.members,
      ...(mongos && { mongos }),
      allowBalancer: options.allowBalancer ?? false,
      limits: options.limits,
      concurrency: options.concurrency,
      signal: options.signal,
      now,
      onMember: options.onMember,
      memberProgress: options.memberProgress,
    });
    const members = passes.map((pass) => ({ ...pass, base: taken.members.find((outcome) => outcome.name === pass.name) }));
    return {
      ...common,
      ...(taken.base && { clusterBase: taken.base }),
      ...(taken.pending && { pendingClusterBase: taken.pending.id }),
      balancerWasRunning: taken.balancerWasRunning,
      members,
      stoppedEarly: taken.stoppedEarly,
    };
  } finally {
    await mongos?.close().catch(() => undefined);
    await sources.close();
  }
}

/**
 * Each member with a chain (or a base in progress) archives its new oplog, in parallel, with the
 * replica-set pass unchanged. Ages are the cluster's business: a member never takes a base for
 * age on its own. A member without any chain waits for the cluster base.
 */
async function archiveMembers(members: readonly MemberSource[], options: ClusterRunOptions): Promise<MemberPassResult[]> {
  const limit = pLimit(options.concurrency ?? DEFAULT_MEMBER_CONCURRENCY);
  const settled = await Promise.allSettled(members.map((member) => limit(async (): Promise<MemberPassResult> => {
    const own = { name: member.name, role: member.role, setName: member.source.identity.setName };
    const store = memberStore(options.store, memberPrefixOf(member));
    const { manifest } = await readHead(store);
    const identity = member.source.identity;
    if (!newestChainOf(manifest, identity) && !pendingBaseOf(manifest, identity)) return own;
    if (options.signal?.aborted) return own;
    options.onMember?.(member.name, 'oplog', `oplog of ${member.name} (${identity.setName})`);
    const oplog = await runDue({
      source: member.source,
      store,
      limits: options.limits,
      verifyEveryMs: options.verifyEveryMs,
      compact: options.compact,
      signal: options.signal,
      includeConfigMetadata: member.role === 'config',
      ...options.memberProgress?.(member.name),
    });
    // The member's receipt as its pass ends (its oplog, a base it resumed or restarted).
    options.onMember?.(member.name, 'pass-done', `${member.name}: ${describeRunDue(oplog).join('; ')}`);
    return { ...own, oplog };
  })));
  // Every member's pass ends (commits or stops) before a failure is reported: none is cut off
  // mid-commit by the connections closing, and the others' progress is kept.
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
}

export function clusterBaseReason(manifest: ClusterManifest, restarted: boolean, baseEveryMs: number | undefined, now: Date): ClusterBaseReason | undefined {
  if (manifest.pendingBase) return 'resume';
  const newest = newestClusterBase(manifest);
  if (!newest) return 'no-base';
  if (membersWithoutClusterBase(manifest).length > 0) return 'new-member';
  // A shard removed (drained by removeShard first) stops its chain: the newest cluster base can
  // restore only up to there, so the remaining members start a new one.
  const removed = new Set(manifest.members.filter((member) => member.removedAt !== undefined).map((member) => member.name));
  if (newest.members.some((member) => removed.has(member.name))) return 'member-removed';
  if (restarted) return 'member-restarted';
  if (baseEveryMs !== undefined && now.getTime() - Date.parse(newest.finishedAt) >= baseEveryMs) return 'base-age';
  return undefined;
}

/**
 * Members whose newest chain is not the one the newest cluster base names: a chain restarted
 * outside this pass (a `stream` that found its chain damaged took a new base, or a `backup` run on
 * the member store). The newest cluster window ends where that member's old chain ends, so a new
 * cluster base is due as when this pass restarts a member itself.
 */
async function membersOffClusterBase(manifest: ClusterManifest, members: readonly MemberSource[], store: Store): Promise<string[]> {
  const newest = newestClusterBase(manifest);
  if (!newest) return [];
  const off = await Promise.all(members.map(async (member) => {
    const part = newest.members.find((candidate) => candidate.name === member.name);
    if (!part) return undefined;
    const { manifest: head } = await readHead(memberStore(store, memberPrefixOf(member)));
    const chain = newestChainOf(head, member.source.identity);
    return chain && chain.id !== part.baseId ? member.name : undefined;
  }));
  return off.filter((name): name is string => name !== undefined);
}

function pendingOf(manifest: ClusterManifest): { pendingClusterBase?: string } {
  return manifest.pendingBase ? { pendingClusterBase: manifest.pendingBase.id } : {};
}

/** A client on the first router the topology names, to stop and start the balancer. */
async function mongosClientOf(topology: ClusterTopology): Promise<MongoClient | undefined> {
  const uri = topology.mongos[0];
  if (!uri) return undefined;
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, appName: 'mongo-pitr' });
  await client.connect();
  return client;
}
