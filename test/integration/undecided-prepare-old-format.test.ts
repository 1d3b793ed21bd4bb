// An archive written before the undecided-prepare records existed (no `openPrepares` on its
// oplog objects: archive/open-prepares.ts) cannot tell from its manifest that a cutoff is past a
// prepared transaction it holds no decision for. Restore must still refuse such a cutoff before
// it writes the target (restore/prepare-scan.ts), not at the end of replay with the writes before
// the cutoff already made. The chain is built in a folder store from entries in the shapes a
// shard logs them (mongodb/mongo src/mongo/db/op_observer/op_observer_impl.cpp:
// onTransactionPrepare writes an applyOps on admin.$cmd with `prepare: true`, lsid, txnNumber,
// prevOpTime {ts: Timestamp(0, 0), t: -1}; onPreparedTransactionCommit writes
// {commitTransaction: 1, commitTimestamp} with the same lsid and txnNumber, prevOpTime = the
// prepare's), and restored onto the suite's server.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Binary, Long, MongoClient, Timestamp, UUID, type Document } from 'mongodb';
import { chainEnd } from '../../src/archive/manifest.ts';
import { UsageError } from '../../src/errors.ts';
import { restore } from '../../src/restore/restore.ts';
import { FolderStore } from '../../src/store/folder-store.ts';
import type { Cutoff } from '../../src/timestamp.ts';
import { chainOfEntries } from '../support/entry-chain.ts';
import { START_T } from '../support/synthetic-chain.ts';
import { NO_MONGO, testMongoUri, uniqueName } from '../support/test-env.ts';

const T = START_T + 1;
const ts = (i: number) => new Timestamp({ t: T, i });
const LSID = { id: new UUID('0f1e2d3c-4b5a-4697-8876-655443322110'), uid: new Binary(Buffer.alloc(32, 7)) };
const UI = new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9');
const common = (i: number) => ({ ts: ts(i), t: Long.fromNumber(1), v: 2, wall: new Date(T * 1000 + i) });
const insert = (i: number, id: string): Document => ({ ...common(i), op: 'i', ns: 'shop.orders', ui: UI, o: { _id: id } });
const prepare = (i: number): Document => ({
  ...common(i), op: 'c', ns: 'admin.$cmd', lsid: LSID, txnNumber: Long.fromNumber(3), stmtId: [0],
  prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) },
  o: { applyOps: [{ op: 'i', ns: 'shop.orders', ui: UI, o: { _id: 'prepared' } }], prepare: true },
});
const commit = (i: number, commitI: number, prepareI: number): Document => ({
  ...common(i), op: 'c', ns: 'admin.$cmd', lsid: LSID, txnNumber: Long.fromNumber(3),
  prevOpTime: { ts: ts(prepareI), t: Long.fromNumber(1) }, o: { commitTransaction: 1, commitTimestamp: ts(commitI) },
});
const CUTOFF: Cutoff = { ts: { t: T, i: 10 }, input: `${T}:10` };

describe('an old-format archive and a cutoff past an undecided prepare', { skip: NO_MONGO }, () => {
  let dir = '';
  let client: MongoClient;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'old-format-prepare-'));
    client = await MongoClient.connect(testMongoUri() ?? '');
  });
  after(async () => {
    await client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const restoreTo = (store: FolderStore, db: string) =>
    restore({ store, targetUri: testMongoUri() ?? '', cutoff: CUTOFF, namespaces: { include: ['shop.*'], from: ['shop.*'], to: [`${db}.*`] } });
  const ids = async (db: string) => (await client.db(db).collection('orders').find().sort({ _id: 1 }).toArray()).map((doc) => String(doc._id));
  const exists = async (db: string) => (await client.db('admin').admin().listDatabases()).databases.some((entry) => entry.name === db);

  test('refuses before the target is written', async () => {
    const store = new FolderStore(join(dir, 'undecided'));
    const chain = await chainOfEntries(store, [[insert(2, 'before'), prepare(3), insert(6, 'also before')], [insert(12, 'after')]]);
    assert.equal(chainEnd(chain).openPrepares, undefined, 'the archive predates the records');
    const db = uniqueName('old_format_refused');
    await assert.rejects(restoreTo(store, db), (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, new RegExp(`past a transaction prepared at .*\\[${T}:3\\] whose commit or abort is not archived yet`));
      assert.match(error.hint ?? '', new RegExp(`--until ${T}:3`));
      return true;
    });
    assert.equal(await exists(db), false, 'the target database was never created');
  });

  test('restores when the decision is archived past the cutoff', async () => {
    const store = new FolderStore(join(dir, 'decided'));
    await chainOfEntries(store, [[insert(2, 'before'), prepare(3), insert(6, 'also before')], [insert(12, 'after'), commit(13, 5, 3)]]);
    const db = uniqueName('old_format_decided');
    await restoreTo(store, db);
    assert.deepEqual(await ids(db), ['also before', 'before', 'prepared']);
  });
});
