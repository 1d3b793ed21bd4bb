// The applyOps applier against a live server. On FerretDB (no applyOps) only the probe is
// checked: it must select the portable applier. On a real mongod (TEST_MONGODB_URI or
// MONGOMS_SYSTEM_BINARY) the probe picks the command form the server takes, and the cases the
// unit tests answer from the server's source (test/unit/target/applyops-applier.test.ts) run
// for real: an insert of an existing _id replaces it, a $v:2 update of a missing document
// creates nothing and is counted missing, a replacement of a missing document upserts it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Long, MongoClient, Timestamp, UUID, type Document } from 'mongodb';
import type { OplogEntry } from '../../src/oplog-entry.ts';
import { ApplyOpsApplier } from '../../src/target/applyops-applier.ts';
import { probeApplyOps } from '../../src/target/open-target.ts';
import { NO_MONGO, isFerretDB, testMongoUri, uniqueName } from '../support/test-env.ts';

describe('applyOps applier, live', { skip: NO_MONGO }, () => {
  let client: MongoClient;
  before(async () => {
    client = new MongoClient(testMongoUri() ?? '');
    await client.connect();
  });
  after(async () => client?.close());

  it('the probe selects portable on FerretDB and a command form on mongod', async () => {
    const picked = await probeApplyOps((command) => client.db('admin').command(command));
    if (isFerretDB()) assert.equal(picked, 'portable');
    else assert.ok(picked === 'legacy' || picked === 'current', picked);
  });

  it('applies inserts over existing ids, updates of missing documents and replacements as the portable applier does', { skip: isFerretDB() ? 'FerretDB has no applyOps' : false }, async () => {
    const dialect = await probeApplyOps((command) => client.db('admin').command(command));
    assert.ok(dialect !== 'portable');
    const db = uniqueName('applyops');
    const ns = `${db}.c`;
    const coll = client.db(db).collection<Document>('c');
    await coll.insertMany([{ _id: 1, v: 'dump' } as Document, { _id: 2, a: 1 }]);
    let i = 0;
    const entry = (op: 'i' | 'u' | 'd', o: Document, o2?: Document) => ({
      op, ns, ui: new UUID(), o, ...(o2 ? { o2 } : {}), ts: new Timestamp({ t: 1_750_000_000, i: ++i }), t: Long.fromNumber(1), v: Long.fromNumber(2), wall: new Date(),
    }) as unknown as OplogEntry;
    const applier = new ApplyOpsApplier(client, dialect);
    try {
      await applier.applyCrud([
        entry('i', { _id: 1, v: 'inserted' }),
        entry('u', { $v: 2, diff: { u: { a: 9 } } }, { _id: 5 }),
        entry('u', { _id: 6, r: true }, { _id: 6 }),
        entry('u', { $v: 2, diff: { u: { a: 2 } } }, { _id: 2 }),
        entry('d', { _id: 7 }),
      ]);
      assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [{ _id: 1, v: 'inserted' }, { _id: 2, a: 2 }, { _id: 6, r: true }]);
      assert.equal(applier.stats.missing, 1);
      assert.equal(applier.stats.updated, 2);
    } finally {
      await client.db(db).dropDatabase();
    }
  });
});
