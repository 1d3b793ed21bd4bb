import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BSON, Double, Long, MongoClient, ObjectId, Timestamp, UUID } from 'mongodb';
import type { CommandStartedEvent, Document } from 'mongodb';
import { TargetError } from '../../src/errors.ts';
import type { OplogEntry } from '../../src/oplog-entry.ts';
import type { CommandPlan } from '../../src/target/applier.ts';
import { idKey } from '../../src/target/id-key.ts';
import { FERRETDB_UPDATES_PER_COMMAND, PortableApplier } from '../../src/target/portable-applier.ts';
import { NO_MONGO, isFerretDB, testMongoUri, uniqueName } from '../support/test-env.ts';

let clock = 0;
/** Oplog entries in increasing ts order, as the archive hands them to an applier. */
function entry(op: OplogEntry['op'], ns: string, o: Document, o2?: Document): OplogEntry {
  clock++;
  const e: OplogEntry = { ts: new Timestamp({ t: 1_700_000_000 + Math.floor(clock / 1000), i: (clock % 1000) + 1 }), op, ns, o };
  if (o2 !== undefined) e.o2 = o2;
  return e;
}

/** Canonical Extended JSON keeps BSON types and field order: equal strings, identical documents. */
function canonical(doc: Document): string {
  return BSON.EJSON.stringify(doc, { relaxed: false });
}

async function snapshot(client: MongoClient, db: string, coll: string): Promise<Map<string, string>> {
  const docs = await client.db(db).collection(coll).find({}, { promoteValues: false }).toArray();
  return new Map(docs.map((doc) => [idKey(doc._id), canonical(doc)]));
}

describe('PortableApplier', { skip: NO_MONGO }, () => {
  let client: MongoClient;
  const commands: CommandStartedEvent[] = [];

  before(async () => {
    client = new MongoClient(testMongoUri() ?? '', { monitorCommands: true });
    client.on('commandStarted', (event) => commands.push(event));
    await client.connect();
  });

  after(async () => {
    await client?.close();
  });

  it('applies i/u/d once and again to the same final documents, for mixed _id types', async () => {
    const db = uniqueName('pa');
    const ns = `${db}.docs`;
    const coll = client.db(db).collection('docs');
    const oid = new ObjectId();
    const uuid = new UUID();
    const when = new Date('2024-01-02T03:04:05Z');
    // The state a base would have left: documents the batch updates or deletes.
    await coll.insertMany([
      { _id: 'str' as never, a: { b: 1, keep: true }, list: [1, 2, 3], ratio: new Double(2) },
      { _id: 42 as never, old: 'shape', n: new Double(1) },
      { _id: Long.fromNumber(7) as never, gone: true },
      { _id: uuid as never, count: 1, tags: ['a'] },
      { _id: when as never, at: 1 },
    ]);
    const batch: OplogEntry[] = [
      entry('i', ns, { _id: oid, n: 1, tags: ['x'], sub: { k: 1 } }),
      entry('u', ns, { $v: 2, diff: { u: { n: 2 }, stags: { a: true, u1: 'y' }, ssub: { i: { j: 2 } } } }, { _id: oid }),
      entry('u', ns, { $v: 1, $set: { 'a.c': 2, 'list.4': 5 }, $unset: { 'a.b': true } }, { _id: 'str' }),
      entry('u', ns, { _id: 42, whole: 'new', price: new Double(9.5) }, { _id: 42 }),
      entry('d', ns, { _id: Long.fromNumber(7) }),
      entry('u', ns, { $v: 2, diff: { u: { count: 2 }, stags: { a: true, l: 0 } } }, { _id: uuid }),
      entry('u', ns, { $v: 2, diff: { i: { late: true } } }, { _id: uuid }),
      entry('i', ns, { _id: { region: 'eu', seq: 1 }, v: 1 }),
      entry('u', ns, { $set: { v: 2 } }, { _id: { region: 'eu', seq: 1 } }),
      entry('u', ns, { $v: 2, diff: { u: { never: 1 } } }, { _id: 'missing' }),
      entry('u', ns, { _id: 'ghost', from: 'replacement' }, { _id: 'ghost' }),
      entry('d', ns, { _id: when }),
      // int 5 and double 5.0 are one _id: the update and the delete reach the inserted document.
      entry('i', ns, { _id: 5, five: true }),
      entry('u', ns, { $v: 1, $set: { five: 'yes' } }, { _id: new Double(5) }),
      entry('i', ns, { _id: 'tmp', t: 1 }),
      entry('d', ns, { _id: new Double(0.5) }),
      entry('d', ns, { _id: 'tmp' }),
    ];
    const expected = new Map<unknown, Document>([
      [oid, { _id: oid, n: 2, tags: ['x', 'y'], sub: { k: 1, j: 2 } }],
      ['str', { _id: 'str', a: { keep: true, c: 2 }, list: [1, 2, 3, null, 5], ratio: new Double(2) }],
      [42, { _id: 42, whole: 'new', price: new Double(9.5) }],
      [uuid, { _id: uuid, count: 2, tags: [], late: true }],
      [{ region: 'eu', seq: 1 }, { _id: { region: 'eu', seq: 1 }, v: 2 }],
      ['ghost', { _id: 'ghost', from: 'replacement' }],
      [5, { _id: 5, five: 'yes' }],
    ]);

    const applier = new PortableApplier(client);
    await applier.applyCrud(batch);
    const first = await snapshot(client, db, 'docs');
    assert.deepEqual(applier.stats, { inserted: 4, updated: 8, deleted: 4, missing: 1, commands: 0, transactions: 0 });

    await applier.applyCrud(batch);
    const second = await snapshot(client, db, 'docs');
    assert.deepEqual(applier.stats, { inserted: 8, updated: 16, deleted: 8, missing: 2, commands: 0, transactions: 0 });

    for (const state of [first, second]) {
      assert.deepEqual([...state.keys()].sort(), [...expected.keys()].map(idKey).sort());
      for (const [id, doc] of expected) assert.equal(state.get(idKey(id)), canonical(doc), `document ${idKey(id)}`);
    }
    // A whole-number Double stayed a Double through the read-modify-write (no promotion to
    // int32): the canonical comparison above says so too ($numberDouble "2.0", not $numberInt).
    const n = await coll.findOne({ _id: 'str' as never }, { promoteValues: false });
    assert.ok(n?.ratio instanceof Double, `ratio is ${String(n?.ratio?._bsontype)}`);
    assert.equal(n.ratio.value, 2);
    await client.db(db).dropDatabase();
  });

  it('batches a large batch: few finds, one delete, one insert, few update commands', async () => {
    const db = uniqueName('pa');
    const ns = `${db}.big`;
    const coll = client.db(db).collection('big');
    await coll.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: i as never, n: 0 })));
    const batch: OplogEntry[] = [];
    for (let i = 0; i < 1000; i++) batch.push(entry('u', ns, { $v: 2, diff: { u: { n: 1 } } }, { _id: i }));
    for (let i = 0; i < 500; i++) batch.push(entry('d', ns, { _id: i }));
    for (let i = 1000; i < 4000; i++) batch.push(entry('i', ns, { _id: i, n: 2 }));
    for (let i = 1000; i < 1500; i++) batch.push(entry('u', ns, { $v: 1, $set: { n: 3 } }, { _id: i }));
    assert.equal(batch.length, 5000);

    commands.length = 0;
    const applier = new PortableApplier(client);
    await applier.applyCrud(batch);
    const count = (name: string): number => commands.filter((c) => c.commandName === name).length;
    // One find (the 1,000 ids updated first), one delete command, one insert command for the
    // 3,000 documents whose batch starts with their insert, and the 500 other survivors as
    // upserts: one update command on mongod, commands of 50 on FerretDB 1.x (portable-applier.ts).
    const ferret = isFerretDB();
    assert.equal(count('find'), 1);
    assert.equal(count('delete'), 1);
    assert.equal(count('insert'), 1);
    assert.equal(FERRETDB_UPDATES_PER_COMMAND, 50);
    assert.equal(count('update'), ferret ? 10 : 1);
    assert.deepEqual(applier.stats, { inserted: 3000, updated: 1500, deleted: 500, missing: 0, commands: 0, transactions: 0 });

    assert.equal(await coll.countDocuments({}), 3500);
    assert.equal(await coll.countDocuments({ n: 1 }), 500);
    assert.equal(await coll.countDocuments({ n: 2 }), 2500);
    assert.equal(await coll.countDocuments({ n: 3 }), 500);
    assert.equal(await coll.countDocuments({ _id: { $lt: 500 } as never }), 0);
    await client.db(db).dropDatabase();
  });

  it('deletes by $in lists of ids, exactly: equal numbers, absent ids, never a pattern match', async () => {
    const db = uniqueName('pa');
    const ns = `${db}.del`;
    const coll = client.db(db).collection('del');
    await coll.insertMany([
      ...Array.from({ length: 25 }, (_, i) => ({ _id: i as never, n: i })),
      { _id: Long.fromNumber(100) as never, n: 100 },
      { _id: 'abc' as never, keep: 'a string the regex below matches' },
      { _id: { k: 'x' } as never, n: 'sub' },
    ]);
    const regexId = new BSON.BSONRegExp('^a', '');
    // MongoDB refuses a regex _id; a server that takes one must still have it deleted exactly.
    const regexStored = await coll.insertOne({ _id: regexId as never, n: 'regex' }).then(() => true, () => false);
    const batch = [
      ...Array.from({ length: 20 }, (_, i) => entry('d', ns, { _id: i % 2 === 0 ? i : new Double(i) })),
      entry('d', ns, { _id: 100 }), // the stored int64 100
      entry('d', ns, { _id: 'never-there' }),
      entry('d', ns, { _id: regexId }),
      entry('d', ns, { _id: { k: 'x' } }),
    ];
    commands.length = 0;
    const applier = new PortableApplier(client, { idsPerFind: 10 });
    await applier.applyCrud(batch);
    const deletes = commands.filter((c) => c.commandName === 'delete');
    assert.equal(deletes.length, 1, 'one delete command');
    // 23 ids in lists of 10, then the regex on its own.
    assert.deepEqual((deletes[0]?.command.deletes as Document[]).map((d) => d.limit), [0, 0, 0, 1]);
    assert.equal(applier.stats.deleted, 24);
    const left = await coll.find({}, { sort: { n: 1 } }).toArray();
    assert.deepEqual(left.filter((d) => typeof d.n === 'number').map((d) => d.n), [20, 21, 22, 23, 24]);
    assert.ok(left.some((d) => (d._id as unknown) === 'abc'), 'the string the regex matches as a pattern stays');
    assert.ok(!left.some((d) => d.n === 'sub' || d.n === 'regex'), `regex _id stored: ${regexStored}`);
    await client.db(db).dropDatabase();
  });

  it('chunks the $in list of a big fetch', async () => {
    const db = uniqueName('pa');
    const ns = `${db}.chunks`;
    await client.db(db).collection('chunks').insertMany(Array.from({ length: 25 }, (_, i) => ({ _id: i as never, n: 0 })));
    const batch = Array.from({ length: 25 }, (_, i) => entry('u', ns, { $set: { n: i } }, { _id: i }));
    commands.length = 0;
    await new PortableApplier(client, { idsPerFind: 10 }).applyCrud(batch);
    assert.equal(commands.filter((c) => c.commandName === 'find').length, 3);
    const docs = await client.db(db).collection('chunks').find({}).toArray();
    assert.equal(docs.filter((doc) => doc._id === doc.n).length, 25);
    await client.db(db).dropDatabase();
  });

  it('lands writes that a unique index refuses until another write of the batch has landed', async () => {
    const db = uniqueName('pa');
    const ns = `${db}.users`;
    const coll = client.db(db).collection('users');
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertMany([{ _id: 'gone' as never, email: 'a@x' }, { _id: 'moves' as never, email: 'b@x' }]);
    // Valid in oplog order; written unordered, "taker" may arrive while "gone" or "moves" still
    // hold its address (deletes go first; the rest is retried once after the others landed).
    const batch = [
      entry('d', ns, { _id: 'gone' }),
      entry('i', ns, { _id: 'new', email: 'a@x' }),
      entry('u', ns, { $v: 2, diff: { u: { email: 'c@x' } } }, { _id: 'moves' }),
      entry('i', ns, { _id: 'taker', email: 'b@x' }),
    ];
    await new PortableApplier(client).applyCrud(batch);
    const docs = await coll.find({}).toArray();
    assert.deepEqual(docs.map((d) => [d._id, d.email]).sort(), [['moves', 'c@x'], ['new', 'a@x'], ['taker', 'b@x']]);
    await client.db(db).dropDatabase();
  });

  it('reports a write that stays refused, naming its entry', async () => {
    const db = uniqueName('pa');
    const ns = `${db}.users`;
    const coll = client.db(db).collection('users');
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertOne({ _id: 'other' as never, email: 'a@x' });
    const clash = entry('i', ns, { _id: 'new', email: 'a@x' });
    await assert.rejects(new PortableApplier(client).applyCrud([clash]), (error: unknown) => {
      assert.ok(error instanceof TargetError);
      assert.ok(error.message.startsWith(`${ns} @ ${clash.ts.high}:${clash.ts.low}: `), error.message);
      return true;
    });
    await client.db(db).dropDatabase();
  });

  it('applies a transaction across namespaces, in one or in order', async () => {
    const db = uniqueName('pa');
    const applier = new PortableApplier(client);
    await applier.applyTransaction([
      entry('i', `${db}.a`, { _id: 1, x: 1 }),
      entry('i', `${db}.b`, { _id: 1, y: 1 }),
      entry('u', `${db}.a`, { $v: 2, diff: { u: { x: 2 } } }, { _id: 1 }),
    ]);
    assert.deepEqual(await client.db(db).collection('a').find({}).toArray(), [{ _id: 1, x: 2 }]);
    assert.deepEqual(await client.db(db).collection('b').find({}).toArray(), [{ _id: 1, y: 1 }]);
    assert.equal(applier.stats.transactions, 1);
    assert.equal(applier.stats.inserted, 2);
    assert.equal(applier.stats.updated, 1);
    await client.db(db).dropDatabase();
  });

  it('runs command plans, ignoring the listed codes when replayed twice', async () => {
    const db = uniqueName('pa');
    const cmd = (o: Document, ignoreCodes: number[]): CommandPlan => ({
      db,
      command: o,
      entry: entry('c', `${db}.$cmd`, o),
      ignoreCodes,
    });
    const plans = [
      cmd({ create: 'made' }, [48]),
      cmd({ createIndexes: 'made', indexes: [{ key: { k: 1 }, name: 'k_1' }] }, []),
      cmd({ drop: 'made' }, [26]),
    ];
    const applier = new PortableApplier(client);
    for (const plan of plans) {
      await applier.applyCommand(plan);
      await applier.applyCommand(plan);
      if (plan.command.createIndexes !== undefined) {
        const indexes = await client.db(db).collection('made').listIndexes().toArray();
        assert.deepEqual(indexes.map((i) => i.name).sort(), ['_id_', 'k_1']);
      }
    }
    assert.equal(applier.stats.commands, 6);
    const names = (await client.db(db).listCollections().toArray()).map((c) => c.name);
    assert.ok(!names.includes('made'));
  });

  it('reports a failing command in one line naming its ns and ts', async () => {
    const db = uniqueName('pa');
    const applier = new PortableApplier(client);
    // Renaming a collection that does not exist fails everywhere (NamespaceNotFound).
    const command = { renameCollection: `${db}.nope`, to: `${db}.other` };
    const plan: CommandPlan = { db: 'admin', command, entry: entry('c', 'admin.$cmd', command), ignoreCodes: [] };
    await assert.rejects(applier.applyCommand(plan), (error: unknown) => {
      assert.ok(error instanceof TargetError);
      assert.ok(error.message.startsWith(`admin.$cmd @ ${plan.entry.ts.high}:${plan.entry.ts.low}: renameCollection failed:`),
        error.message);
      assert.ok(!error.message.includes('\n'));
      return true;
    });
    assert.equal(applier.stats.commands, 0);
  });

  it('stops before writing when the signal is aborted', async () => {
    const db = uniqueName('pa');
    const controller = new AbortController();
    controller.abort();
    commands.length = 0;
    // The signal's own reason (an AbortError DOMException), not some later failure.
    await assert.rejects(new PortableApplier(client).applyCrud([entry('i', `${db}.x`, { _id: 1 })], controller.signal),
      (error: unknown) => error instanceof Error && error.name === 'AbortError');
    assert.deepEqual(commands.map((c) => c.commandName), [], 'nothing sent to the target');
    assert.equal(await client.db(db).collection('x').countDocuments({}), 0);
  });

  it('detects that FerretDB runs no transactions and applies in order', { skip: !isFerretDB() && 'FerretDB only' }, async () => {
    const db = uniqueName('pa');
    commands.length = 0;
    await new PortableApplier(client).applyTransaction([entry('i', `${db}.t`, { _id: 1 })]);
    assert.ok(commands.every((c) => c.command.startTransaction === undefined));
    assert.equal(await client.db(db).collection('t').countDocuments({}), 1);
    await client.db(db).dropDatabase();
  });
});
