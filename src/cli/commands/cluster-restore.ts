// `mongo-pitr restore` from a cluster store: every member to one cutoff, onto a target cluster
// named by its mongos (--to) or a topology file (--to-topology). cluster/cluster-restore.ts.
import { UsageError } from '../../errors.ts';
import { resolveTopology } from '../../cluster/discover-topology.ts';
import { restoreCluster, type ClusterRestoreResult } from '../../cluster/cluster-restore.ts';
import type { ApplyMode } from '../../target/open-target.ts';
import { formatTs, type Cutoff } from '../../timestamp.ts';
import { counted } from '../receipt-text.ts';
import { stopSignal, withStore, type Context } from '../context.ts';
import { RESTORE_STOP, UNITS } from './restore.ts';
import { memberDone } from '../member-progress.ts';
import { clusterCutoffAt, firstMatchLines, requireFirstClusterOp, type ClusterFirstMatch } from '../../cluster/cluster-before-first.ts';
import { formatFoundOp, foundOpToJson, type OpFilter } from '../../restore/find-ops.ts';
import { visibleMatchJson } from '../../restore/first-visible-op.ts';
import { databaseRenames } from '../../cluster/database-renames.ts';

export interface ClusterRestoreFlags {
  readonly to?: string;
  readonly toTopology?: string;
  readonly shardMap?: string;
  readonly beforeFirst?: string;
  readonly drop?: boolean;
  readonly preserveUuid?: boolean;
  readonly dryRun?: boolean;
  readonly applyMode: ApplyMode;
  readonly skipUnknownCommands?: boolean;
  readonly nsFrom: string[];
  readonly nsTo?: string[];
  readonly nsInclude: string[];
  readonly nsExclude: string[];
  readonly allowBalancer?: boolean;
}

/**
 * `beforeFirst` is the compiled --before-first filter (restore.ts checks it as for a replica set):
 * its first match across every member is the cutoff of all (cluster-before-first.ts).
 */
export async function clusterRestoreCommand(context: Context, flags: ClusterRestoreFlags, until: Cutoff | undefined, concurrency: number, beforeFirst?: OpFilter): Promise<void> {
  // Whole-database renames only: refused in one line before anything is read or written.
  databaseRenames(flags.nsFrom, flags.nsTo ?? []);
  if (!flags.to && !flags.toTopology && !flags.dryRun) throw new UsageError('a cluster restore needs --to <target mongos URI> or --to-topology file.json');
  const target = flags.to || flags.toTopology ? await resolveTopology(flags.toTopology ? { topologyFile: flags.toTopology } : { mongosUri: flags.to }) : undefined;
  const signal = stopSignal(RESTORE_STOP);
  let first: ClusterFirstMatch | undefined;
  const result = await withStore(context, async (store) => {
    let cutoff = until;
    if (beforeFirst) {
      first = await requireFirstClusterOp(store, beforeFirst, signal);
      context.log.status('restore.before-first', firstMatchLines(first, formatFoundOp).join('; '));
      cutoff = clusterCutoffAt(first);
    }
    context.log.status('restore.members', flags.dryRun ? 'planning the restore of every member' : 'restoring every member to the cutoff');
    return restoreCluster({
      store,
      target,
      cutoff,
      shardMap: flags.shardMap,
      dryRun: flags.dryRun,
      drop: flags.drop,
      // Every shard's collections keep their source UUIDs where the target can (applyOps, --drop);
      // --preserve-uuid makes that a requirement.
      preserveUuid: flags.preserveUuid === true ? 'required' : 'if-supported',
      applyMode: flags.applyMode,
      concurrency,
      skipUnknownCommands: flags.skipUnknownCommands,
      allowBalancer: flags.allowBalancer,
      // --nsFrom/--nsTo: whole databases only (cluster/database-renames.ts says why).
      namespaces: { include: flags.nsInclude, exclude: flags.nsExclude, from: flags.nsFrom, to: flags.nsTo ?? [] },
      signal,
      onStage: (member, stage, detail) => {
        context.log.event(`restore.${stage}`, `${member}: ${detail}`, { member });
        if (stage === 'member-done') memberDone(context.log, member);
      },
      // Members restore in parallel: a row each on a terminal (log.ts rowProgress).
      onProgress: (member, stage, done, total) => context.log.rowProgress?.(member, stage, done, total, UNITS[stage]),
    });
  });
  const beforeFirstJson = first && { member: first.member.name, ...visibleMatchJson(first, foundOpToJson) };
  const lines = [...(first ? firstMatchLines(first, formatFoundOp) : []), ...namespaceLines(flags), ...describeClusterRestore(result)];
  context.output.result({ type: 'restore', cluster: true, ...clusterRestoreReport(result), ...(beforeFirstJson && { beforeFirst: beforeFirstJson }) }, lines);
}

/** The rules in force, for the receipt and the --dry-run plan. */
function namespaceLines(flags: Pick<ClusterRestoreFlags, 'nsInclude' | 'nsExclude' | 'nsFrom' | 'nsTo'>): string[] {
  const lines: string[] = [];
  if (flags.nsInclude.length + flags.nsExclude.length > 0) {
    const rules = [...flags.nsInclude.map((p) => `--nsInclude ${p}`), ...flags.nsExclude.map((p) => `--nsExclude ${p}`)].join(', ');
    lines.push(`namespaces: ${rules} on every shard; routing metadata (config.databases, collections, chunks, tags), UUID alignment and orphan removal only for what they restore`);
  }
  const renames = flags.nsFrom.map((from, index) => `${from} → ${flags.nsTo?.[index] ?? '?'}`);
  if (renames.length > 0) lines.push(`databases renamed: ${renames.join(', ')} on every shard and in the routing metadata (config.databases, collections, chunks, tags)`);
  return lines;
}

export function clusterRestoreReport(result: ClusterRestoreResult): Record<string, unknown> {
  return {
    clusterBase: result.clusterBase,
    cutoff: formatTs(result.cutoff.ts),
    window: { from: formatTs(result.window.from), to: formatTs(result.window.to) },
    shardMap: Object.fromEntries(result.shardMap),
    members: result.members.map((member) => ({ name: member.name, role: member.role, target: member.target, ...member.result })),
    ...(result.config && { config: result.config }),
    ...(result.orphansRemoved && { orphansRemoved: result.orphansRemoved }),
    ...(result.uuids && { uuids: result.uuids }),
    routersFlushed: result.routersFlushed,
    dryRun: result.dryRun,
  };
}

export function describeClusterRestore(result: ClusterRestoreResult): string[] {
  const lines = [`cluster base ${result.clusterBase}, cutoff ${formatTs(result.cutoff.ts)} (${result.cutoff.input}) for every member`];
  for (const member of result.members) {
    const r = member.result;
    const what = member.role === 'config' ? 'config metadata' : `shard ${member.name} → ${member.target}`;
    const plan = `chain ${r.chainId}, ${counted(r.objects, 'object')}`;
    if (result.dryRun) lines.push(`${what}: ${plan}; would apply ${counted(r.oplogEntries ?? 0, 'oplog entry', 'oplog entries')}`);
    else lines.push(`${what}: ${plan}; ${counted(r.base?.documents ?? 0, 'document')} loaded, ${counted(r.receipt?.applied ?? 0, 'oplog entry', 'oplog entries')} applied`);
  }
  // What a real restore does around the member data (config-metadata.ts).
  if (result.dryRun) return [...lines, 'then: the target balancer held, config metadata rewritten for the target shards and named by the UUIDs the target shards hold, zones assigned (through the mongos), orphans removed by chunk ownership at the cutoff, routing caches flushed', 'dry run: nothing written'];
  if (result.config) lines.push(`config metadata: ${Object.entries(result.config).map(([coll, count]) => `${count} ${coll}`).join(', ')}`);
  for (const [shard, count] of Object.entries(result.orphansRemoved ?? {})) lines.push(`${shard}: ${counted(count, 'orphan')} removed (not owned at the cutoff)`);
  if (result.uuids) {
    const { matched, rewritten, mismatched } = result.uuids;
    lines.push(`routing UUIDs: ${counted(matched, 'sharded collection')} already named by the shards' UUID, ${rewritten.toLocaleString('en')} rewritten to the UUID the target shards hold`);
    for (const m of mismatched) lines.push(`warning: ${m.ns} has different UUIDs on ${Object.keys(m.shards).join(', ')} (the target could not keep the source UUIDs); the routing metadata names ${m.chosen}'s`);
  }
  for (const zone of result.zonesPending ?? []) lines.push(`zone ${zone.zone} not assigned to ${zone.shard} (no target mongos): run addShardToZone`);
  lines.push(result.routersFlushed > 0 ? `${counted(result.routersFlushed, 'router')} told to reload the routing table (flushRouterConfig)` : 'no router named: run flushRouterConfig on every mongos of the target');
  return lines;
}
