// Where a cluster's members are: a topology file (--topology), or a mongos asked with listShards
// and getShardMap (src/mongo/s/commands/cluster_list_shards_cmd.cpp, cluster_get_shard_map_cmd.cpp).
// The decisions on the replies are cluster-core's (topology.ts); this file only asks.
import { readFile } from 'node:fs/promises';
import { MongoClient } from 'mongodb';
import { SourceError, UsageError } from '../errors.ts';
import { redactUri } from '../redact.ts';
import { parseTopology, topologyFromShardList, withResolvedAuthSource, type ClusterTopology } from './topology.ts';

const PROBE_TIMEOUT_MS = 10_000;

export async function topologyFromFile(path: string): Promise<ClusterTopology> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the topology file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the topology file ${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseTopology(json, path);
}

/** Whether the URI reaches a mongos (hello.msg "isdbgrid", src/mongo/s/commands/cluster_hello_cmd.cpp). */
export async function isMongos(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: PROBE_TIMEOUT_MS, appName: 'mongo-pitr' });
  try {
    await client.connect();
    const hello = await client.db('admin').command({ hello: 1 });
    return hello.msg === 'isdbgrid';
  } catch {
    // Unreachable or refused: the replica-set path reports it with its own words.
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

export async function topologyFromMongos(uri: string): Promise<ClusterTopology> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: PROBE_TIMEOUT_MS, appName: 'mongo-pitr' });
  try {
    await client.connect();
    const admin = client.db('admin');
    const shards = await admin.command({ listShards: 1 });
    const shardMap = await admin.command({ getShardMap: 1 });
    // Member URIs are mongodb://: they keep the authSource an SRV TXT record gave (topology.ts).
    const membersFrom = withResolvedAuthSource(uri, client.options.credentials?.source);
    return topologyFromShardList(shards, shardMap, membersFrom, [uri]);
  } catch (error) {
    if (error instanceof UsageError || error instanceof SourceError) throw error;
    throw new SourceError(`cannot read the cluster's shards from the mongos ${redactUri(uri)}: ${(error as Error).message}`, {
      cause: error,
      hint: 'the user needs listShards and getShardMap (clusterMonitor role), or give --topology file.json',
    });
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** The topology the flags name: the file when given, else the mongos. */
export async function resolveTopology(options: { topologyFile?: string; mongosUri?: string }): Promise<ClusterTopology> {
  if (options.topologyFile) return topologyFromFile(options.topologyFile);
  if (options.mongosUri) return topologyFromMongos(options.mongosUri);
  throw new UsageError('a cluster needs --topology file.json or a mongos --uri');
}
