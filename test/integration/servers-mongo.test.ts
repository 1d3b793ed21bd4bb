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
    // A marker of this test's own to start from, and a filter on this test's namespace: other
    // test files write to the shared server meanwhile.
    await client.db(db).collection<Doc>('c').insertOne({ _id: 'marker' });
    const [newest] = await oplog().find({ ns }).sort({ $natural: -1 }).limit(1).toArray();
    assert.deepEqual(newest?.o, { _id: 'marker' });
    // The write is made when a getMore is on its way, not on a timer: FerretDB 1.24 hands a
    // tailable cursor only what is written while a getMore waits, so a write before the first
    // getMore (a timer firing early in a cold run) was never seen. Each getMore that ends empty
    // is followed by another write, until one comes back or the deadline passes.
    const tail = new MongoClient(testMongoUri() ?? 'mongodb://unset', { monitorCommands: true });
    let writes = 0;
    tail.on('commandStarted', (event) => {
      if (event.commandName === 'getMore') void client.db(db).collection<Doc>('c').insertOne({ _id: `late ${++writes}` });
    });
    await tail.connect();
    // batchSize 1 keeps the cursor open on FerretDB, which closes a cursor whose first batch is
    // short; real mongod keeps a tailable cursor open either way.
    const cursor = tail.db('local').collection('oplog.rs').find({ ns, ts: { $gte: newest.ts } }, { tailable: true, awaitData: true, batchSize: 1, maxAwaitTimeMS: 2000 });
    try {
      const first = await cursor.next();
      assert.ok(first?.ts.equals(newest.ts));
      let late: Document | null = null;
      const deadline = Date.now() + 60_000;
      while (!late && Date.now() < deadline) {
        const next = await cursor.tryNext();
        if (next && next.ns === ns && String(next.o?._id).startsWith('late ')) late = next;
        assert.ok(next || !cursor.closed, 'the tailable cursor stays open');
      }
      assert.match(String(late?.o?._id), /^late \d+$/, 'an entry written after the cursor opened');
    } finally {
      await cursor.close();
      await tail.close();
    }
  });
});
