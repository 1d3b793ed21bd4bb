// --nsFrom/--nsTo on a cluster restore: whole databases, one to one, and the routing metadata
// renamed in the config server's shapes: config.databases `_id` (src/mongo/s/catalog/
// type_database.idl), config.collections `_id` = namespace (type_collection.idl), config.chunks
// `ns` and `<ns>-<min>` `_id` before 5.0 (`uuid` since, type_chunk.cpp), config.tags `ns` and
// `{ns, min}` `_id` (type_tags.cpp).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MaxKey, MinKey, ObjectId, Timestamp, UUID, type Document } from 'mongodb';
import { checkRenameTargets, databaseRenames } from '../../../src/cluster/database-renames.ts';
import { ConfigMetadataRewriter, CONFIG_METADATA_COLLECTIONS } from '../../../src/cluster/config-metadata.ts';
import { UsageError } from '../../../src/errors.ts';

const ts = (t: number, i = 0) => new Timestamp({ t, i });
const map = new Map([['shard01', 'shard01'], ['shard02', 'shard02']]);

describe('database renames on a cluster restore', () => {
  it('takes db.* → otherdb.* pairs and names both ways', () => {
    const renames = databaseRenames(['shop.*', 'crm.*'], ['shop_copy.*', 'crm2.*']);
    assert.equal(renames.ns('shop.orders'), 'shop_copy.orders');
    assert.equal(renames.ns('shop.system.buckets.ev'), 'shop_copy.system.buckets.ev');
    assert.equal(renames.ns('logs.x'), 'logs.x');
    assert.equal(renames.sourceNs('crm2.users'), 'crm.users');
    assert.equal(renames.db('shop'), 'shop_copy');
  });

  it('refuses anything but whole databases, one to one, in one line', () => {
    const refused = (from: string[], to: string[], pattern: RegExp) =>
      assert.throws(() => databaseRenames(from, to), (error: unknown) => error instanceof UsageError && pattern.test(error.message) && !error.message.includes('\n'));
    refused(['shop.orders'], ['shop.orders2'], /renames whole databases only/);
    refused(['shop.*'], ['archive.shop_*'], /renames whole databases only/);
    refused(['*.orders'], ['x.*'], /renames whole databases only/);
    refused(['a.*', 'b.*'], ['c.*', 'c.*'], /two databases renamed onto c/);
    refused(['a.*', 'a.*'], ['c.*', 'd.*'], /renamed twice/);
    refused(['a.*'], [], /in pairs/);
    refused(['config.*'], ['cfg.*'], /cluster's own/);
    refused(['a.*'], ['admin.*'], /cluster's own/);
  });

  it('refuses a rename onto a database the backup has under its own name, unless that one is renamed too', () => {
    assert.throws(() => checkRenameTargets(databaseRenames(['shop.*'], ['crm.*']), ['shop', 'crm']), /has a database crm of its own/);
    assert.doesNotThrow(() => checkRenameTargets(databaseRenames(['shop.*', 'crm.*'], ['crm.*', 'crm_old.*']), ['shop', 'crm']));
    assert.doesNotThrow(() => checkRenameTargets(databaseRenames(['shop.*'], ['shop_copy.*']), ['shop', 'crm']));
  });

  it('renames the routing metadata: database (new version uuid), collection, pre-5.0 chunk ns and _id, zone ns and {ns, min} _id', () => {
    const uuid = new UUID();
    const dbVersion = { uuid: new UUID(), timestamp: ts(1764583000, 1), lastMod: 1 };
    const source: Record<string, Document[]> = {
      databases: [{ _id: 'shop', primary: 'shard02', version: dbVersion }, { _id: 'crm', primary: 'shard01', version: { uuid: new UUID(), timestamp: ts(1764583000, 2), lastMod: 1 } }],
      collections: [{ _id: 'shop.orders', lastmodEpoch: new ObjectId(), lastmod: new Date(0), timestamp: ts(1764583001, 1), uuid, key: { k: 1 }, unique: false }],
      chunks: [
        { _id: new ObjectId(), uuid, min: { k: new MinKey() }, max: { k: 0 }, shard: 'shard01', lastmod: ts(1, 0), history: [{ validAfter: ts(1764583001, 1), shard: 'shard01' }] },
        { _id: 'shop.legacy-k_MinKey', ns: 'shop.legacy', min: { k: new MinKey() }, max: { k: new MaxKey() }, shard: 'shard02', lastmod: ts(1, 0) },
      ],
      tags: [{ _id: { ns: 'shop.orders', min: { k: 0 } }, ns: 'shop.orders', min: { k: 0 }, max: { k: new MaxKey() }, tag: 'EU' }],
    };
    const rewriter = new ConfigMetadataRewriter(map, undefined, databaseRenames(['shop.*'], ['shop_copy.*']));
    const out: Record<string, Document[]> = {};
    for (const coll of CONFIG_METADATA_COLLECTIONS) out[coll] = (source[coll] ?? []).flatMap((doc) => rewriter.rewrite(coll, doc) ?? []);
    const [shop, crm] = out.databases ?? [];
    assert.equal(shop?._id, 'shop_copy');
    assert.equal(shop?.primary, 'shard02');
    assert.notDeepEqual(shop?.version.uuid, dbVersion.uuid, 'a renamed database is a new incarnation');
    assert.deepEqual(shop?.version.timestamp, dbVersion.timestamp);
    assert.equal(crm?._id, 'crm', 'a database not renamed keeps its name and version');
    assert.deepEqual(out.collections?.map((doc) => doc._id), ['shop_copy.orders']);
    assert.deepEqual(out.chunks?.[0]?.uuid, uuid, 'a 5.0+ chunk names its collection by uuid: unchanged');
    assert.equal(out.chunks?.[1]?._id, 'shop_copy.legacy-k_MinKey');
    assert.equal(out.chunks?.[1]?.ns, 'shop_copy.legacy');
    assert.deepEqual(out.tags?.[0]?._id, { ns: 'shop_copy.orders', min: { k: 0 } });
    assert.equal(out.tags?.[0]?.ns, 'shop_copy.orders');
  });
});
