// Restore a whole cluster to one cutoff: each member chain with the replica-set restore
// unchanged (restore/restore.ts, members in parallel), every one with the same cutoff; a
// cross-shard transaction is decided by its commitTimestamp on every shard alike
// (restore/prepared-cutoff.ts). Then the config metadata at the cutoff, rewritten for the target's
// shard names, goes to the target config server; documents a shard holds but does not own by
// those chunks are deleted; the routers are told to reload their routing tables.
// --nsInclude/--nsExclude apply to every shard's data and, through config-scope.ts, to the
// metadata written, the UUIDs aligned and the orphans removed: only what was restored.
import { MongoClient, type Document } from 'mongodb';
import pLimit from 'p-limit';
import { nextTs } from '../archive/chain-window.ts';
import type { ClusterMember } from '../archive/cluster-manifest.ts';
import { UsageError } from '../errors.ts';
import { restore, type RestoreResult } from '../restore/restore.ts';
import type { ApplyMode } from '../target/open-target.ts';
import type { Store } from '../store/store.ts';
import { compareTs, formatTs, type Cutoff } from '../timestamp.ts';
import { compileNamespaceRules, type NamespaceRules } from '../restore/namespace-rules.ts';
import { isInternalNs } from '../namespace.ts';
import { configScope, WHOLE_SCOPE } from './config-scope.ts';
import { checkRenameTargets, databaseRenames, type DatabaseRenames } from './database-renames.ts';
import { DEFAULT_MEMBER_CONCURRENCY } from './cluster-base.ts';
import { clusterStatus, type ClusterStatus } from './cluster-status.ts';
import type { ClusterWindow } from './cluster-window.ts';
import { CONFIG_METADATA_COLLECTIONS, zoneAssignments, type ZoneAssignment } from './config-metadata.ts';
import { holdBalancer } from './balancer.ts';
import { CONFIG_SCRATCH_DB, dropConfigScratch, writeConfigMetadata, type ConfigRestoreResult } from './config-restore.ts';
import { memberStore } from './member-store.ts';
import { removeOrphans } from './orphans.ts';
import { alignRoutingUuids, type UuidAlignment } from './routing-uuids.ts';
import type { PreserveUuid } from '../restore/preserve-uuid.ts';
import { counted } from '../words.ts';
import { resolveShardMap, type ShardMap } from './shard-map.ts';
import { routersToFlush } from './routers.ts';
import type { ClusterTopology } from './topology.ts';

export interface ClusterRestoreOptions {
  readonly store: Store;
  /** The target cluster; a dry run may go without one (shards then map onto their own names). */
  readonly target?: ClusterTopology;
  readonly cutoff?: Cutoff;
  /** --shard-map a=x,b=y; by name when absent. */
  readonly shardMap?: string;
  readonly dryRun?: boolean;
  readonly drop?: boolean;
  /**
   * Shards' collections created with their source UUIDs: 'if-supported' unless told (kept where
   * the target has applyOps and --drop is given; routing-uuids.ts aligns the metadata either way).
   */
  readonly preserveUuid?: PreserveUuid;
  readonly applyMode?: ApplyMode;
  readonly concurrency?: number;
  readonly skipUnknownCommands?: boolean;
  /** Restore even when the target's balancer runs and no mongos can stop it. */
  readonly allowBalancer?: boolean;
  /**
   * --nsInclude/--nsExclude (mongorestore syntax) for every shard and the routing metadata;
   * --nsFrom/--nsTo as whole-database renames only (database-renames.ts).
   */
  readonly namespaces?: { readonly include?: readonly string[]; readonly exclude?: readonly string[]; readonly from?: readonly string[]; readonly to?: readonly string[] };
  readonly signal?: AbortSignal;
  readonly onStage?: (member: string, stage: string, detail: string) => void;
  /** How far each member's restore is (restore.ts onProgress), for a bar per member. */
  readonly onProgress?: (member: string, stage: 'download' | 'load' | 'replay', done: number, total?: number) => void;
}

export interface MemberRestore {
  readonly name: string;
  readonly role: 'config' | 'shard';
  /** The target shard (or "config" for the config servers' metadata). */
  readonly target: string;
  readonly result: RestoreResult;
}

export interface ClusterRestoreResult {
  readonly clusterBase: string;
  readonly window: ClusterWindow;
  readonly cutoff: Cutoff;
  readonly shardMap: ShardMap;
  readonly members: readonly MemberRestore[];
  readonly config?: ConfigRestoreResult['written'];
  readonly orphansRemoved?: Record<string, number>;
  readonly routersFlushed: number;
  /** The routing metadata's UUIDs against the target shards' collections (routing-uuids.ts). */
  readonly uuids?: UuidAlignment;
  /** Zones of the source shards given to their target shards (addShardToZone through the mongos). */
  readonly zones?: readonly ZoneAssignment[];
  /** Zones not assigned because no target mongos was named: run addShardToZone for each. */
  readonly zonesPending?: readonly ZoneAssignment[];
  readonly dryRun: boolean;
}

export async function restoreCluster(options: ClusterRestoreOptions): Promise<ClusterRestoreResult> {
  // A bad pattern fails here, before any member is read.
  const ns = { include: options.namespaces?.include ?? [], exclude: options.namespaces?.exclude ?? [], from: options.namespaces?.from ?? [], to: options.namespaces?.to ?? [] };
  const rules = compileNamespaceRules({ include: ns.include, exclude: ns.exclude });
  const renames = databaseRenames(ns.from, ns.to);
  const status = await clusterStatus(options.store);
  const { window, cutoff } = chooseWindow(status, options.cutoff);
  const members = membersOf(status, window);
  const shards = members.filter((member) => member.role === 'shard');
  const config = members.find((member) => member.role === 'config');
  if (!config) throw new UsageError('the cluster window has no config server chain; its metadata cannot be restored');
  const target = options.target;
  if (!target && !options.dryRun) throw new UsageError('a cluster restore needs a target cluster');
  const targetNames = target ? target.shards.map((shard) => shard.name) : shards.map((member) => member.name);
  const map = resolveShardMap(shards.map((member) => member.name), targetNames, options.shardMap);
  const limit = pLimit(DEFAULT_MEMBER_CONCURRENCY);
  const restoreMember = (member: ClusterMember) => limit(async (): Promise<MemberRestore> => {
    const isConfig = member.role === 'config';
    const targetName = isConfig ? (target?.config.name ?? member.name) : (map.get(member.name) ?? member.name);
    const targetUri = !target ? '' : isConfig ? target.config.uri : targetShardUri(target, targetName);
    const result = await restore({
      store: memberStore(options.store, member.prefix),
      source: { setName: member.setName, ...(member.replicaSetId && { replicaSetId: member.replicaSetId }) },
      targetUri,
      cutoff,
      dryRun: options.dryRun,
      drop: isConfig ? true : options.drop,
      // The config member's scratch copy is read back, not routed to: its UUIDs do not matter.
      ...(!isConfig && { preserveUuid: options.preserveUuid ?? 'if-supported' }),
      ...(!isConfig && !(rules.identity && renames.identity) && { namespaces: ns }),
      // The config metadata lands in a scratch database first (config-restore.ts).
      ...(isConfig && { namespaces: { include: [...CONFIG_METADATA_COLLECTIONS, 'shards'].map((coll) => `config.${coll}`), from: ['config.*'], to: [`${CONFIG_SCRATCH_DB}.*`], includeConfigMetadata: true } }),
      refuseSourceCluster: !isConfig,
      applyMode: options.applyMode,
      concurrency: options.concurrency,
      skipUnknownCommands: options.skipUnknownCommands,
      signal: options.signal,
      onStage: (stage, detail) => options.onStage?.(member.name, stage, detail),
      onProgress: (stage, done, total) => options.onProgress?.(member.name, stage, done, total),
    });
    options.onStage?.(member.name, 'member-done', options.dryRun ? 'planned' : `restored onto ${targetName}`);
    return { name: member.name, role: member.role, target: targetName, result };
  });
  if (options.dryRun || !target) {
    const restored = await Promise.all([config, ...shards].map(restoreMember));
    return { clusterBase: window.baseId, window, cutoff, shardMap: map, members: restored, routersFlushed: 0, dryRun: true };
  }
  const configClient = new MongoClient(target.config.uri, { appName: 'mongo-pitr' });
  const mongosUri = target.mongos[0];
  const mongos = mongosUri === undefined ? undefined : new MongoClient(mongosUri, { appName: 'mongo-pitr' });
  try {
    // No migration may move what is being restored: the target's balancer is held throughout.
    const hold = await holdBalancer({ ...(mongos && { mongos }), config: configClient, allowBalancer: options.allowBalancer ?? false });
    try {
      const restored = await restoreMembers(config, shards, restoreMember, configClient, renames);
      return { clusterBase: window.baseId, window, cutoff, shardMap: map, members: restored, ...(await finishOnTarget(target, configClient, mongos, shards, map, rules, renames, options)), dryRun: false };
    } finally {
      await hold.release();
    }
  } finally {
    await mongos?.close();
    await configClient.close();
  }
}

/**
 * The members' data: the config member's metadata first when databases are renamed, so a rename
 * onto a database the source has is refused before any shard is written; else all at once.
 */
async function restoreMembers(config: ClusterMember, shards: readonly ClusterMember[], restoreMember: (member: ClusterMember) => Promise<MemberRestore>, configClient: MongoClient, renames: DatabaseRenames): Promise<MemberRestore[]> {
  if (renames.identity) return Promise.all([config, ...shards].map(restoreMember));
  const restoredConfig = await restoreMember(config);
  try {
    checkRenameTargets(renames, (await configClient.db(CONFIG_SCRATCH_DB).collection('databases').distinct('_id')).map(String));
  } catch (error) {
    await dropConfigScratch(configClient);
    throw error;
  }
  return [restoredConfig, ...(await Promise.all(shards.map(restoreMember)))];
}

/** After the member data: the metadata, zones, orphans, the scratch database, the routing caches. */
async function finishOnTarget(target: ClusterTopology, configClient: MongoClient, mongos: MongoClient | undefined, shards: readonly ClusterMember[], map: ShardMap, rules: NamespaceRules, renames: DatabaseRenames, options: ClusterRestoreOptions) {
  const orphansRemoved: Record<string, number> = {};
  const clients = new Map<string, MongoClient>();
  let uuids: UuidAlignment;
  let metadata: ConfigRestoreResult;
  let assignments: ZoneAssignment[];
  try {
    for (const member of shards) {
      const targetName = map.get(member.name) ?? member.name;
      if (!clients.has(targetName)) clients.set(targetName, new MongoClient(targetShardUri(target, targetName), { appName: 'mongo-pitr' }));
    }
    options.onStage?.('config', 'metadata', `config.databases, collections, chunks and tags rewritten for the target shards${rules.identity ? '' : ', only for the namespaces restored'}${renames.identity ? '' : ', under the renamed databases'}`);
    // The scope decides by source names: the target shards' namespaces are named back.
    const scope = rules.identity ? WHOLE_SCOPE : configScope(rules, await scratchShardedNs(configClient), (await namespacesOn(clients.values())).map((name) => renames.sourceNs(name)));
    metadata = await writeConfigMetadata(configClient, map, scope, renames);
    assignments = zoneAssignments(await configClient.db(CONFIG_SCRATCH_DB).collection('shards').find({}).toArray(), map);
    // addShardToZone is the router's (src/mongo/s/commands/cluster_add_shard_to_zone_cmd.cpp);
    // the target's config.shards is never written directly.
    if (mongos) for (const zone of assignments) await mongos.db('admin').command({ addShardToZone: zone.shard, zone: zone.zone });
    // The metadata names each collection by the UUID its shards have (preserved or not).
    uuids = await alignRoutingUuids(configClient, clients, metadata.collections);
    if (uuids.mismatched.length > 0) {
      options.onStage?.('config', 'uuids', `the target could not keep the source UUIDs and ${counted(uuids.mismatched.length, 'sharded collection')} got different UUIDs on different shards: ${uuids.mismatched.map((m) => m.ns).join(', ')}; the routing metadata names the UUID of the shard owning the lowest chunk`);
    }
    for (const member of shards) {
      const targetName = map.get(member.name) ?? member.name;
      const client = clients.get(targetName);
      if (client) orphansRemoved[targetName] = await removeOrphans(client, targetName, metadata.collections, options.signal);
    }
  } finally {
    for (const client of clients.values()) await client.close();
  }
  await dropConfigScratch(configClient);
  // A real cluster (a router named): each target shard drops its cached routing and filtering
  // metadata too (flushRouterConfig runs on mongod since 4.4), then every router.
  const shardUris = mongos ? shards.map((member) => targetShardUri(target, map.get(member.name) ?? member.name)) : [];
  await flushRouters(shardUris);
  // Every router one by one: each host the topology names, and the others config.mongos shows active (routers.ts).
  const routers = routersToFlush(target.mongos, await routerDocsOf(configClient), new Date(), target.config.uri);
  const named = await flushEach(routers.named);
  // A router that is down has no cache to flush (it reads the routing tables when it starts);
  // but named routers of which none answers are an error, as before.
  if (named.flushed === 0 && named.firstError !== undefined) throw named.firstError;
  const routersFlushed = named.flushed + (await flushEach(routers.active)).flushed;
  return { config: metadata.written, orphansRemoved, uuids, routersFlushed, ...(mongos ? { zones: assignments } : { zonesPending: assignments }) };
}

/** The window holding the cutoff; without one, the newest window's end (everything archived). */
export function chooseWindow(status: ClusterStatus, cutoff: Cutoff | undefined): { window: ClusterWindow; cutoff: Cutoff } {
  const windows = status.report.windows;
  const described = windows.map((window) => `${formatTs(window.from)} < cutoff <= ${formatTs(nextTs(window.to))}`).join('; ') || 'none';
  if (!cutoff) {
    const newest = windows.at(-1);
    if (!newest) throw new UsageError('the cluster store has no restorable window yet', { hint: 'run mongo-pitr run until a cluster base is recorded; mongo-pitr status shows why' });
    const end = nextTs(newest.to);
    return { window: newest, cutoff: { ts: end, input: formatTs(end) } };
  }
  // Newer windows serve a cutoff two could serve (cluster-window.ts keeps them disjoint anyway).
  const window = [...windows].reverse().find((candidate) => compareTs(cutoff.ts, candidate.from) > 0 && compareTs(cutoff.ts, nextTs(candidate.to)) <= 0);
  if (!window) throw new UsageError(`cutoff ${cutoff.input} (${formatTs(cutoff.ts)}) is outside the cluster's restorable windows: ${described}`, { hint: 'pick a cutoff inside a window (mongo-pitr status)' });
  return { window, cutoff };
}

/** The sharded collections of the restored config metadata (config.collections `_id`s). */
async function scratchShardedNs(config: MongoClient): Promise<string[]> {
  return (await config.db(CONFIG_SCRATCH_DB).collection('collections').distinct('_id')).map(String);
}

/**
 * The user namespaces the target shards hold after their restores: what the rules let through
 * (and anything the target held already, which keeps its database routed).
 */
async function namespacesOn(clients: Iterable<MongoClient>): Promise<string[]> {
  const out: string[] = [];
  for (const client of clients) {
    for (const { name: db } of (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases) {
      for (const info of await client.db(db).listCollections({}, { nameOnly: true }).toArray()) {
        const ns = `${db}.${String(info.name)}`;
        if (!isInternalNs(ns)) out.push(ns);
      }
    }
  }
  return out;
}

function membersOf(status: ClusterStatus, window: ClusterWindow): ClusterMember[] {
  return status.manifest.members.filter((member) => window.chains.has(member.name));
}

function targetShardUri(target: ClusterTopology, name: string): string {
  const shard = target.shards.find((candidate) => candidate.name === name);
  if (!shard) throw new UsageError(`the target cluster has no shard ${name}`);
  return shard.uri;
}

/** config.mongos on the target's config servers; none where it cannot be read (a simulated cluster has none). */
async function routerDocsOf(configClient: MongoClient): Promise<Document[]> {
  try {
    return await configClient.db('config').collection('mongos').find({}).toArray();
  } catch {
    return [];
  }
}

/**
 * flushRouterConfig on each router, going on past one that cannot be reached (a router that is
 * down reads the routing tables when it starts; a reachable stale one would refresh only on a
 * StaleConfig from a shard).
 */
async function flushEach(routers: readonly string[]): Promise<{ flushed: number; firstError?: unknown }> {
  let flushed = 0;
  let firstError: unknown;
  for (const uri of routers) {
    try {
      flushed += await flushRouters([uri]);
    } catch (error) {
      firstError ??= error;
    }
  }
  return firstError === undefined ? { flushed } : { flushed, firstError };
}

/**
 * flushRouterConfig on every router named (src/mongo/s/commands/flush_router_config_cmd.cpp):
 * each drops its cached routing table and reads the restored metadata on next use.
 */
async function flushRouters(routers: readonly string[]): Promise<number> {
  for (const uri of routers) {
    const client = new MongoClient(uri, { appName: 'mongo-pitr', serverSelectionTimeoutMS: 10_000 });
    try {
      await client.db('admin').command({ flushRouterConfig: 1 });
    } finally {
      await client.close();
    }
  }
  return routers.length;
}
