// Topology of a sharded cluster from a mongos's replies, or from --topology.
// Reply shapes: s/commands/cluster_list_shards_cmd.cpp (listShards returns config.shards
// documents, s/catalog/type_shard.h: _id, host "setName/host:port,…", state, draining, tags,
// topologyTime) and s/commands/cluster_get_shard_map_cmd.cpp (getShardMap: `map` of shard name
// and host → connection string, the config servers under "config", db/sharding_environment/
// shard_id.cpp ShardId::kConfigServerId).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Timestamp } from 'mongodb';
import { memberUri, parseReplicaSetConnection, parseTopology, topologyFromShardList, withResolvedAuthSource } from '../../../src/cluster/topology.ts';
import { SourceError, UsageError } from '../../../src/errors.ts';

const listShards = {
  shards: [
    { _id: 'shard01', host: 'shard01/sh1a.example.net:27018,sh1b.example.net:27018', state: 1, topologyTime: new Timestamp({ t: 1764583200, i: 3 }) },
    { _id: 'shard02', host: 'shard02/sh2a.example.net:27018', state: 1, draining: true, tags: ['EU'], topologyTime: new Timestamp({ t: 1764583201, i: 1 }) },
  ],
  ok: 1,
};
const shardMap = {
  map: {
    config: 'configRS/cfg1.example.net:27019,cfg2.example.net:27019',
    shard01: 'shard01/sh1a.example.net:27018,sh1b.example.net:27018',
    'sh1a.example.net:27018': 'shard01/sh1a.example.net:27018,sh1b.example.net:27018',
    shard02: 'shard02/sh2a.example.net:27018',
  },
  ok: 1,
};

describe('topologyFromShardList', () => {
  it('names every shard by _id and the config servers "config", each with a replica-set URI keeping the mongos credentials and options', () => {
    const mongos = 'mongodb://backup:p%40ss@router1:27017,router2:27017/admin?authSource=admin&tls=true&tlsCAFile=%2Fetc%2Fca.pem&loadBalanced=false';
    const topology = topologyFromShardList(listShards, shardMap, mongos);
    assert.deepEqual(topology.config, {
      name: 'config',
      uri: 'mongodb://backup:p%40ss@cfg1.example.net:27019,cfg2.example.net:27019/admin?authSource=admin&tls=true&tlsCAFile=%2Fetc%2Fca.pem&replicaSet=configRS',
    });
    assert.deepEqual(topology.shards, [
      { name: 'shard01', uri: 'mongodb://backup:p%40ss@sh1a.example.net:27018,sh1b.example.net:27018/admin?authSource=admin&tls=true&tlsCAFile=%2Fetc%2Fca.pem&replicaSet=shard01' },
      // A draining shard still owns chunks until removeShard completes: it stays a member.
      { name: 'shard02', uri: 'mongodb://backup:p%40ss@sh2a.example.net:27018/admin?authSource=admin&tls=true&tlsCAFile=%2Fetc%2Fca.pem&replicaSet=shard02' },
    ]);
    assert.deepEqual(topology.mongos, [mongos]);
    assert.equal(topology.configIsShard, undefined);
  });

  it('lists the config server as a shard only once when it is one (8.0+ config shard)', () => {
    const withConfigShard = { shards: [{ _id: 'config', host: 'configRS/cfg1.example.net:27019', state: 1 }, listShards.shards[0]], ok: 1 };
    const topology = topologyFromShardList(withConfigShard, shardMap, 'mongodb://router1/');
    assert.equal(topology.configIsShard, true);
    assert.deepEqual(topology.shards.map((shard) => shard.name), ['shard01']);
  });

  it('turns a mongodb+srv URI into explicit hosts, keeping its default TLS', () => {
    const topology = topologyFromShardList(listShards, shardMap, 'mongodb+srv://u:p@cluster0.example.net/?retryWrites=true');
    assert.equal(topology.shards[1]?.uri, 'mongodb://u:p@sh2a.example.net:27018/?retryWrites=true&tls=true&replicaSet=shard02');
  });

  it('refuses replies that are not a mongos\'s', () => {
    assert.throws(() => topologyFromShardList({ ok: 1 }, shardMap, 'mongodb://r/'), SourceError);
    assert.throws(() => topologyFromShardList(listShards, { map: {} }, 'mongodb://r/'), /map\.config/);
    assert.throws(() => topologyFromShardList({ shards: [] }, shardMap, 'mongodb://r/'), /no shard/);
  });

  it('refuses a standalone shard (no set name): its oplog cannot be read', () => {
    const standalone = { shards: [{ _id: 'old', host: 'old.example.net:27018' }] };
    assert.throws(() => topologyFromShardList(standalone, shardMap, 'mongodb://r/'), (error: unknown) => error instanceof UsageError && /shard old/.test(error.message));
  });
});

describe('memberUri and parseReplicaSetConnection', () => {
  it('drops router-only options and an existing replicaSet', () => {
    const uri = memberUri('mongodb://r1/?replicaSet=wrong&directConnection=true&appName=pitr', parseReplicaSetConnection('rs/h:1', 'x'));
    assert.equal(uri, 'mongodb://h:1/?appName=pitr&replicaSet=rs');
  });
  // Atlas-style: the SRV TXT record says authSource=admin, the URI names the app's database.
  // The driver merges the TXT authSource into its credentials (mongodb/lib/connection_string.js);
  // a mongodb:// member URI has no TXT record, so without it the member would authenticate
  // against "shop".
  it('keeps the authSource an SRV TXT record gave when a mongodb+srv URI becomes member URIs', () => {
    const srv = 'mongodb+srv://u:p@cluster0.example.net/shop?retryWrites=true';
    const base = withResolvedAuthSource(srv, 'admin');
    assert.equal(base, 'mongodb+srv://u:p@cluster0.example.net/shop?retryWrites=true&authSource=admin');
    const listShards = { shards: [{ _id: 'sh0', host: 'sh0/a:27018' }] };
    const topology = topologyFromShardList(listShards, { map: { config: 'cfg/c:27019' } }, base, [srv]);
    assert.equal(topology.shards[0]?.uri, 'mongodb://u:p@a:27018/shop?retryWrites=true&authSource=admin&tls=true&replicaSet=sh0');
    assert.deepEqual(topology.mongos, [srv]);
    assert.equal(withResolvedAuthSource('mongodb+srv://c.example.net', 'admin'), 'mongodb+srv://c.example.net/?authSource=admin');
    // Given in the URI, or not SRV, or no credentials: unchanged.
    assert.equal(withResolvedAuthSource('mongodb+srv://c.example.net/?authSource=x', 'admin'), 'mongodb+srv://c.example.net/?authSource=x');
    assert.equal(withResolvedAuthSource('mongodb://h/shop', 'admin'), 'mongodb://h/shop');
    assert.equal(withResolvedAuthSource('mongodb+srv://c.example.net/', undefined), 'mongodb+srv://c.example.net/');
  });
  it('splits "set/h1,h2"', () => {
    assert.deepEqual(parseReplicaSetConnection('rs0/a:1,b:2', 'x'), { setName: 'rs0', hosts: ['a:1', 'b:2'] });
    assert.throws(() => parseReplicaSetConnection('rs0/', 'x'), UsageError);
  });
});

describe('parseTopology', () => {
  const good = { config: 'mongodb://cfg:27019/?replicaSet=cfg', shards: { s1: 'mongodb://a:27018/?replicaSet=s1', s2: 'mongodb://b:27018/?replicaSet=s2' }, mongos: ['mongodb://r:27017/'] };
  it('reads config, shards in file order, and mongos', () => {
    assert.deepEqual(parseTopology(good, 'cluster.json'), {
      config: { name: 'config', uri: good.config },
      shards: [{ name: 's1', uri: good.shards.s1 }, { name: 's2', uri: good.shards.s2 }],
      mongos: ['mongodb://r:27017/'],
    });
    assert.deepEqual(parseTopology({ config: good.config, shards: good.shards }, 'f').mongos, []);
  });

  const cases: [string, unknown, RegExp][] = [
    ['not an object', [], /not a JSON object/],
    ['unknown key', { ...good, shard: {} }, /"shard" is not a topology key/],
    ['no config', { shards: good.shards }, /"config" is missing/],
    ['config not a URI', { ...good, config: 'cfg:27019' }, /"config" must be a mongodb/],
    ['shards not an object', { ...good, shards: ['mongodb://a/'] }, /"shards" must be an object/],
    ['no shards', { ...good, shards: {} }, /"shards" names no shard/],
    ['bad shard URI', { ...good, shards: { s1: 42 } }, /"shards\.s1" must be a mongodb/],
    ['shard named config', { ...good, shards: { config: 'mongodb://a/' } }, /"shards\.config"/],
    ['shard name with /', { ...good, shards: { 'a/b': 'mongodb://a/' } }, /"shards\.a\/b"/],
    ['mongos not an array', { ...good, mongos: 'mongodb://r/' }, /"mongos" must be an array/],
    ['bad mongos', { ...good, mongos: ['r:27017'] }, /"mongos\[0\]" must be a mongodb/],
  ];
  for (const [name, json, message] of cases) {
    it(`refuses ${name} with a UsageError naming the key`, () => {
      assert.throws(() => parseTopology(json, 'cluster.json'), (error: unknown) => error instanceof UsageError && message.test(error.message) && error.message.startsWith('cluster.json'));
    });
  }
});
