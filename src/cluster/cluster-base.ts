// A cluster base: the bases of every member, taken together with the balancer stopped, recorded
// in cluster.json only after every member base is committed in its own manifest. It is recorded
// as pending first, so a pass stopped (a deadline) or killed midway leaves each member chain
// consistent and the next pass finishes the members still without a base of it.
import type { MongoClient } from 'mongodb';
import pLimit from 'p-limit';
import { newRunId } from '../archive/object-keys.ts';
import { newestChainOf, type Chain } from '../archive/manifest.ts';
import { memberPrefix, recordClusterBase, startClusterBase, type ClusterBase, type PendingClusterBase } from '../archive/cluster-manifest.ts';
import type { ChunkLimits } from '../archive/chunker.ts';
import { backupBase, type BackupRunOptions, type BaseSummary } from '../backup/run-due.ts';
import { readHead } from '../backup/commit.ts';
import type { Store } from '../store/store.ts';
import { holdBalancer } from './balancer.ts';
import type { ClusterCommitter } from './cluster-committer.ts';
import { memberStore } from './member-store.ts';
import { counted } from '../words.ts';
import type { MemberSource } from './member-sources.ts';

export const DEFAULT_MEMBER_CONCURRENCY = 4;

/**
 * One member's progress hooks for its replica-set pass (run-due.ts, take-base.ts): the stage it
 * waits on and its dump's documents, so each member working in parallel can draw its own bar;
 * and its committed chunks, for its metrics series (cli/cluster-run-metrics.ts).
 */
export type MemberProgress = Pick<BackupRunOptions, 'onStage' | 'onDumpPlan' | 'onDocument' | 'onCollection' | 'onPiece' | 'onChunk'>;

export interface ClusterBaseOptions {
  readonly store: Store;
  readonly committer: ClusterCommitter;
  /** Every active member, the config server set included. */
  readonly members: readonly MemberSource[];
  readonly mongos?: MongoClient;
  readonly allowBalancer: boolean;
  readonly limits?: ChunkLimits;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly now?: Date;
  readonly onMember?: (member: string, event: string, message: string) => void;
  readonly memberProgress?: (member: string) => MemberProgress;
}

export type MemberBaseOutcome =
  | { readonly name: string; readonly state: 'taken'; readonly base: BaseSummary }
  | { readonly name: string; readonly state: 'already'; readonly chainId: string }
  | { readonly name: string; readonly state: 'stopped' }
  | { readonly name: string; readonly state: 'failed'; readonly error: unknown };

export interface ClusterBaseResult {
  readonly base?: ClusterBase;
  readonly pending?: PendingClusterBase;
  readonly members: readonly MemberBaseOutcome[];
  readonly balancerWasRunning: boolean;
  readonly stoppedEarly: boolean;
}

export function newClusterBaseId(now: Date): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${newRunId()}`;
}

export async function takeClusterBase(options: ClusterBaseOptions): Promise<ClusterBaseResult> {
  const now = options.now ?? new Date();
  const names = options.members.map((member) => member.name);
  const earlier = options.committer.manifest.pendingBase;
  const config = options.members.find((member) => member.role === 'config');
  if (!config) throw new Error('a cluster base needs the config server replica set among its members');
  const hold = await holdBalancer({ mongos: options.mongos, config: config.source.client, allowBalancer: options.allowBalancer, wasRunning: earlier?.balancerWasRunning });
  let outcomes: MemberBaseOutcome[];
  let pending: PendingClusterBase;
  try {
    pending = earlier ? { ...earlier, members: names } : { id: newClusterBaseId(now), startedAt: now.toISOString(), members: names, balancerWasRunning: hold.wasRunning };
    await options.committer.commit((manifest) => startClusterBase(manifest, pending));
    const limit = pLimit(options.concurrency ?? DEFAULT_MEMBER_CONCURRENCY);
    outcomes = await Promise.all(options.members.map((member) => limit(() => memberBase(member, pending, options))));
  } finally {
    await hold.release();
  }
  const failed = outcomes.find((outcome) => outcome.state === 'failed');
  if (failed) throw failed.error;
  if (outcomes.some((outcome) => outcome.state === 'stopped')) return { pending, members: outcomes, balancerWasRunning: hold.wasRunning, stoppedEarly: true };
  const chains = await Promise.all(options.members.map(async (member) => ({ name: member.name, chain: await baseChainOf(member, pending, options.store) })));
  const baseMembers = chains.map(({ name, chain }) => {
    if (!chain) throw new Error(`member ${name} has no base of cluster base ${pending.id} after taking it`);
    return { name, baseId: chain.id, endTs: chain.base.endTs };
  });
  const recorded = await options.committer.commit((manifest) => recordClusterBase(manifest, { id: pending.id, startedAt: pending.startedAt, finishedAt: new Date().toISOString(), members: baseMembers }));
  return { base: recorded.bases.at(-1), members: outcomes, balancerWasRunning: hold.wasRunning, stoppedEarly: false };
}

/** One member's base of this cluster base: already there (an earlier pass), taken, or cut short. */
async function memberBase(member: MemberSource, pending: PendingClusterBase, options: ClusterBaseOptions): Promise<MemberBaseOutcome> {
  const existing = await baseChainOf(member, pending, options.store);
  if (existing) return { name: member.name, state: 'already', chainId: existing.id };
  if (options.signal?.aborted) return { name: member.name, state: 'stopped' };
  options.onMember?.(member.name, 'base', `base of ${member.name} (${member.source.identity.setName})`);
  try {
    const base = await backupBase({
      source: member.source,
      store: memberStore(options.store, memberPrefixOf(member)),
      limits: options.limits,
      signal: options.signal,
      includeConfigMetadata: member.role === 'config',
      ...options.memberProgress?.(member.name),
    });
    options.onMember?.(member.name, 'base-taken', `${member.name}: base ${base.chainId} taken, ${counted(base.documents, 'document')} in ${counted(base.collections, 'collection')}`);
    return { name: member.name, state: 'taken', base };
  } catch (error) {
    // Stopped: what the member stored stays committed as its pending base; the next pass resumes it.
    if (options.signal?.aborted) return { name: member.name, state: 'stopped' };
    return { name: member.name, state: 'failed', error };
  }
}

/** The member's newest chain when its base started within this cluster base. */
async function baseChainOf(member: MemberSource, pending: PendingClusterBase, store: Store): Promise<Chain | undefined> {
  const { manifest } = await readHead(memberStore(store, memberPrefixOf(member)));
  const chain = newestChainOf(manifest, member.source.identity);
  return chain && chain.base.startedAt >= pending.startedAt ? chain : undefined;
}

export function memberPrefixOf(member: { readonly name: string }): string {
  return memberPrefix(member.name);
}
