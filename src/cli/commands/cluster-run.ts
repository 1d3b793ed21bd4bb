// `mongo-pitr run` on a sharded cluster (--topology file.json, or a --uri that reaches a mongos):
// every member's oplog, and a cluster base when one is due (cluster/cluster-run.ts); --metrics-addr
// serves every member's series and the cluster window while the pass runs (cluster-run-metrics.ts).
import { describeRunDue, runDueReport } from '../../backup/run-due.ts';
import type { ChunkLimits } from '../../archive/chunker.ts';
import { resolveTopology, isMongos } from '../../cluster/discover-topology.ts';
import { runCluster, type ClusterRunResult } from '../../cluster/cluster-run.ts';
import type { ClusterTopology } from '../../cluster/topology.ts';
import { formatTs } from '../../timestamp.ts';
import { pick, ENV } from '../../config.ts';
import { stopSignal, withStore, type Context } from '../context.ts';
import type { MemberProgress } from '../../cluster/cluster-base.ts';
import { dumpProgress } from '../dump-progress.ts';
import { memberDone, memberLog } from '../member-progress.ts';
import { startClusterMetrics } from '../cluster-metrics.ts';
import { clusterRunMetrics } from '../cluster-run-metrics.ts';
import type { Log } from '../../log.ts';

export interface ClusterRunFlags {
  readonly uri?: string;
  readonly topology?: string;
  readonly allowBalancer?: boolean;
}

/** The mongos URI when the run is for a cluster, `true` for a topology file, else undefined. */
export async function clusterRunOf(context: Context, flags: ClusterRunFlags): Promise<{ topologyFile?: string; mongosUri?: string } | undefined> {
  if (flags.topology) return { topologyFile: flags.topology };
  const uri = pick(flags.uri, ENV.uri, context.file, 'uri');
  // A URI naming a replica set is never a mongos: no probe, no extra connection.
  if (uri && !/[?&]replicaSet=/i.test(uri) && (await isMongos(uri))) return { mongosUri: uri };
  return undefined;
}

/** The source cluster's members, from the topology file or the mongos, saying which while it asks. */
export async function topologyOf(context: Context, where: { topologyFile?: string; mongosUri?: string }): Promise<ClusterTopology> {
  context.log.status('cluster.topology', where.topologyFile ? `reading the topology ${where.topologyFile}` : 'asking the mongos for the shards');
  return resolveTopology(where);
}

export async function runClusterCommand(
  context: Context,
  where: { topologyFile?: string; mongosUri?: string },
  options: { limits: ChunkLimits; baseEveryMs?: number; verifyEveryMs?: number; compact: boolean; allowBalancer: boolean; baseNow?: boolean; command?: 'run' | 'backup'; metricsAddr?: string },
): Promise<void> {
  const { metricsAddr, ...passOptions } = options;
  const topology = await topologyOf(context, where);
  // --metrics-addr: every member's series labelled by member and role, and the cluster window,
  // served while the pass runs (the cluster stream's endpoint, cluster-metrics.ts); closed at exit.
  const metrics = await startClusterMetrics(context, metricsAddr);
  const result = await withStore(context, async (opened) => {
    const store = metrics ? metrics.count(opened) : opened;
    const fed = metrics && clusterRunMetrics(context, metrics, store);
    // The line under the members' rows says what the pass is about (not the store's opening, done).
    context.log.status('run.members', `backing up ${memberNames(topology)}: each one's new oplog, then a cluster base${options.baseNow ? '' : ' when one is due'}`);
    try {
      return await runCluster({
        store,
        topology,
        ...passOptions,
        signal: stopSignal(),
        // One event per member stage, so --json readers see which member is at which stage; a
        // member's row on a terminal ends with its work.
        onMember: (member, event, message) => {
          context.log.event(`run.member.${event}`, message, { member });
          if (MEMBER_ENDS.has(event)) memberDone(context.log, member);
        },
        memberProgress: (member) => (fed ? fed.progress(member, memberBar(context.log, member)) : memberBar(context.log, member)),
        ...(fed && { onMemberReady: fed.onMemberReady }),
      });
    } finally {
      // Every member as the pass left it (a restarted chain, a new cluster base), before the store closes.
      await fed?.settle();
    }
  }, metrics?.storeOptions).finally(() => metrics?.close());
  context.output.result({ type: options.command ?? 'run', cluster: true, ...clusterRunReport(result) }, describeClusterRun(result));
}

/** "config, shard01 and shard02". */
export function memberNames(topology: ClusterTopology): string {
  const names = [...new Set([topology.config.name, ...topology.shards.map((shard) => shard.name)])];
  return names.length === 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}

/** The onMember events after which the member has nothing left to draw in this stage. */
const MEMBER_ENDS: ReadonlySet<string> = new Set(['base-taken', 'pass-done']);

/** A member's waits and dump bar, on a row of its own (the replica-set run's, member by member). */
export function memberBar(log: Log, member: string): MemberProgress {
  const own = memberLog(log, member);
  const progress = dumpProgress(own);
  return {
    onStage: (stage, message, count) => {
      progress.stage(stage, count);
      own.status(`run.${stage}`, message);
    },
    onDumpPlan: (plan) => progress.plan(plan),
    onDocument: () => progress.document(),
    onCollection: (entry) => progress.collection(entry),
  };
}

const BASE_REASONS = {
  'no-base': 'the first cluster base',
  'new-member': 'a new cluster base: a shard joined',
  'member-removed': 'a new cluster base: a shard left',
  'member-restarted': 'a new cluster base: a member chain restarted (oplog gap or damage)',
  'base-age': 'a new cluster base: the newest was older than --base-every',
  resume: 'the cluster base in progress, resumed',
  requested: 'a new cluster base, asked for by backup',
} as const;

export function describeClusterRun(result: ClusterRunResult): string[] {
  const lines: string[] = [];
  for (const name of result.added) lines.push(`member ${name} joined the cluster timeline`);
  for (const name of result.removed) lines.push(`member ${name} is gone from the topology: its archive stays, marked removed`);
  for (const member of result.members) {
    const own = member.oplog ? describeRunDue(member.oplog) : [];
    const base = member.base;
    if (base?.state === 'taken') own.push(`base ${base.base.chainId} (${base.base.documents} documents), T1 ${base.base.endTs}`);
    if (base?.state === 'already') own.push(`base ${base.chainId} taken by an earlier pass`);
    if (base?.state === 'stopped') own.push('base in progress; the next run resumes it');
    lines.push(...own.map((line) => `${member.name}: ${line}`));
  }
  if (result.clusterBase) {
    const reason = result.baseReason ? `${BASE_REASONS[result.baseReason]}, ` : '';
    lines.push(`cluster base ${result.clusterBase.id} (${reason}${result.clusterBase.members.length} members), restorable from ${formatTs(result.clusterBase.restorableFromTs)}`);
  }
  if (result.pendingClusterBase) lines.push(`cluster base ${result.pendingClusterBase} in progress; the next run resumes it`);
  if (result.stoppedEarly) lines.push('stopped early: everything above is committed');
  return lines;
}

export function clusterRunReport(result: ClusterRunResult): Record<string, unknown> {
  return {
    ...result,
    clusterBase: result.clusterBase && {
      ...result.clusterBase,
      restorableFromTs: formatTs(result.clusterBase.restorableFromTs),
      members: result.clusterBase.members.map((member) => ({ ...member, endTs: formatTs(member.endTs) })),
    },
    members: result.members.map((member) => ({
      ...member,
      oplog: member.oplog && runDueReport(member.oplog),
      base: member.base && (member.base.state === 'failed' ? { name: member.base.name, state: 'failed' } : member.base),
    })),
  };
}
