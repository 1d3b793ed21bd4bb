// A collection dropped while a base lists the catalog: listCollections names it, and the drop
// lands before its listIndexes. A live source does this (the suite itself did, running files
// side by side). The server answers listIndexes with NamespaceNotFound (code 26;
// src/mongo/db/commands/list_indexes.cpp), and the drop is in the base's oplog after T0, so the
// catalog leaves the collection out instead of failing the base. The drop is injected, on the
// real server, at exactly that moment by wrapping the client's listIndexes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient, type Collection, type Db } from 'mongodb';
import { readCatalog } from '../../src/source/catalog.ts';
import { NO_MONGO, testMongoUri, uniqueName } from '../support/test-env.ts';

/** The client as readCatalog sees it, but `doomed`'s listIndexes first drops `doomed`. */
function droppingBeforeListIndexes(client: MongoClient, db: string, doomed: string): MongoClient {
  const wrapCollection = (collection: Collection): Collection =>
    new Proxy(collection, {
      get(target, property, receiver) {
        if (property !== 'listIndexes' || collection.collectionName !== doomed || collection.dbName !== db) return Reflect.get(target, property, receiver);
        return (options: object) => ({
          toArray: async () => {
            await client.db(db).collection(doomed).drop();
            return target.listIndexes(options).toArray();
          },
        });
      },
    });
  const wrapDb = (database: Db): Db =>
    new Proxy(database, {
      get(target, property, receiver) {
        if (property === 'collection') return (name: string) => wrapCollection(target.collection(name));
        return Reflect.get(target, property, receiver);
      },
    });
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'db') return (name: string) => wrapDb(target.db(name));
      return Reflect.get(target, property, receiver);
    },
  });
}

describe('catalog read while a collection is dropped', { skip: NO_MONGO }, () => {
  const client = new MongoClient(testMongoUri() ?? '');
  const db = uniqueName('catalograce');
  before(async () => {
    await client.connect();
    await client.db(db).collection<{ _id: number }>('kept').insertOne({ _id: 1 });
    await client.db(db).collection<{ _id: number }>('doomed').insertOne({ _id: 1 });
    await client.db(db).collection('doomed').createIndex({ a: 1 });
  });
  after(async () => {
    await client.db(db).dropDatabase();
    await client.close();
  });

  test('leaves the dropped collection out and keeps the others, with their indexes', async () => {
    const entries = (await readCatalog(droppingBeforeListIndexes(client, db, 'doomed'))).filter((entry) => entry.db === db);
    assert.deepEqual(entries.map((entry) => entry.coll), ['kept']);
    assert.deepEqual(entries[0]?.indexes.map((index) => index.name), ['_id_']);
    assert.equal(await client.db(db).listCollections({ name: 'doomed' }).hasNext(), false, 'the drop happened');
  });
});
