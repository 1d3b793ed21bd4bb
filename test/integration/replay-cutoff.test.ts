// Cutoffs around transactions and commands, with oplog entries in the shapes real MongoDB
// writes (a committed applyOps transaction, a partialTxn chain, a drop) replayed onto the
// MongoDB-wire server: a transaction is applied whole or not at all, by its commit's ts, and a
// cutoff just before a drop keeps the collection.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, before, after } from 'node:test';
import { BSON, Long, MongoClient, Timestamp, UUID, type Document } from 'mongodb';
import { replay } from '../../src/restore/replay.ts';
import { compileNamespaceMapper } from '../../src/restore/namespace-mapper.ts';
import { openTarget, type Target } from '../../src/target/open-target.ts';
import { parseCutoff } from '../../src/timestamp.ts';
import { NO_MONGO, testMongoUri, uniqueName } from '../support/test-env.ts';

const ts = (t: number, i: number) => new Timestamp({ t, i });
const wall = (t: number, i: number) => new Date(t * 1000 + i);
const lsid = { id: new UUID('6b1e0a5c-3c1f-4d2a-9a55-0d4f9f7e2a10'), uid: new BSON.Binary(Buffer.alloc(32, 7)) };

function entries(db: string): Document[] {
  const ns = `${db}.c`;
  const nullOpTime = { ts: ts(0, 0), t: Long.fromNumber(-1) };
  return [
    { op: 'c', ns: `${db}.$cmd`, o: { create: 'c' }, ts: ts(100, 1), t: 1, v: 2, wall: wall(100, 1) },
    { op: 'i', ns, o: { _id: 1, v: 'one' }, ts: ts(100, 2), t: 1, v: 2, wall: wall(100, 2) },
    // A transaction committed in one applyOps entry.
    {
      op: 'c', ns: 'admin.$cmd', ts: ts(101, 1), t: 1, v: 2, wall: wall(101, 1), lsid, txnNumber: Long.fromNumber(1), prevOpTime: nullOpTime,
      o: { applyOps: [
        { op: 'i', ns, o: { _id: 2, v: 'two' } },
        { op: 'u', ns, o: { $v: 2, diff: { u: { v: 'ONE' } } }, o2: { _id: 1 } },
      ] },
    },
    // A large transaction: a partialTxn entry, then its commit.
    {
      op: 'c', ns: 'admin.$cmd', ts: ts(102, 1), t: 1, v: 2, wall: wall(102, 1), lsid, txnNumber: Long.fromNumber(2), prevOpTime: nullOpTime,
      o: { applyOps: [{ op: 'i', ns, o: { _id: 3, v: 'three' } }], partialTxn: true },
    },
    {
      op: 'c', ns: 'admin.$cmd', ts: ts(102, 2), t: 1, v: 2, wall: wall(102, 2), lsid, txnNumber: Long.fromNumber(2),
      prevOpTime: { ts: ts(102, 1), t: Long.fromNumber(1) },
      o: { applyOps: [{ op: 'd', ns, o: { _id: 2 } }], count: 2 },
    },
    { op: 'c', ns: `${db}.$cmd`, o: { drop: 'c' }, ts: ts(103, 1), t: 1, v: 2, wall: wall(103, 1) },
  ];
}

describe('replay cutoffs around transactions and commands', { skip: NO_MONGO }, () => {
  const uri = testMongoUri() ?? '';
  const client = new MongoClient(uri);
  let file: string;
  let db: string;
  let target: Target;
  before(async () => {
    await client.connect();
    target = await openTarget(uri);
    db = uniqueName('cut');
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-cut-'));
    file = join(dir, 'oplog.bson');
    await writeFile(file, Buffer.concat(entries(db).map((entry) => BSON.serialize(entry))));
  });
  after(async () => {
    await target?.client.close();
    await client.close();
  });

  async function replayInto(until: string): Promise<{ docs: Document[] | null; pending: number }> {
    const into = uniqueName('cut_into');
    const receipt = await replay({
      applier: target.applier,
      files: [file],
      cutoff: parseCutoff(until),
      namespaces: compileNamespaceMapper({ from: [`${db}.*`], to: [`${into}.*`] }),
    });
    const names = (await client.db(into).listCollections().toArray()).map((info) => info.name);
    const docs = names.includes('c') ? await client.db(into).collection('c').find().sort({ _id: 1 }).toArray() : null;
    return { docs, pending: receipt.pendingTransactions };
  }

  test('a transaction is not applied when the cutoff is at its commit', async () => {
    assert.deepEqual((await replayInto('101:1')).docs, [{ _id: 1, v: 'one' }]);
  });

  test('a transaction is applied whole when the cutoff is after its commit', async () => {
    assert.deepEqual((await replayInto('101:2')).docs, [{ _id: 1, v: 'ONE' }, { _id: 2, v: 'two' }]);
  });

  test('a cutoff inside a large transaction (between its partial entry and its commit) applies none of it', async () => {
    assert.deepEqual((await replayInto('102:2')).docs, [{ _id: 1, v: 'ONE' }, { _id: 2, v: 'two' }]);
  });

  test('after the commit, all of the large transaction is applied', async () => {
    assert.deepEqual((await replayInto('102:3')).docs, [{ _id: 1, v: 'ONE' }, { _id: 3, v: 'three' }]);
  });

  test('a cutoff just before a drop keeps the collection; after it, it is gone', async () => {
    assert.deepEqual((await replayInto('103:1')).docs, [{ _id: 1, v: 'ONE' }, { _id: 3, v: 'three' }]);
    assert.equal((await replayInto('103:2')).docs, null);
  });
});
