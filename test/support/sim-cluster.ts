// A simulated sharded cluster for tests: one FerretDB per shard and one for the config server
// replica set, each reporting its own replica-set name and logging its writes to its own
// local.oplog.rs (test/servers/ferretdb.ts), with the config collections written the way a real
// cluster lays them out, and described to the product by a topology file (--topology).
//
// What it is not: there is no mongos, no routing, no balancer thread, no migration protocol and
// no transaction; a test performs a migration's writes itself, shard by shard, in the order the
// server does them, and writes entries the server would log but FerretDB cannot straight into
// the oplog (injectOplogEntries). Shapes of the config documents, from the server source:
//   config.shards       src/mongo/s/catalog/type_shard.h        {_id, host: "<set>/<host:port>", state: 1}
//   config.databases    src/mongo/s/catalog/type_database.idl   {_id, primary, version: {uuid, timestamp, lastMod}}
//   config.collections  src/mongo/s/catalog/type_collection.idl {_id: ns, lastmodEpoch, lastmod, timestamp, uuid, key, unique, noBalance}
//   config.chunks       src/mongo/s/catalog/type_chunk.h        {_id, uuid, min, max, shard, lastmod: Timestamp(major, minor), onCurrentShardSince, history: [{validAfter, shard}]}
//   config.settings     src/mongo/s/balancer_configuration.cpp  {_id: "balancer", mode: "off"|"full", stopped}
// FerretDB cannot store MinKey/MaxKey (the connection closes) nor infinities (refused), so the
// outer chunk bounds are -1e15 and 1e15 (SIM_MIN/SIM_MAX): every shard key value of the tests lies
// between them, as between MinKey and MaxKey on a real cluster.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient, ObjectId, Timestamp, UUID, type Document } from 'mongodb';
import { startFerretDB, type FerretDB } from '../servers/ferretdb.ts';

export interface SimMember {
  readonly name: string;
  readonly setName: string;
  readonly uri: string;
  readonly client: MongoClient;
  readonly server: FerretDB;
}

export interface SimChunk {
  readonly min: number;
  readonly max: number;
  readonly shard: string;
}

export interface SimCluster {
  readonly config: SimMember;
  readonly shards: readonly SimMember[];
  readonly topologyFile: string;
  shard(name: string): SimMember;
  stop(): Promise<void>;
}

export const CONFIG_SET = 'cfgRS';
/** The outer chunk bounds standing for MinKey and MaxKey (see above). */
export const SIM_MIN = -1e15;
export const SIM_MAX = 1e15;

export async function startSimCluster(bin: string, shardNames: readonly string[], dir: string): Promise<SimCluster> {
  const start = async (name: string, setName: string): Promise<SimMember> => {
    const server = await startFerretDB(bin, undefined, { setName });
    return { name, setName, uri: server.uri, client: new MongoClient(server.uri), server };
  };
  // One at a time: the machine is small and each start probes its port.
  const config = await start('config', CONFIG_SET);
  const shards: SimMember[] = [];
  for (const name of shardNames) shards.push(await start(name, `rs-${name}`));
  const topologyFile = join(dir, 'topology.json');
  await writeFile(topologyFile, JSON.stringify({ config: config.uri, shards: Object.fromEntries(shards.map((shard) => [shard.name, shard.uri])) }, null, 1));
  const settings = config.client.db('config');
  await settings.collection('shards').insertMany(shards.map((shard) => ({ _id: shard.name, host: `${shard.setName}/${hostOf(shard.uri)}`, state: 1 }) as Document));
  // The balancer as `sh.stopBalancer()` leaves it (BalancerConfiguration::setBalancerMode).
  await settings.collection('settings').insertOne({ _id: 'balancer', mode: 'off', stopped: true } as Document);
  return {
    config,
    shards,
    topologyFile,
    shard(name) {
      const found = shards.find((shard) => shard.name === name);
      if (!found) throw new Error(`no shard ${name}`);
      return found;
    },
    async stop() {
      for (const member of [config, ...shards]) {
        await member.client.close().catch(() => undefined);
        await member.server.stop().catch(() => undefined);
      }
    },
  };
}

/** A sharded database and one collection sharded on `{[key]: 1}`, chunks as given. */
export async function shardCollection(cluster: SimCluster, options: { db: string; coll: string; key: string; primary: string; chunks: readonly SimChunk[] }): Promise<UUID> {
  const config = cluster.config.client.db('config');
  const now = clusterTime();
  await config.collection('databases').updateOne(
    { _id: options.db } as Document,
    { $setOnInsert: { primary: options.primary, partitioned: true, version: { uuid: new UUID(), timestamp: now, lastMod: 1 } } },
    { upsert: true },
  );
  const uuid = new UUID();
  const epoch = new ObjectId();
  await config.collection('collections').insertOne({
    _id: `${options.db}.${options.coll}`,
    lastmodEpoch: epoch,
    lastmod: new Date(),
    timestamp: now,
    uuid,
    key: { [options.key]: 1 },
    unique: false,
    noBalance: false,
  } as Document);
  let minor = 0;
  await config.collection('chunks').insertMany(options.chunks.map((chunk) => chunkDocument(uuid, options.key, chunk, new Timestamp({ t: 1, i: minor++ }), now)));
  return uuid;
}

/** An unsharded database whose collections live on its primary shard. */
export async function addDatabase(cluster: SimCluster, db: string, primary: string): Promise<void> {
  await cluster.config.client.db('config').collection('databases').insertOne({ _id: db, primary, partitioned: false, version: { uuid: new UUID(), timestamp: clusterTime(), lastMod: 1 } } as Document);
}

/**
 * The config server's part of a migration commit (ShardingCatalogManager::commitChunkMigration,
 * src/mongo/db/s/config/sharding_catalog_manager_chunk_operations.cpp): the moved chunk's shard
 * and version change, history gains the new owner; the chunk is split first where the range is
 * part of one (commitChunkSplit).
 */
export async function commitMigration(cluster: SimCluster, uuid: UUID, key: string, moved: SimChunk, major: number): Promise<void> {
  const chunks = cluster.config.client.db('config').collection('chunks');
  const containing = await chunks.findOne({ uuid, [`min.${key}`]: { $lte: moved.min }, [`max.${key}`]: { $gte: moved.max } });
  if (!containing) throw new Error(`no chunk holds [${moved.min}, ${moved.max})`);
  const now = clusterTime();
  const from = String(containing.shard);
  const min = Number(containing.min[key]);
  const max = Number(containing.max[key]);
  await chunks.deleteOne({ _id: containing._id });
  const pieces: SimChunk[] = [
    ...(min < moved.min ? [{ min, max: moved.min, shard: from }] : []),
    moved,
    ...(moved.max < max ? [{ min: moved.max, max, shard: from }] : []),
  ];
  let minor = 0;
  await chunks.insertMany(pieces.map((piece) => chunkDocument(uuid, key, piece, new Timestamp({ t: major, i: minor++ }), now)));
}

function chunkDocument(uuid: UUID, key: string, chunk: SimChunk, lastmod: Timestamp, now: Timestamp): Document {
  return {
    _id: new ObjectId(),
    uuid,
    min: { [key]: chunk.min },
    max: { [key]: chunk.max },
    shard: chunk.shard,
    lastmod,
    onCurrentShardSince: now,
    history: [{ validAfter: now, shard: chunk.shard }],
  };
}

function clusterTime(): Timestamp {
  return new Timestamp({ t: Math.floor(Date.now() / 1000), i: 1 });
}

function hostOf(uri: string): string {
  return new URL(uri).host;
}
