// The Lambda's cluster settings from its environment (src/lambda/cluster-source.ts, handler.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settingsFromEnv } from '../../../src/lambda/handler.ts';
import { clusterTopologyOf, topologySettingOf } from '../../../src/lambda/cluster-source.ts';
import { UsageError } from '../../../src/errors.ts';

const TOPOLOGY = JSON.stringify({ config: 'mongodb://cfg1:27019/?replicaSet=cfg', shards: { s1: 'mongodb://a:27018/?replicaSet=s1' } });

test('MONGO_PITR_TOPOLOGY stands in for MONGODB_URI; inline JSON or a file path', () => {
  const settings = settingsFromEnv({ MONGO_PITR_STORE: 's3://b/p/', MONGO_PITR_TOPOLOGY: TOPOLOGY, MONGO_PITR_ALLOW_BALANCER: 'true' });
  assert.equal(settings.uri, undefined);
  assert.deepEqual(settings.topology, { json: TOPOLOGY });
  assert.equal(settings.allowBalancer, true);
  assert.deepEqual(topologySettingOf(' /var/task/topology.json '), { file: '/var/task/topology.json' });
  assert.equal(topologySettingOf(''), undefined);
  assert.throws(() => settingsFromEnv({ MONGO_PITR_STORE: 's3://b/p/' }), UsageError, 'neither a URI nor a topology');
});

test('an inline topology is parsed with the --topology rules; a bad one is a UsageError naming the variable', async () => {
  const topology = await clusterTopologyOf({ json: TOPOLOGY }, undefined);
  assert.deepEqual(topology?.shards.map((shard) => shard.name), ['s1']);
  await assert.rejects(clusterTopologyOf({ json: '{"config": 1' }, undefined), (error) => error instanceof UsageError && /MONGO_PITR_TOPOLOGY is not JSON/.test(error.message));
  // A replica-set URI is never probed for a mongos.
  assert.equal(await clusterTopologyOf(undefined, 'mongodb://127.0.0.1:1/?replicaSet=rs0'), undefined);
});
