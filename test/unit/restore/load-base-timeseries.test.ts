// A time-series collection's base holds its raw buckets (archive/timeseries-layout.ts): restore
// creates the time-series collection with its options, then inserts the buckets unchanged into
// its system.buckets collection, as mongorestore does (mongo-tools mongorestore/restore.go), so
// bucket _ids match the oplog's bucket updates. Real buckets from
// ../shared/fixtures/mongo-tools/timeseries/ts_dump; the target is a recording fake (FerretDB
// has no time-series collections: this path runs for real only against a mongod).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BSON } from 'mongodb';
import type { Document, MongoClient } from 'mongodb';
import type { Base, CollectionEntry } from '../../../src/archive/manifest.ts';
import { collectionDataKey, collectionMetadataKey } from '../../../src/archive/object-keys.ts';
import { bucketsDataKey, holdsBuckets } from '../../../src/archive/timeseries-layout.ts';
import { dumpedData } from '../../../src/backup/take-base.ts';
import { SourceError } from '../../../src/errors.ts';
import { loadBase } from '../../../src/restore/load-base.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const DUMP = join(SHARED_DIR, 'fixtures/mongo-tools/timeseries/ts_dump/timeseries_test');

function recordingClient() {
  const commands: Array<{ db: string; command: Document }> = [];
  const inserted = new Map<string, Buffer[]>();
  const client = {
    db: (db: string) => ({
      command: async (command: Document) => {
        commands.push({ db, command });
        return { ok: 1 };
      },
      collection: (coll: string) => ({
        drop: async () => true,
        insertMany: async (docs: Document[]) => {
          const list = inserted.get(`${db}.${coll}`) ?? [];
          for (const doc of docs) list.push(Buffer.from(BSON.serialize(doc)));
          inserted.set(`${db}.${coll}`, list);
          return { insertedCount: docs.length };
        },
      }),
    }),
  };
  return { client: client as unknown as MongoClient, commands, inserted };
}

describe('loadBase: time-series collections', () => {
  let dir: string;
  const files = new Map<string, string>();
  let entry: CollectionEntry;
  let raws: Buffer[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'load-base-ts-'));
    const bucketsFile = await readFile(join(DUMP, 'system.buckets.foo_ts.bson'));
    raws = [];
    for (let at = 0; at < bucketsFile.length; at += bucketsFile.readInt32LE(at)) raws.push(bucketsFile.subarray(at, at + bucketsFile.readInt32LE(at)));
    const dataKey = bucketsDataKey('b1', 'timeseries_test', 'foo_ts');
    const metadataKey = collectionMetadataKey('b1', 'timeseries_test', 'foo_ts');
    files.set(dataKey, join(dir, 'data.bson.gz'));
    files.set(metadataKey, join(dir, 'metadata.json.gz'));
    await writeFile(join(dir, 'data.bson.gz'), gzipSync(bucketsFile));
    await writeFile(join(dir, 'metadata.json.gz'), gzipSync(await readFile(join(DUMP, 'foo_ts.metadata.json'))));
    const object = (key: string) => ({ key, rawBytes: 0, storedBytes: 0, sha256: '' });
    entry = { db: 'timeseries_test', coll: 'foo_ts', type: 'timeseries', docs: raws.length, data: object(dataKey), metadata: object(metadataKey) };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the base layout is mongodump\'s: <db>/system.buckets.<coll>.bson beside <db>/<coll>.metadata.json', () => {
    assert.match(bucketsDataKey('b1', 'timeseries_test', 'foo_ts'), /\/timeseries_test\/system\.buckets\.foo_ts\.bson\.gz$/);
    assert.ok(holdsBuckets(entry));
    // An older base dumped measurements through the view, under <coll>.bson: not buckets.
    const measurements = { key: collectionDataKey('b1', 'timeseries_test', 'foo_ts'), rawBytes: 0, storedBytes: 0, sha256: '' };
    assert.ok(!holdsBuckets({ ...entry, data: measurements }));
  });

  it('backup dumps a time-series collection from system.buckets.<coll>, stored where restore looks for buckets', () => {
    const timeseries = dumpedData('b1', { db: 'timeseries_test', coll: 'foo_ts', type: 'timeseries' });
    assert.deepEqual(timeseries, { coll: 'system.buckets.foo_ts', key: bucketsDataKey('b1', 'timeseries_test', 'foo_ts') });
    assert.ok(holdsBuckets({ ...entry, data: { key: timeseries.key, rawBytes: 0, storedBytes: 0, sha256: '' } }));
    // MongoDB 8.3+ "viewless" time-series list no system.buckets.<coll>: refused, not dumped empty.
    assert.throws(() => dumpedData('b1', { db: 'm', coll: 'ts', type: 'timeseries', bucketsListed: false }), SourceError);
    const plain = dumpedData('b1', { db: 'shop', coll: 'orders', type: 'collection' });
    assert.deepEqual(plain, { coll: 'orders', key: collectionDataKey('b1', 'shop', 'orders') });
  });

  it('creates the time-series collection with its options and inserts the buckets, byte for byte, into system.buckets', async () => {
    const fake = recordingClient();
    const base = { collections: [entry] } as unknown as Base;
    const result = await loadBase({ client: fake.client, base, files, namespaces: compileNamespaceMapper({}), drop: false });
    assert.equal(result.documents, 10);
    const create = fake.commands.find((c) => 'create' in c.command);
    assert.equal(create?.command.create, 'foo_ts');
    assert.deepEqual(BSON.EJSON.serialize(create?.command.timeseries), {
      timeField: 'ts', metaField: 'meta', granularity: 'seconds', bucketMaxSpanSeconds: 3600,
    });
    assert.deepEqual([...fake.inserted.keys()], ['timeseries_test.system.buckets.foo_ts']);
    const sent = fake.inserted.get('timeseries_test.system.buckets.foo_ts') ?? [];
    assert.equal(sent.length, raws.length);
    sent.forEach((bytes, index) => assert.ok(bytes.equals(raws[index] ?? Buffer.alloc(0)), `bucket ${index} changed`));
    // Indexes wait for the end of replay (build-indexes.ts): returned for the time-series
    // collection itself, which the server maps onto its buckets, and none built by the load.
    assert.equal(fake.commands.find((c) => 'createIndexes' in c.command), undefined);
    assert.deepEqual(result.indexes.map((collection) => collection.ns), ['timeseries_test.foo_ts']);
  });

  it('renames follow the collection: --nsFrom/--nsTo moves the buckets with it', async () => {
    const fake = recordingClient();
    const base = { collections: [entry] } as unknown as Base;
    const namespaces = compileNamespaceMapper({ from: ['timeseries_test.foo_ts'], to: ['other.metrics'] });
    await loadBase({ client: fake.client, base, files, namespaces, drop: false });
    assert.deepEqual([...fake.inserted.keys()], ['other.system.buckets.metrics']);
  });
});
