// Config metadata under --nsInclude/--nsExclude on a cluster restore: what is written agrees with
// the shard data restored. Documents in the config server's shapes:
// src/mongo/s/catalog/type_database.idl (config.databases: _id = db name, primary, version),
// type_collection.idl (config.collections: _id = namespace, uuid, key), type_chunk.cpp
// (config.chunks: `uuid` since 5.0, `ns` before; min, max, shard, lastmod, history),
// type_tags.cpp (config.tags: ns, min, max, tag).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MaxKey, MinKey, ObjectId, Timestamp, UUID, type Document } from 'mongodb';
import { ConfigMetadataRewriter, CONFIG_METADATA_COLLECTIONS } from '../../../src/cluster/config-metadata.ts';
import { configScope } from '../../../src/cluster/config-scope.ts';
import { compileNamespaceRules } from '../../../src/restore/namespace-rules.ts';

const map = new Map([['shard01', 'shard01'], ['shard02', 'shard02']]);
const ts = (t: number, i = 0) => new Timestamp({ t, i });
const version = () => ({ uuid: new UUID(), timestamp: ts(1764583000, 1), lastMod: 1 });
const ordersUuid = new UUID();
const usersUuid = new UUID();
const eventsUuid = new UUID();

const databases = [
  { _id: 'shop', primary: 'shard01', version: version() },
  { _id: 'crm', primary: 'shard02', version: version() },
  { _id: 'logs', primary: 'shard02', version: version() },
];
const collection = (ns: string, uuid: UUID) => ({ _id: ns, lastmodEpoch: new ObjectId(), lastmod: new Date(1764583000000), timestamp: ts(1764583001, 1), uuid, key: { k: 1 }, unique: false, noBalance: false });
const collections = [collection('shop.orders', ordersUuid), collection('crm.users', usersUuid), collection('logs.system.buckets.events', eventsUuid)];
const chunk = (uuid: UUID, shard: string, min: unknown, max: unknown) => ({ _id: new ObjectId(), uuid, min: { k: min }, max: { k: max }, shard, lastmod: ts(1, 0), onCurrentShardSince: ts(1764583001, 1), history: [{ validAfter: ts(1764583001, 1), shard }] });
const chunks = [
  chunk(ordersUuid, 'shard01', new MinKey(), 100), chunk(ordersUuid, 'shard02', 100, new MaxKey()),
  chunk(usersUuid, 'shard02', new MinKey(), new MaxKey()), chunk(eventsUuid, 'shard02', new MinKey(), new MaxKey()),
  // A 4.4 chunk keyed by ns (no uuid), of an excluded collection.
  { _id: 'crm.legacy-k_MinKey', ns: 'crm.legacy', min: { k: new MinKey() }, max: { k: new MaxKey() }, shard: 'shard02', lastmod: ts(1, 0) },
];
const tags = [
  { _id: new ObjectId(), ns: 'shop.orders', min: { k: 100 }, max: { k: new MaxKey() }, tag: 'EU' },
  { _id: new ObjectId(), ns: 'crm.users', min: { k: new MinKey() }, max: { k: new MaxKey() }, tag: 'US' },
];
const SOURCE: Record<string, Document[]> = { databases, collections, chunks, tags };

function written(include: string[], exclude: string[], restoredOnShards: string[]): Record<string, Document[]> {
  const rules = compileNamespaceRules({ include, exclude });
  const scope = configScope(rules, collections.map((doc) => doc._id), restoredOnShards);
  const rewriter = new ConfigMetadataRewriter(map, scope);
  const out: Record<string, Document[]> = {};
  for (const coll of CONFIG_METADATA_COLLECTIONS) out[coll] = (SOURCE[coll] ?? []).flatMap((doc) => rewriter.rewrite(coll, doc) ?? []);
  return out;
}

describe('config metadata under namespace rules', () => {
  it('--nsInclude shop.orders: only its routing (collection, both chunks, its zone) and its database', () => {
    const out = written(['shop.orders'], [], ['shop.orders']);
    assert.deepEqual(out.databases?.map((doc) => doc._id), ['shop']);
    assert.deepEqual(out.collections?.map((doc) => doc._id), ['shop.orders']);
    assert.equal(out.chunks?.length, 2);
    assert.ok(out.chunks?.every((doc) => doc.uuid === ordersUuid));
    assert.deepEqual(out.tags?.map((doc) => doc.ns), ['shop.orders']);
  });

  it('--nsExclude crm.*: no crm routing, no crm database entry, a 4.4 chunk keyed by ns left out too', () => {
    const out = written([], ['crm.*'], ['shop.orders', 'logs.system.buckets.events']);
    assert.deepEqual(out.databases?.map((doc) => doc._id), ['shop', 'logs']);
    assert.deepEqual(out.collections?.map((doc) => doc._id), ['shop.orders', 'logs.system.buckets.events']);
    assert.ok(out.chunks?.every((doc) => doc.uuid !== usersUuid && doc.ns === undefined));
    assert.deepEqual(out.tags?.map((doc) => doc.ns), ['shop.orders']);
  });

  it('a database whose only restored content is an unsharded collection keeps its entry; one with nothing restored gets none', () => {
    // crm.notes is unsharded (not in config.collections) and restored on crm's primary shard.
    const out = written(['crm.notes', 'shop.orders'], [], ['crm.notes', 'shop.orders']);
    assert.deepEqual(out.databases?.map((doc) => doc._id), ['shop', 'crm']);
    assert.deepEqual(out.collections?.map((doc) => doc._id), ['shop.orders']);
    const none = written(['crm.notes'], [], []);
    assert.deepEqual(none.databases, [], 'crm.notes absent from the source: no database entry');
  });

  it('a time-series collection is decided by its user-facing name, as its oplog entries are', () => {
    const out = written(['logs.events'], [], []);
    assert.deepEqual(out.collections?.map((doc) => doc._id), ['logs.system.buckets.events']);
    assert.deepEqual(out.databases?.map((doc) => doc._id), ['logs']);
    assert.ok(out.chunks?.every((doc) => doc.uuid === eventsUuid));
  });

  it('no rules: everything, as before', () => {
    const out = written([], [], []);
    assert.equal(out.databases?.length, 3);
    assert.equal(out.collections?.length, 3);
    assert.equal(out.chunks?.length, 5);
    assert.equal(out.tags?.length, 2);
  });
});
