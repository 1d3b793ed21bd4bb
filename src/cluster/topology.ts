// The members of a sharded cluster: the config server replica set and every shard, each as a
// replica-set URI the per-replica-set pipeline can connect to directly. Pure.
import { InternalStub } from './stub.ts';

/** One replica set of the cluster. */
export interface MemberAddress {
  /** 'config' for the config server replica set, else the shard's `_id` in config.shards. */
  readonly name: string;
  /** A replica-set URI: the member set's hosts and `replicaSet=`, the mongos URI's credentials and options. */
  readonly uri: string;
}

export interface ClusterTopology {
  readonly config: MemberAddress;
  readonly shards: readonly MemberAddress[];
  /** Router URIs (to reload routing tables after a restore); may be empty. */
  readonly mongos: readonly string[];
}

/** The name the config server replica set takes among members. */
export const CONFIG_MEMBER = 'config';

/** `--topology file.json`: {"config": uri, "shards": {"<name>": uri, ...}, "mongos"?: [uri]}. */
export function parseTopology(json: unknown, origin: string): ClusterTopology {
  void json; void origin;
  throw new InternalStub('parseTopology');
}

/** A connection string as listShards and getShardMap give it: "setName/host1:port,host2:port". */
export interface ReplicaSetConnection {
  readonly setName: string;
  readonly hosts: readonly string[];
}

export function parseReplicaSetConnection(text: string, what: string): ReplicaSetConnection {
  void text; void what;
  throw new InternalStub('parseReplicaSetConnection');
}

/** The member set's URI: the mongos URI's scheme, credentials and options; the set's hosts and name. */
export function memberUri(mongosUri: string, connection: ReplicaSetConnection): string {
  void mongosUri; void connection;
  throw new InternalStub('memberUri');
}

/**
 * From a mongos: `listShards` (s/commands/cluster_list_shards_cmd.cpp) and `getShardMap`
 * replies, the URI the mongos was reached with (its credentials, TLS and auth options carry over
 * to every member), and the routers to record.
 */
export function topologyFromShardList(listShardsReply: unknown, shardMapReply: unknown, mongosUri: string, mongos: readonly string[] = [mongosUri]): ClusterTopology {
  void listShardsReply; void shardMapReply; void mongosUri; void mongos;
  throw new InternalStub('topologyFromShardList');
}
