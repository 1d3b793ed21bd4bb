// A filtered restore (--nsInclude) of transactions: an included namespace's transactional
// writes are applied exactly when the source committed them, an excluded namespace's never.
// Entry shapes as mongod logs them (mongodb/mongo src/mongo/db/op_observer/op_observer_impl.cpp:
// an unprepared transaction is one applyOps with lsid, txnNumber and the null prevOpTime;
// onTransactionPrepare writes the applyOps with `prepare: true` inside `o`;
// onPreparedTransactionCommit writes {commitTransaction: 1, commitTimestamp} and
// onPreparedTransactionAbort {abortTransaction: 1} on admin.$cmd, same lsid/txnNumber, prevOpTime
// = the prepare's; src/mongo/db/transaction/transaction_participant.cpp: commitTimestamp >= the
// prepare's ts, the commit entry's ts after commitTimestamp). No server: a recording applier.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BSON, Binary, Long, Timestamp, UUID, type Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';
import { replay } from '../../../src/restore/replay.ts';
import { RecordingApplier } from '../../support/recording-applier.ts';

const T0 = 1_764_583_200;
const ts = (i: number) => new Timestamp({ t: T0, i });
const NULL_PREV = { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) };
const session = (n: number) => ({ id: new UUID(`0f1e2d3c-4b5a-4697-8876-65544332211${n}`), uid: new Binary(Buffer.alloc(32, 7)) });
const common = (i: number) => ({ ts: ts(i), t: Long.fromNumber(1), v: 2, wall: new Date(T0 * 1000 + i * 10) });
const SHOP = { ns: 'shop.orders', ui: new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9') };
const OTHER = { ns: 'other.logs', ui: new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fa') };
const op = (coll: typeof SHOP, id: string): Document => ({ op: 'i', ns: coll.ns, ui: coll.ui, o: { _id: id } });
const txn = (i: number, n: number, o: Document, prevI?: number): OplogEntry => ({
  ...common(i), op: 'c', ns: 'admin.$cmd', lsid: session(n), txnNumber: Long.fromNumber(5),
  prevOpTime: prevI === undefined ? NULL_PREV : { ts: ts(prevI), t: Long.fromNumber(1) }, o,
});
const insert = (i: number, coll: typeof SHOP, id: string): OplogEntry => ({ ...common(i), op: 'i', ns: coll.ns, ui: coll.ui, o: { _id: id } });

let dir = '';
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'replay-filtered-txn-'))));
after(async () => rm(dir, { recursive: true, force: true }));

async function oplogFile(name: string, entries: readonly OplogEntry[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, Buffer.concat(entries.map((entry) => BSON.serialize(entry))));
  return file;
}

describe('replay --nsInclude of transactions', () => {
  it('applies an included namespace\'s transactional writes exactly when the source committed them', async () => {
    const before = await oplogFile('before.bson', [
      insert(1, SHOP, 'plain'),
      // Unprepared, touching both namespaces: committed by being logged.
      txn(2, 1, { applyOps: [op(SHOP, 'unprepared'), op(OTHER, 'unprepared')] }),
      // Prepared, committed at commitTimestamp 5 < cutoff 10; its commit is logged past the cutoff.
      txn(3, 2, { applyOps: [op(SHOP, 'committed'), op(OTHER, 'committed')], prepare: true }),
      // Prepared, aborted before the cutoff.
      txn(4, 3, { applyOps: [op(SHOP, 'aborted'), op(OTHER, 'aborted')], prepare: true }),
      txn(6, 3, { abortTransaction: 1 }, 4),
      // Prepared, committed at commitTimestamp 11, past the cutoff.
      txn(7, 4, { applyOps: [op(SHOP, 'late'), op(OTHER, 'late')], prepare: true }),
      // Prepared on the excluded namespace only, committed before the cutoff.
      txn(8, 5, { applyOps: [op(OTHER, 'excluded')], prepare: true }),
      txn(9, 5, { commitTransaction: 1, commitTimestamp: ts(9) }, 8),
    ]);
    const after = await oplogFile('after.bson', [
      insert(10, SHOP, 'after the cutoff'),
      txn(12, 4, { commitTransaction: 1, commitTimestamp: ts(11) }, 7),
      txn(13, 2, { commitTransaction: 1, commitTimestamp: ts(5) }, 3),
    ]);
    const applier = new RecordingApplier();
    const receipt = await replay({
      applier, files: [before], decisionFiles: () => [after],
      cutoff: { ts: { t: T0, i: 10 }, input: `${T0}:10` }, namespaces: compileNamespaceMapper({ include: ['shop.*'] }),
    });
    assert.deepEqual(applier.crud.map((entry) => `${entry.ns}:${String(entry.o._id)}`), ['shop.orders:plain', 'shop.orders:unprepared', 'shop.orders:committed']);
    assert.equal(receipt.applied, 3);
  });
});
