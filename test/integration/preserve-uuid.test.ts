// restore --preserve-uuid on a real mongod: each collection is created through applyOps with the
// `ui` of its source (target/create-with-uuid.ts; mongodb/mongo src/mongo/db/repl/oplog.cpp hands
// a create op's `ui` to createCollectionForApplyOps in src/mongo/db/catalog/create_collection.cpp;
// jstests/replsets/apply_ops_create_with_uuid.js checks listCollections' info.uuid the same way).
// Runs where the server has applyOps: TEST_MONGODB_KIND 'mongod' or 'given'. FerretDB has no
// applyOps and ignores a create's uuid; there the refusal is what is tested
// (test/e2e/cluster-uuids.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Binary, Long, type Document, type MongoClient } from 'mongodb';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { restore } from '../../src/restore/restore.ts';
import { UsageError } from '../../src/errors.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { STORE_KINDS, type StoreKind } from '../support/stores.ts';
import { NO_MONGO, isFerretDB, uniqueName } from '../support/test-env.ts';

const FOLDER = STORE_KINDS[0];
const NO_APPLYOPS = isFerretDB() && "needs applyOps: runs when TEST_MONGODB_KIND is 'mongod' or 'given' (FerretDB has no applyOps and ignores a create's uuid)";

async function uuidOf(client: MongoClient, db: string, coll: string): Promise<string | undefined> {
  const [info] = (await client.db(db).listCollections({ name: coll }).toArray()) as Document[];
  const uuid: unknown = info?.info?.uuid;
  return uuid instanceof Binary ? Buffer.from(uuid.buffer).toString('hex') : undefined;
}

describe('restore --preserve-uuid on a server with applyOps', { skip: NO_MONGO || NO_APPLYOPS || !FOLDER }, () => {
  const suite = useBackupSuite();

  test('collections (plain and capped) keep their source UUIDs and documents; a view is created plainly; without it the UUIDs are new', async () => {
    const { client, source, mongo } = suite;
    const { store } = await (FOLDER as StoreKind).open();
    const db = uniqueName('uuid');
    try {
      await client.db(db).collection('plain').insertMany([{ _id: 1, v: 'a' }, { _id: 2, v: 'b' }] as Document[]);
      await client.db(db).createCollection('capped', { capped: true, size: 4096, max: 10 });
      await client.db(db).collection('capped').insertOne({ _id: 1 } as Document);
      await client.db(db).createCollection('view', { viewOn: 'plain', pipeline: [{ $match: { v: 'a' } }] });
      const before = { plain: await uuidOf(client, db, 'plain'), capped: await uuidOf(client, db, 'capped') };
      assert.ok(before.plain && before.capped);
      await backupBase({ source, store });
      await client.db(db).collection('plain').insertOne({ _id: 3, v: 'c' } as Document);
      await backupOplog({ source, store });

      // Without --preserve-uuid: --drop then create gives new UUIDs (what a cluster restore had).
      await restore({ store, targetUri: mongo.uri, drop: true, namespaces: { include: [`${db}.*`] } });
      assert.notEqual(await uuidOf(client, db, 'plain'), before.plain);

      const result = await restore({ store, targetUri: mongo.uri, drop: true, preserveUuid: 'required', namespaces: { include: [`${db}.*`] } });
      assert.equal(result.base?.uuidsPreserved, 2);
      assert.equal(await uuidOf(client, db, 'plain'), before.plain);
      assert.equal(await uuidOf(client, db, 'capped'), before.capped);
      const [capped] = (await client.db(db).listCollections({ name: 'capped' }).toArray()) as Document[];
      assert.equal(capped?.options?.capped, true);
      assert.equal(Number(capped?.options?.size as Long | number), 4096);
      assert.deepEqual(await client.db(db).collection('plain').find().sort({ _id: 1 }).toArray(), [{ _id: 1, v: 'a' }, { _id: 2, v: 'b' }, { _id: 3, v: 'c' }]);
      assert.deepEqual(await client.db(db).collection('view').find().toArray(), [{ _id: 1, v: 'a' }]);

      // A target collection of another name holding a source UUID: refused before any write
      // (the server's applyOps create would rename it into place).
      await client.db(db).collection('plain').rename('moved');
      await assert.rejects(restore({ store, targetUri: mongo.uri, drop: true, preserveUuid: 'required', namespaces: { include: [`${db}.*`] } }), (error: unknown) => error instanceof UsageError && /already has the source UUID/.test(error.message));
      assert.equal(await uuidOf(client, db, 'moved'), before.plain, 'the colliding collection is left as it was');
    } finally {
      await store.close();
    }
  });
});
