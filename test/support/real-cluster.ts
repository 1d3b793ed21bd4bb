// A real sharded cluster for the e2e suite, named by TEST_MONGOS_URI (the source's mongos) and
// TEST_MONGOS_TARGET_URI (a second, empty cluster's mongos to restore onto). What the suite
// needs of it: the expected state at a cutoff read from the source itself, as of a cluster
// time, and the restored state read back through the target's router and counted on each
// target shard directly.
//
// The expected state at a cutoff C: mongo-pitr applies every entry with ts < C and none at or
// after it, so it is a snapshot read at atClusterTime T = the greatest ts before C (prevTs(C)):
// a snapshot at T sees exactly the writes committed at timestamps <= T (the server's own test:
// jstests/noPassthrough/readConcern_atClusterTime_snapshot_selection.js reads at a write's
// opTime.ts and sees that write, at an earlier write's ts and does not; a prepared
// transaction's writes become visible at its commitTimestamp, so a cross-shard transaction is
// in the snapshot iff commitTimestamp <= T, the rule mongo-pitr decides it by). The server
// refuses an atClusterTime ahead of its cluster time, and writes a noop when its last applied
// op is behind it (src/mongo/db/read_concern_mongod.cpp: "must not be greater than the current
// clusterTime", makeNoopWriteIfNeeded), and keeps history only `minSnapshotHistoryWindowInSeconds`
// back, 300 by default (src/mongo/db/storage/snapshot_window_options.idl): so each expected state
// is read right after its cutoff is chosen, never at the end of the run.
import { BSON, Long, MongoClient, Timestamp, type ClientSession, type Db, type Document } from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { nextTs, prevTs } from '../../src/archive/chain-window.ts';
import { topologyFromMongos } from '../../src/cluster/discover-topology.ts';
import type { ClusterTopology, MemberAddress } from '../../src/cluster/topology.ts';
import { compareTs, formatTs, tsFromBson, tsToBson, type Ts } from '../../src/timestamp.ts';

export const NO_MONGOS = process.env.TEST_MONGOS_URI
  ? false
  : 'no real sharded cluster: set TEST_MONGOS_URI to a mongos (MongoDB 5.0+, at least 2 shards; the simulated-cluster files cover the rest)';
export const NO_MONGOS_TARGET = process.env.TEST_MONGOS_TARGET_URI
  ? false
  : 'no target cluster to restore onto: set TEST_MONGOS_TARGET_URI to the mongos of a second, empty cluster with at least as many shards';

export function mongosUri(): string {
  return process.env.TEST_MONGOS_URI ?? '';
}

export function targetMongosUri(): string {
  return process.env.TEST_MONGOS_TARGET_URI ?? '';
}

/** The cutoff just after cluster time T: every write at or before T is applied, none after. */
export function cutoffAfter(clusterTime: Ts): Ts {
  return nextTs(clusterTime);
}

/** The snapshot a cutoff C restores: atClusterTime = the greatest ts before C. */
export function snapshotTimeOf(cutoff: Ts): Ts {
  return prevTs(cutoff);
}

/**
 * The router's cluster time now (gossiped in every reply as $clusterTime): at or after every
 * write this client has seen acknowledged, and before every write it routes from now on (the
 * router sends it along and a shard stamps its next op after it).
 */
export async function clusterTimeNow(client: MongoClient, session: ClientSession): Promise<Ts> {
  await client.db('admin').command({ ping: 1 }, { session });
  const time = session.clusterTime?.clusterTime;
  if (!(time instanceof Timestamp)) throw new Error('the mongos gossiped no $clusterTime: is TEST_MONGOS_URI a mongos?');
  return tsFromBson(time);
}

/**
 * Every document of `ns`, by a find command and its getMores (so the read concern goes to the
 * server as given: the driver's own option has no atClusterTime). Longs stay Longs on both sides
 * of a comparison.
 */
export async function* readCollection(db: Db, coll: string, readConcern: Document): AsyncGenerator<Document> {
  const options = { promoteLongs: false } as const;
  let reply = await db.command({ find: coll, filter: {}, batchSize: 1000, readConcern }, options);
  let cursor = reply.cursor as { id: Long; firstBatch?: Document[]; nextBatch?: Document[] };
  yield* cursor.firstBatch ?? [];
  while (!cursor.id.isZero()) {
    reply = await db.command({ getMore: cursor.id, collection: coll, batchSize: 1000 }, options);
    cursor = reply.cursor as typeof cursor;
    yield* cursor.nextBatch ?? [];
  }
}

/** Keyed "ns/_id", canonical extended JSON values: what two states are compared by. */
export type ClusterState = Map<string, string>;

export function keyOf(ns: string, id: unknown): string {
  return `${ns}/${BSON.EJSON.stringify({ id }, { relaxed: false })}`;
}

export async function readState(client: MongoClient, namespaces: readonly string[], readConcern: Document): Promise<ClusterState> {
  const state: ClusterState = new Map();
  for (const ns of namespaces) {
    const dot = ns.indexOf('.');
    for await (const doc of readCollection(client.db(ns.slice(0, dot)), ns.slice(dot + 1), readConcern)) {
      state.set(keyOf(ns, doc._id), BSON.EJSON.stringify(doc, { relaxed: false }));
    }
  }
  return state;
}

/** The source as of the snapshot a cutoff restores, through its mongos. */
export function readStateAt(client: MongoClient, namespaces: readonly string[], cutoff: Ts): Promise<ClusterState> {
  return readState(client, namespaces, { level: 'snapshot', atClusterTime: tsToBson(snapshotTimeOf(cutoff)) });
}

/** How documents lie on the shards, counted on each shard directly (no router filtering). */
export interface Placement {
  readonly perShard: ReadonlyMap<string, number>;
  /** Copies of an _id beyond its first, across shards. */
  readonly duplicates: number;
  /** Documents on the shards beyond what the router returns: orphans or duplicates. */
  readonly extra: number;
}

/** Pure: the placement from each shard's _ids (as keyOf keys) and the router's count. */
export function placementOf(idsByShard: ReadonlyMap<string, readonly string[]>, routerCount: number): Placement {
  const seen = new Set<string>();
  let duplicates = 0;
  let total = 0;
  const perShard = new Map<string, number>();
  for (const [shard, ids] of idsByShard) {
    perShard.set(shard, ids.length);
    total += ids.length;
    for (const id of ids) {
      if (seen.has(id)) duplicates++;
      seen.add(id);
    }
  }
  return { perShard, duplicates, extra: total - routerCount };
}

/** Reads `ns` on every shard of `topology` directly and through `router`. */
export async function placementIn(topology: ClusterTopology, router: MongoClient, ns: string): Promise<Placement> {
  const dot = ns.indexOf('.');
  const [db, coll] = [ns.slice(0, dot), ns.slice(dot + 1)];
  const idsByShard = new Map<string, string[]>();
  for (const shard of shardsOf(topology)) {
    const client = new MongoClient(shard.uri, { appName: 'mongo-pitr-test' });
    try {
      const ids: string[] = [];
      for await (const doc of readCollection(client.db(db), coll, { level: 'majority' })) ids.push(keyOf(ns, doc._id));
      idsByShard.set(shard.name, ids);
    } finally {
      await client.close();
    }
  }
  const routerCount = await router.db(db).collection(coll).countDocuments({}, { readConcern: { level: 'majority' } });
  return placementOf(idsByShard, routerCount);
}

/** Shards holding data: the config server too where it is a shard (8.0+ config shard). */
export function shardsOf(topology: ClusterTopology): MemberAddress[] {
  return [...(topology.configIsShard ? [topology.config] : []), ...topology.shards];
}

export async function topologyOf(uri: string): Promise<ClusterTopology> {
  return topologyFromMongos(uri);
}

/**
 * `--shard-map` pairing source shards with target shards in name order; the target must have at
 * least as many (cluster-restore's rule).
 */
export function shardMapOption(source: readonly string[], target: readonly string[]): string {
  const from = [...source].sort();
  const to = [...target].sort();
  if (to.length < from.length) throw new Error(`the target cluster has ${to.length} shards, the source ${from.length}: it needs at least as many`);
  return from.map((name, n) => `${name}=${to[n]}`).join(',');
}

/**
 * Waits until every member's majority point (hello.lastWrite.majorityOpTime, read directly) is at
 * or past `cutoff`, so that the next `run` archives every member beyond it. A member nobody writes
 * to gets there by its periodic noop writer (src/mongo/db/repl/noop_writer.cpp; writePeriodicNoops
 * true and periodicNoopIntervalSecs 10 by default): within two intervals, with margin.
 */
export async function waitUntilMembersPass(topology: ClusterTopology, cutoff: Ts, timeoutMs = 60_000): Promise<void> {
  const members = [topology.config, ...topology.shards];
  const deadline = Date.now() + timeoutMs;
  for (const member of members) {
    const client = new MongoClient(member.uri, { appName: 'mongo-pitr-test' });
    try {
      for (;;) {
        const hello = await client.db('admin').command({ hello: 1 });
        const majority: unknown = hello.lastWrite?.majorityOpTime?.ts;
        if (majority instanceof Timestamp && compareTs(tsFromBson(majority), cutoff) >= 0) break;
        if (Date.now() > deadline) {
          throw new Error(`${member.name}'s majority point did not reach ${formatTs(cutoff)} in ${timeoutMs} ms: is writePeriodicNoops off on it?`);
        }
        await sleep(500);
      }
    } finally {
      await client.close();
    }
  }
}
