// Config metadata for a cluster restore, in the config server's document shapes:
// s/catalog/type_database.idl (config.databases: _id, primary, partitioned, version),
// s/catalog/type_collection.idl (config.collections), s/catalog/type_chunk.h / type_chunk_base.idl
// (config.chunks: uuid, min, max, shard, lastmod, history[{validAfter, shard}],
// onCurrentShardSince), s/catalog/type_tags.h (config.tags: ns, min, max, tag),
// s/catalog/type_shard.h (config.shards: _id, host, state, tags).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Long, MaxKey, MinKey, ObjectId, Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import {
  ConfigMetadataRewriter,
  configRestoreSteps,
  rewriteChunk,
  rewriteConfigDocuments,
  rewriteDatabase,
  zoneAssignments,
} from '../../../src/cluster/config-metadata.ts';
import { IntegrityError } from '../../../src/errors.ts';

const map = new Map([['shard01', 'rsA'], ['shard02', 'rsB']]);
const ordersUuid = new UUID('5b4e5c6a-1f0e-4e8a-9a4b-0c1d2e3f4a5b');
const sessionsUuid = new UUID('9a9a9a9a-1f0e-4e8a-9a4b-0c1d2e3f4a5b');
const ts = (t: number, i = 0) => new Timestamp({ t, i });

const shopDb = { _id: 'shop', primary: 'shard01', partitioned: false, version: { uuid: new UUID(), timestamp: ts(1764583000, 1), lastMod: 1 } };
const ordersColl = {
  _id: 'shop.orders', lastmodEpoch: new ObjectId(), lastmod: new Date(1764583000000), timestamp: ts(1764583001, 4), uuid: ordersUuid,
  key: { customer: 1 }, unique: false, noBalance: false,
};
const sessionsColl = { _id: 'config.system.sessions', lastmodEpoch: new ObjectId(), lastmod: new Date(0), timestamp: ts(1764580000, 1), uuid: sessionsUuid, key: { _id: 1 }, unique: false };
const migratedChunk = {
  _id: new ObjectId(), uuid: ordersUuid, min: { customer: 100 }, max: { customer: new MaxKey() }, shard: 'shard02',
  lastmod: ts(2, 0), onCurrentShardSince: ts(1764583100, 3),
  history: [{ validAfter: ts(1764583100, 3), shard: 'shard02' }, { validAfter: ts(1764583001, 4), shard: 'shard01' }],
};
const firstChunk = { _id: new ObjectId(), uuid: ordersUuid, min: { customer: new MinKey() }, max: { customer: 100 }, shard: 'shard01', lastmod: ts(2, 1), onCurrentShardSince: ts(1764583001, 4), history: [{ validAfter: ts(1764583001, 4), shard: 'shard01' }] };
const sessionsChunk = { _id: new ObjectId(), uuid: sessionsUuid, min: { _id: new MinKey() }, max: { _id: new MaxKey() }, shard: 'shard01', lastmod: ts(1, 0), history: [{ validAfter: ts(1764580000, 1), shard: 'shard01' }] };
const euZone = { _id: new ObjectId(), ns: 'shop.orders', min: { customer: 100 }, max: { customer: new MaxKey() }, tag: 'EU' };

describe('config metadata rewrite', () => {
  it('maps database.primary, chunk.shard and every history[].shard; keeps everything else', () => {
    assert.deepEqual(rewriteDatabase(shopDb, map), { ...shopDb, primary: 'rsA' });
    const chunk = rewriteChunk(migratedChunk, map);
    assert.equal(chunk.shard, 'rsB');
    assert.deepEqual(chunk.history.map((entry: Document) => entry.shard), ['rsB', 'rsA']);
    assert.deepEqual(chunk.history.map((entry: Document) => entry.validAfter), migratedChunk.history.map((entry) => entry.validAfter));
    assert.deepEqual({ ...chunk, shard: undefined, history: undefined }, { ...migratedChunk, shard: undefined, history: undefined });
  });

  it('drops history entries of a shard no longer in the map, refuses an owner outside it', () => {
    const chunk = rewriteChunk({ ...firstChunk, history: [...firstChunk.history, { validAfter: ts(1764582000), shard: 'shard09' }] }, map);
    assert.deepEqual(chunk.history.map((entry: Document) => entry.shard), ['rsA']);
    assert.throws(() => rewriteChunk({ ...firstChunk, shard: 'shard09' }, map), (error: unknown) => error instanceof IntegrityError && /shard shard09/.test(error.message));
    assert.throws(() => rewriteDatabase({ ...shopDb, primary: 'shard09' }, map), IntegrityError);
  });

  it('writes user metadata only: not the config/admin databases, config.system.sessions, its chunks, or pre-5.0 dropped collections', async () => {
    const rewriter = new ConfigMetadataRewriter(map);
    const out = async (collection: 'databases' | 'collections' | 'chunks' | 'tags', docs: Document[]) => {
      const written: Document[] = [];
      for await (const doc of rewriteConfigDocuments(collection, docs, rewriter)) written.push(doc);
      return written;
    };
    assert.deepEqual((await out('databases', [{ _id: 'config', primary: 'config', partitioned: true }, shopDb])).map((d) => d._id), ['shop']);
    const dropped = { _id: 'shop.old', dropped: true, uuid: new UUID(), lastmodEpoch: new ObjectId() };
    assert.deepEqual((await out('collections', [sessionsColl, ordersColl, dropped])).map((d) => d._id), ['shop.orders']);
    const chunks = await out('chunks', [sessionsChunk, firstChunk, migratedChunk, { ...firstChunk, uuid: dropped.uuid }]);
    assert.deepEqual(chunks.map((d) => d.shard), ['rsA', 'rsB']);
    // Pre-5.0 chunks name their namespace instead.
    assert.deepEqual(await out('chunks', [{ _id: 'config.system.sessions-_id_MinKey', ns: 'config.system.sessions', min: {}, max: {}, shard: 'shard01', lastmod: Long.fromNumber(1) }]), []);
    assert.deepEqual(await out('tags', [euZone, { ...euZone, ns: 'config.system.sessions' }]), [euZone]);
  });

  it('refuses chunks before collections: the cluster\'s own chunks could not be told apart', () => {
    assert.throws(() => new ConfigMetadataRewriter(map).rewrite('chunks', firstChunk), /before config\.collections/);
  });

  it('carries the source shards\' zones onto their target shards (the target\'s config.shards is not overwritten)', () => {
    const shards = [
      { _id: 'shard01', host: 'shard01/h1:27018', state: 1, tags: ['EU', 'hot'] },
      { _id: 'shard02', host: 'shard02/h2:27018', state: 1 },
    ];
    assert.deepEqual(zoneAssignments(shards, map), [{ shard: 'rsA', zone: 'EU' }, { shard: 'rsA', zone: 'hot' }]);
  });

  it('lists the steps a real restore takes around the documents', () => {
    const steps = configRestoreSteps().join('\n');
    for (const word of ['balancer', 'config.shards', 'addShardToZone', 'UUID', 'orphans', 'flushRouterConfig', '_flushRoutingTableCacheUpdates']) assert.ok(steps.includes(word), word);
  });
});
