// Point in time, against the MongoDB-wire server: restore to a cutoff between two writes and
// compare document by document with a snapshot of the source taken at that moment; restore the
// same chain twice and find the target unchanged.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { MongoClient, type Document } from 'mongodb';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { restore } from '../../src/restore/restore.ts';
import { parseCutoff } from '../../src/timestamp.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

type Doc = { _id: number; name: string; qty: number; tags?: string[] };

async function snapshot(client: MongoClient, db: string): Promise<Record<string, Document[]>> {
  const result: Record<string, Document[]> = {};
  for (const { name } of await client.db(db).listCollections().toArray()) {
    result[name] = await client.db(db).collection(name).find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();
  }
  return result;
}

/** Waits until the wall clock is at least `ms` past `since`, so two writes land apart. */
async function apart(ms = 40): Promise<Date> {
  await sleep(ms);
  const at = new Date();
  await sleep(ms);
  return at;
}

// A base backs up the whole server: a server of this file's own (on FerretDB), so that other
// files' databases, created and dropped while it runs, are neither dumped nor raced with.
describe('point-in-time restore', { skip: NO_MONGO }, () => {
  const suite = useBackupSuite();

  test('a cutoff between two writes restores exactly the state at that moment', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store } = await kind.open();
    const { client, source, mongo: { uri } } = suite;
    const db = uniqueName('pitr');
    const orders = client.db(db).collection<Doc>('orders');
    const states: { at: Date; state: Record<string, Document[]> }[] = [];
    try {
      await orders.insertMany(Array.from({ length: 200 }, (_, n) => ({ _id: n, name: `order ${n}`, qty: n % 10 })));
      await backupBase({ source, store });
      // Five rounds of mixed writes, each followed by a moment that is snapshotted.
      for (let round = 0; round < 5; round++) {
        await orders.insertMany(Array.from({ length: 20 }, (_, n) => ({ _id: 1000 + round * 20 + n, name: `late ${round}`, qty: round })));
        await orders.updateMany({ qty: round }, { $inc: { qty: 100 }, $set: { tags: [`round${round}`] } });
        await orders.deleteMany({ _id: { $in: [round * 7, round * 7 + 1] } });
        const at = await apart();
        states.push({ at, state: await snapshot(client, db) });
        await sleep(40);
      }
      await backupOplog({ source, store });

      for (const { at, state } of [states[1], states[3]].filter((entry) => entry !== undefined)) {
        const target = uniqueName('pitr_restored');
        const result = await restore({
          store,
          targetUri: uri,
          cutoff: parseCutoff(at.toISOString()),
          namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${target}.*`] },
        });
        assert.ok(result.receipt?.firstSkipped, 'later ops were skipped');
        assert.ok(Date.parse(result.receipt?.lastApplied?.wall ?? '') < at.getTime());
        assert.ok(Date.parse(result.receipt?.firstSkipped?.wall ?? '') >= at.getTime());
        assert.deepEqual(await snapshot(client, target), state, `state at ${at.toISOString()}`);
      }
    } finally {
      await store.close();
    }
  });

  test('restoring the same chain twice leaves the target unchanged', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store } = await kind.open();
    const { client, source, mongo: { uri } } = suite;
    const db = uniqueName('twice');
    const items = client.db(db).collection<Doc>('items');
    try {
      await items.insertMany(Array.from({ length: 100 }, (_, n) => ({ _id: n, name: `item ${n}`, qty: n })));
      await backupBase({ source, store });
      await items.updateMany({ qty: { $lt: 50 } }, { $inc: { qty: 1000 } });
      await items.deleteMany({ qty: { $gt: 1040 } });
      await items.insertOne({ _id: 500, name: 'new', qty: 5 });
      await backupOplog({ source, store });
      const expected = await snapshot(client, db);

      const target = uniqueName('twice_restored');
      const namespaces = { include: [`${db}.*`], from: [`${db}.*`], to: [`${target}.*`] };
      await restore({ store, targetUri: uri, namespaces });
      const once = await snapshot(client, target);
      assert.deepEqual(once, expected);
      const again = await restore({ store, targetUri: uri, namespaces });
      // 9 base documents were deleted by the oplog (qty 1041..1049): the base load brings them
      // back and the replay deletes them again; the other 91 were already there.
      assert.equal(again.base?.duplicates, 91);
      assert.deepEqual(await snapshot(client, target), once);
    } finally {
      await store.close();
    }
  });
});
