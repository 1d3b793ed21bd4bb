// Proves the MongoDB-wire test server is real: a replica set name, an oplog that records
// inserts, updates and deletes, and a tailable cursor on it.
import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import { MongoClient, type Document } from 'mongodb';

/** Test documents with any _id type. */
type Doc = { _id: number | string; [field: string]: unknown };
import { NO_MONGO, testMongoUri, uniqueName } from '../support/test-env.ts';

describe('MongoDB-wire test server', { skip: NO_MONGO }, () => {
  const client = new MongoClient(testMongoUri() ?? 'mongodb://unset');
  const db = uniqueName('servers');
  const ns = `${db}.c`;
  before(() => client.connect());
  after(() => client.close());
  const oplog = () => client.db('local').collection('oplog.rs');

  test('hello reports a replica set name', async () => {
    const hello = await client.db('admin').command({ hello: 1 });
    assert.equal(typeof hello.setName, 'string');
    assert.ok(hello.setName.length > 0);
  });

  test('an insert, an update and a delete each appear in local.oplog.rs', async () => {
    const coll = client.db(db).collection<Doc>('c');
    await coll.insertOne({ _id: 1, a: 1 });
    await coll.updateOne({ _id: 1 }, { $set: { a: 2 } });
    await coll.deleteOne({ _id: 1 });
    const entries = await oplog().find({ ns }).sort({ $natural: 1 }).toArray();
    assert.deepEqual(entries.map((entry) => entry.op), ['i', 'u', 'd']);
    assert.deepEqual(entries[0]?.o, { _id: 1, a: 1 });
    assert.deepEqual(entries[1]?.o2, { _id: 1 });
    assert.deepEqual(entries[2]?.o, { _id: 1 });
  });

  test('a tailable awaitData cursor returns an entry written after it was opened', async () => {
    const [newest] = await oplog().find({}).sort({ $natural: -1 }).limit(1).toArray();
    assert.ok(newest, 'the oplog has at least one entry');
    // batchSize 1 keeps the cursor open on FerretDB, which closes a cursor whose first batch is
    // short; real mongod keeps a tailable cursor open either way.
    const cursor = oplog().find({ ts: { $gte: newest.ts } }, { tailable: true, awaitData: true, batchSize: 1, maxAwaitTimeMS: 2000 });
    try {
      const first = await cursor.next();
      assert.ok(first?.ts.equals(newest.ts));
      // Written once the cursor is open, and awaited (not on a timer); then read until it comes,
      // past whatever other test files write to the shared server meanwhile, with a deadline.
      await client.db(db).collection<Doc>('c').insertOne({ _id: 'late' });
      let late: Document | null = null;
      const deadline = Date.now() + 60_000;
      while (!late && Date.now() < deadline) {
        const next = await cursor.tryNext();
        if (next && next.ns === ns) late = next;
        assert.ok(next || !cursor.closed, 'the tailable cursor stays open');
      }
      assert.deepEqual(late?.o, { _id: 'late' });
    } finally {
      await cursor.close();
    }
  });
});
