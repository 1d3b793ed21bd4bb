// What only a real mongod shows, asserted as exact values per server kind (never "either"):
// the majority commit point a chunk and a base record, the lag figure read off it, the apply mode
// a restore chooses, and a transaction written by a live source archived as one applyOps entry
// and restored whole. FerretDB reports no majority point (hello has no lastWrite.majorityOpTime),
// implements no applyOps and runs no multi-document transactions: there the first three assert
// FerretDB's own values, and the transaction test is skipped with that reason.
//
// Run against a real mongod (see the README): MONGOMS_SYSTEM_BINARY=/path/to/mongod node test/run.ts
// test/integration/real-mongod.test.ts, or TEST_MONGODB_URI=<replica set URI>.
//
// Sources: hello's lastWrite.majorityOpTime / majorityWriteDate (docs: reference/command/hello,
// src/mongo/db/repl/replication_info.cpp); applyOps (docs: reference/command/applyOps); a
// committed transaction is logged as one `applyOps` command entry on admin.$cmd carrying lsid
// and txnNumber (src/mongo/db/op_observer/op_observer_impl.cpp, onUnpreparedTransactionCommit).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Document } from 'mongodb';
import { readManifest } from '../../src/backup/commit.ts';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { restore } from '../../src/restore/restore.ts';
import { openTarget } from '../../src/target/open-target.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { readOplogObject } from '../support/chain-reader.ts';
import { STORE_KINDS, type StoreKind } from '../support/stores.ts';
import { NO_MONGO, isFerretDB, testMongoKind, testMongoUri, uniqueName } from '../support/test-env.ts';

const FOLDER = STORE_KINDS[0];
const ON_FERRETDB = isFerretDB();
const NO_TRANSACTIONS = ON_FERRETDB && 'FerretDB runs no multi-document transactions: runs against a real mongod (MONGOMS_SYSTEM_BINARY or TEST_MONGODB_URI)';

describe('what a real mongod shows', { skip: NO_MONGO || !FOLDER }, () => {
  const suite = useBackupSuite();

  test(`the commit point a base and a chunk record: ${ON_FERRETDB ? "'lastWritten' (FerretDB reports no majority point)" : "'majority'"}, and the lag figure read off it`, async () => {
    const { client, source } = suite;
    const { store } = await (FOLDER as StoreKind).open();
    const db = uniqueName('point');
    try {
      await client.db(db).collection('c').insertOne({ _id: 1 } as Document);
      const expected = ON_FERRETDB ? 'lastWritten' : 'majority';
      await backupBase({ source, store });
      await client.db(db).collection('c').insertOne({ _id: 2 } as Document);
      const before = Date.now();
      await backupOplog({ source, store });
      const after = Date.now();
      const { manifest } = await readManifest(store);
      const chain = manifest.chains[0];
      assert.ok(chain);
      assert.equal(chain.base.commitPoint, expected);
      const chunk = chain.chunks.at(-1);
      assert.ok(chunk, 'the insert of 2 is archived');
      assert.equal(chunk.commitPoint, expected);
      assert.ok(typeof chunk.lagMs === 'number', `lagMs ${String(chunk.lagMs)}`);
      assert.ok(chunk.lastWall, 'real and FerretDB oplog entries carry a wall clock');
      const lastWallMs = Date.parse(chunk.lastWall);
      if (ON_FERRETDB) {
        // No commit point: the lag is the time from the last archived op to when the chunk was sealed.
        assert.ok(chunk.lagMs >= before - lastWallMs - 1000 && chunk.lagMs <= after - lastWallMs + 1000, `lagMs ${chunk.lagMs}`);
      } else {
        // The majority point's wall (hello.lastWrite.majorityWriteDate) minus the last archived
        // op's: archiving stops at the majority point, so it is never negative, and on an idle
        // one-member set it is 0 or one periodic no-op (10 s) away.
        assert.ok(chunk.lagMs >= 0 && chunk.lagMs <= 30_000, `lagMs ${chunk.lagMs}`);
      }
    } finally {
      await store.close();
    }
  });

  test(`the apply mode a restore chooses: ${ON_FERRETDB ? "'portable' (FerretDB has no applyOps)" : "'applyOps'"}`, { skip: testMongoKind() === 'given' && 'a given server may be either kind' }, async () => {
    const target = await openTarget(testMongoUri() ?? '');
    try {
      assert.equal(target.applier.mode, ON_FERRETDB ? 'portable' : 'applyOps');
    } finally {
      await target.client.close();
    }
  });

  test('a transaction written by a live source is archived as one applyOps entry with its session and restored whole', { skip: NO_TRANSACTIONS }, async () => {
    const { client, source, mongo } = suite;
    const { store } = await (FOLDER as StoreKind).open();
    const db = uniqueName('txn');
    try {
      await client.db(db).collection('a').insertOne({ _id: 0, v: 'before' } as Document);
      await client.db(db).collection('b').insertOne({ _id: 0, v: 'before' } as Document);
      await backupBase({ source, store });
      const session = client.startSession();
      try {
        await session.withTransaction(async () => {
          await client.db(db).collection('a').insertOne({ _id: 1, v: 'in txn' } as Document, { session });
          await client.db(db).collection<{ _id: number; v: string }>('b').updateOne({ _id: 0 }, { $set: { v: 'in txn' } }, { session });
          await client.db(db).collection<{ _id: number; v: string }>('a').deleteOne({ _id: 0 }, { session });
        });
      } finally {
        await session.endSession();
      }
      await backupOplog({ source, store });
      const { manifest } = await readManifest(store);
      const chain = manifest.chains[0];
      assert.ok(chain);
      const entries: Document[] = [];
      for (const chunk of chain.chunks) entries.push(...(await readOplogObject(store, chunk)));
      const commits = entries.filter((entry) => entry.op === 'c' && entry.ns === 'admin.$cmd' && Array.isArray(entry.o?.applyOps));
      assert.equal(commits.length, 1, 'one applyOps entry for the transaction');
      const [commit] = commits;
      assert.ok(commit?.lsid && commit.txnNumber !== undefined, 'with its session id and txnNumber');
      assert.deepEqual((commit.o.applyOps as Document[]).map((op) => [op.op, op.ns]), [['i', `${db}.a`], ['u', `${db}.b`], ['d', `${db}.a`]]);

      const restored = `${db}_r`;
      const result = await restore({ store, targetUri: mongo.uri, namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${restored}.*`] } });
      assert.equal(result.receipt?.pendingTransactions, 0);
      assert.deepEqual(await client.db(restored).collection('a').find().sort({ _id: 1 }).toArray(), [{ _id: 1, v: 'in txn' }]);
      assert.deepEqual(await client.db(restored).collection('b').find().sort({ _id: 1 }).toArray(), [{ _id: 0, v: 'in txn' }]);
    } finally {
      await store.close();
    }
  });
});
