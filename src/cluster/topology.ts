// The members of a sharded cluster: the config server replica set and every shard, each as a
// replica-set URI the per-replica-set pipeline connects to directly (a member chain is a
// replica-set chain). Pure: the replies come from the caller's connection to a mongos, or an
// explicit `--topology` file.
import { SourceError, UsageError } from '../errors.ts';

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
  /**
   * True when the config server replica set is also a shard (8.0+ "config shard", listed by
   * listShards as the shard "config"): its one chain holds both the config metadata and that
   * shard's data, so it is not listed again among `shards`.
   */
  readonly configIsShard?: boolean;
}

/**
 * The name the config server replica set takes among members; getShardMap lists it under this
 * key too. It is the config server's ShardId (db/sharding_environment/shard_id.cpp,
 * ShardId::kConfigServerId), so no other shard can be called that.
 */
export const CONFIG_MEMBER = 'config';

const TOPOLOGY_KEYS = ['config', 'shards', 'mongos'] as const;
const TOPOLOGY_HINT = 'the file is {"config": "mongodb://cfg1,cfg2/?replicaSet=cfg", "shards": {"s1": "mongodb://…", …}, "mongos"?: ["mongodb://router/"]}';

/** `--topology file.json`: {"config": uri, "shards": {"<name>": uri, ...}, "mongos"?: [uri]}. */
export function parseTopology(json: unknown, origin: string): ClusterTopology {
  const bad = (key: string, why: string): UsageError => new UsageError(`${origin}: "${key}" ${why}`, { hint: TOPOLOGY_HINT });
  if (!isPlainObject(json)) throw new UsageError(`${origin}: not a JSON object`, { hint: TOPOLOGY_HINT });
  for (const key of Object.keys(json)) {
    if (!(TOPOLOGY_KEYS as readonly string[]).includes(key)) throw bad(key, `is not a topology key (expected ${TOPOLOGY_KEYS.join(', ')})`);
  }
  const config = requireUri(json.config, 'config', bad);
  if (!isPlainObject(json.shards)) throw bad('shards', 'must be an object of shard name → replica-set URI');
  const shards: MemberAddress[] = [];
  for (const [name, uri] of Object.entries(json.shards)) {
    checkShardName(name, (why) => bad(`shards.${name}`, why));
    shards.push({ name, uri: requireUri(uri, `shards.${name}`, bad) });
  }
  if (shards.length === 0) throw bad('shards', 'names no shard');
  const mongos = json.mongos === undefined ? [] : json.mongos;
  if (!Array.isArray(mongos)) throw bad('mongos', 'must be an array of mongos URIs');
  const routers = mongos.map((uri: unknown, index) => requireUri(uri, `mongos[${index}]`, bad));
  return { config: { name: CONFIG_MEMBER, uri: config }, shards, mongos: routers };
}

function requireUri(value: unknown, key: string, bad: (key: string, why: string) => UsageError): string {
  if (value === undefined) throw bad(key, 'is missing');
  if (typeof value !== 'string' || !/^mongodb(\+srv)?:\/\/[^/?]+/.test(value)) throw bad(key, 'must be a mongodb:// or mongodb+srv:// URI');
  return value;
}

/**
 * A shard's `_id` as the server allows it: non-empty, not "config" (reserved for the config
 * server, type_shard.h), no "/" (the server splits "name/hosts" connection strings on it).
 */
function checkShardName(name: string, bad: (why: string) => UsageError): void {
  if (name.length === 0) throw bad('is an empty shard name');
  if (name === CONFIG_MEMBER) throw bad(`"${CONFIG_MEMBER}" is the config server's name, not a shard's`);
  if (name.includes('/')) throw bad('a shard name cannot contain "/"');
}

/** A connection string as listShards and getShardMap give it: "setName/host1:port,host2:port". */
export interface ReplicaSetConnection {
  readonly setName: string;
  readonly hosts: readonly string[];
}

/**
 * Parses "setName/host1:port,host2:port" (ConnectionString's SET form, what config.shards
 * `host` holds: s/catalog/type_shard.h). A standalone shard ("host:port" without a set name)
 * is refused: mongo-pitr needs every member to be a replica set, for its oplog.
 */
export function parseReplicaSetConnection(text: string, what: string): ReplicaSetConnection {
  const slash = text.indexOf('/');
  if (slash <= 0) {
    throw new UsageError(`${what}: "${text}" is not a replica set ("setName/host:port,…")`, {
      hint: 'every shard and the config servers must be replica sets: mongo-pitr reads their oplogs',
    });
  }
  const hosts = text.slice(slash + 1).split(',').map((host) => host.trim()).filter((host) => host.length > 0);
  if (hosts.length === 0) throw new UsageError(`${what}: "${text}" names no host`);
  return { setName: text.slice(0, slash), hosts };
}

/**
 * Options of the mongos URI that describe the router, not the member set: dropped from member
 * URIs. (The rest — credentials, authSource, authMechanism, tls*, timeouts, compressors,
 * appName — is what every connection of the cluster needs alike.)
 */
const ROUTER_ONLY_OPTIONS = new Set(['replicaset', 'directconnection', 'loadbalanced', 'srvservicename', 'srvmaxhosts']);

/**
 * The member set's URI: the mongos URI's credentials, default auth db and options, with the
 * set's hosts and `replicaSet=<set>`. A mongodb+srv URI becomes mongodb:// (the hosts are now
 * explicit), keeping the TLS that +srv turns on by default.
 */
export function memberUri(mongosUri: string, connection: ReplicaSetConnection): string {
  return uriForHosts(mongosUri, connection.hosts, [`replicaSet=${encodeURIComponent(connection.setName)}`]);
}

/**
 * A URI for `hosts` with the given URI's credentials, default auth db and options (router-only
 * ones dropped), then `extra` options; mongodb+srv becomes mongodb:// with its default TLS kept.
 */
export function uriForHosts(uri: string, hosts: readonly string[], extra: readonly string[] = []): string {
  const parts = splitUri(uri);
  const options = parts.query
    .split('&')
    .filter((pair) => pair.length > 0 && !ROUTER_ONLY_OPTIONS.has((pair.split('=')[0] ?? '').toLowerCase()));
  if (parts.srv && !options.some((pair) => /^(tls|ssl)=/i.test(pair))) options.push('tls=true');
  options.push(...extra);
  const query = options.length > 0 ? `?${options.join('&')}` : '';
  return `mongodb://${parts.userinfo}${hosts.join(',')}/${parts.path}${query}`;
}

/**
 * The URI member URIs are made from: a mongodb+srv URI's DNS TXT record may set `authSource`
 * (the driver merges it into the credentials it resolved, connection_string.js, per the SRV
 * spec), and the mongodb:// member URIs have no TXT record to read it from, so a URI that names
 * a database in its path would authenticate against that database instead. The source the
 * driver resolved is written out, unless the URI gives one itself.
 */
export function withResolvedAuthSource(uri: string, resolvedSource: string | undefined): string {
  const parts = splitUri(uri);
  if (!parts.srv || resolvedSource === undefined || /(^|&)authSource=/i.test(parts.query)) return uri;
  const queryAt = uri.indexOf('?');
  const base = queryAt < 0 ? uri : uri.slice(0, queryAt);
  // "mongodb+srv://host" has no "/" before its options yet; the URI grammar wants one.
  const withSlash = base.slice(base.indexOf('//') + 2).includes('/') ? base : `${base}/`;
  const query = parts.query.length > 0 ? `${parts.query}&` : '';
  return `${withSlash}?${query}authSource=${encodeURIComponent(resolvedSource)}`;
}

/** The hosts a mongodb:// URI names ("h1:27017", "h2"), or none for mongodb+srv (DNS names them). */
export function hostsOfUri(uri: string): string[] {
  const match = /^mongodb(\+srv)?:\/\/(?:[^@/?]*@)?([^/?]*)/.exec(uri);
  if (!match || match[1] !== undefined) return [];
  return (match[2] ?? '').split(',').filter((host) => host.length > 0);
}

interface UriParts {
  readonly srv: boolean;
  /** "user:pass@" as written (still percent-encoded), or "". */
  readonly userinfo: string;
  /** The default auth database, or "". */
  readonly path: string;
  readonly query: string;
}

function splitUri(uri: string): UriParts {
  const match = /^mongodb(\+srv)?:\/\/(?:([^@/?]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/.exec(uri);
  if (!match) throw new UsageError(`not a mongodb:// URI: ${redactUserinfo(uri)}`);
  return { srv: match[1] !== undefined, userinfo: match[2] === undefined ? '' : `${match[2]}@`, path: match[4] ?? '', query: match[5] ?? '' };
}

function redactUserinfo(uri: string): string {
  return uri.replace(/\/\/[^@/?]*@/, '//***@');
}

/**
 * From a mongos: the `listShards` reply (s/commands/cluster_list_shards_cmd.cpp: `shards`, one
 * config.shards document each, s/catalog/type_shard.h: `_id`, `host` "rs/h1:p,h2:p", `state`,
 * `draining`, `tags`), the `getShardMap` reply (s/commands/cluster_get_shard_map_cmd.cpp: `map`
 * of shard name and host → connection string, the config servers under "config"), the URI
 * the mongos was reached with (its credentials, TLS and auth options carry over to every
 * member), and the routers to record. A draining shard is kept: until removeShard completes it
 * still owns chunks, and its archive is part of the cluster's.
 */
export function topologyFromShardList(listShardsReply: unknown, shardMapReply: unknown, mongosUri: string, mongos: readonly string[] = [mongosUri]): ClusterTopology {
  const shardDocs = isPlainObject(listShardsReply) ? listShardsReply.shards : undefined;
  if (!Array.isArray(shardDocs)) throw sourceShape('listShards', 'has no shards array');
  const shards: MemberAddress[] = [];
  let configIsShard = false;
  shardDocs.forEach((doc: unknown, index) => {
    if (!isPlainObject(doc) || typeof doc._id !== 'string' || typeof doc.host !== 'string') {
      throw sourceShape('listShards', `shards[${index}] lacks _id or host`);
    }
    const connection = parseReplicaSetConnection(doc.host, `shard ${doc._id}`);
    if (doc._id === CONFIG_MEMBER) configIsShard = true;
    else shards.push({ name: doc._id, uri: memberUri(mongosUri, connection) });
  });
  if (shards.length === 0 && !configIsShard) throw sourceShape('listShards', 'lists no shard (addShard has not run yet)');
  const map = isPlainObject(shardMapReply) ? shardMapReply.map : undefined;
  const configString = isPlainObject(map) ? map[CONFIG_MEMBER] : undefined;
  if (typeof configString !== 'string') throw sourceShape('getShardMap', 'has no map.config');
  const config = parseReplicaSetConnection(configString, 'config servers');
  const topology = { config: { name: CONFIG_MEMBER, uri: memberUri(mongosUri, config) }, shards, mongos: [...mongos] };
  return configIsShard ? { ...topology, configIsShard } : topology;
}

function sourceShape(command: string, why: string): SourceError {
  return new SourceError(`the ${command} reply ${why}: is --uri a mongos?`, {
    hint: 'give --uri a mongos of the cluster, or describe the cluster with --topology file.json',
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { _bsontype?: unknown })._bsontype !== 'string';
}
