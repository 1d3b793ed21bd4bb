// Views changed after T0, against a MongoDB target: mongod logs them only as writes to
// <db>.system.views, which replay turns into view commands (src/restore/view-entries.ts; the
// unit test/unit/restore/view-entries.test.ts checks the commands for the server's shapes).
// FerretDB 1.x has no views (create with viewOn: NotImplemented), so this runs only when the
// run is given a mongod.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient, type Document } from 'mongodb';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { restore } from '../../src/restore/restore.ts';
import { connectSource, type Source } from '../../src/source/connect-source.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { isFerretDB, NO_MONGO, testMongoUri, uniqueName } from '../support/test-env.ts';

const NO_VIEWS = isFerretDB() ? 'FerretDB has no views: needs a mongod (TEST_MONGODB_URI or MONGOMS_SYSTEM_BINARY)' : false;

async function views(client: MongoClient, db: string): Promise<Document[]> {
  const list = await client.db(db).listCollections({ type: 'view' }, { nameOnly: false }).toArray() as Document[];
  return list
    .map((info) => ({ name: info.name, viewOn: info.options?.viewOn, pipeline: info.options?.pipeline, collation: info.options?.collation?.locale }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

describe('views created, modified and dropped after T0', { skip: NO_MONGO || NO_VIEWS }, () => {
  const uri = testMongoUri() ?? '';
  const client = new MongoClient(uri);
  let source: Source;
  before(async () => {
    await client.connect();
    source = await connectSource(uri);
  });
  after(async () => {
    await source?.client.close();
    await client.close();
  });

  test('come back as they were, under a renamed database, and again over themselves', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store } = await kind.open();
    const db = uniqueName('views');
    const shop = client.db(db);
    try {
      await shop.collection('orders').insertMany([{ total: 5, city: 'Lyon' }, { total: 500, city: 'Oslo' }]);
      await shop.command({ create: 'big', viewOn: 'orders', pipeline: [{ $match: { total: { $gt: 100 } } }] });
      await shop.command({ create: 'doomed', viewOn: 'orders', pipeline: [] });
      await backupBase({ source, store });
      await shop.command({ collMod: 'big', viewOn: 'orders', pipeline: [{ $match: { total: { $gt: 400 } } }] });
      await shop.command({ create: 'by_city', viewOn: 'orders', pipeline: [{ $sortByCount: '$city' }], collation: { locale: 'fr' } });
      await shop.command({ drop: 'doomed' });
      await backupOplog({ source, store });
      const expected = await views(client, db);

      const target = uniqueName('views_restored');
      const namespaces = { include: [`${db}.*`], from: [`${db}.*`], to: [`${target}.*`] };
      const result = await restore({ store, targetUri: uri, namespaces });
      assert.deepEqual(await views(client, target), expected);
      assert.ok((result.receipt?.appliedByNs[`${target}.$cmd`] ?? 0) >= 5, 'the view commands were applied');
      await restore({ store, targetUri: uri, namespaces });
      assert.deepEqual(await views(client, target), expected, 'replayed twice');
      assert.equal(await client.db(target).collection('big').countDocuments(), 1);
    } finally {
      await store.close();
    }
  });
});
