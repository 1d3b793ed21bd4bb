// restore --dry-run reports what replay would apply: it is checked against a replay of the same
// chain's objects (downloaded and verified as a restore downloads them) into a recording applier.
// The chain holds what makes the archived count and the applied count differ, in the shapes
// mongod logs them (mongodb/mongo src/mongo/db/op_observer/op_observer_impl.cpp: an unprepared
// transaction is one applyOps with lsid and txnNumber; onTransactionPrepare writes the applyOps
// with `prepare: true`; onPreparedTransactionCommit writes {commitTransaction: 1,
// commitTimestamp} after it, onPreparedTransactionAbort {abortTransaction: 1};
// src/mongo/db/transaction/transaction_participant.cpp: prepare ts <= commitTimestamp <= the
// commit entry's ts): transactions of several ops, a no-op, an excluded namespace, and prepared
// transactions whose commit is logged in the chunk after the cutoff. No server involved.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Binary, Long, Timestamp, UUID, type Document } from 'mongodb';
import { chainEnd } from '../../../src/archive/manifest.ts';
import { fetchVerified } from '../../../src/restore/download-chain.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';
import { replay } from '../../../src/restore/replay.ts';
import { restore } from '../../../src/restore/restore.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import type { Cutoff } from '../../../src/timestamp.ts';
import { chainOfEntries } from '../../support/entry-chain.ts';
import { RecordingApplier } from '../../support/recording-applier.ts';
import { START_T } from '../../support/synthetic-chain.ts';

const T = START_T + 1;
const ts = (i: number) => new Timestamp({ t: T, i });
const NULL_PREV = { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) };
const session = (n: number) => ({ id: new UUID(`0f1e2d3c-4b5a-4697-8876-65544332211${n}`), uid: new Binary(Buffer.alloc(32, 7)) });
const common = (i: number) => ({ ts: ts(i), t: Long.fromNumber(1), v: 2, wall: new Date(T * 1000 + i) });
const SHOP = { ns: 'shop.orders', ui: new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9') };
const OTHER = { ns: 'other.logs', ui: new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fa') };
const op = (coll: typeof SHOP, id: string): Document => ({ op: 'i', ns: coll.ns, ui: coll.ui, o: { _id: id } });
const insert = (i: number, coll: typeof SHOP, id: string): Document => ({ ...common(i), op: 'i', ns: coll.ns, ui: coll.ui, o: { _id: id } });
const txn = (i: number, n: number, o: Document, prevI?: number): Document => ({
  ...common(i), op: 'c', ns: 'admin.$cmd', lsid: session(n), txnNumber: Long.fromNumber(5),
  prevOpTime: prevI === undefined ? NULL_PREV : { ts: ts(prevI), t: Long.fromNumber(1) }, o,
});
const CUTOFF: Cutoff = { ts: { t: T, i: 10 }, input: `${T}:10` };
const CHUNKS = [
  [
    insert(1, SHOP, 'plain'),
    { ...common(2), op: 'n', ns: '', o: { msg: 'periodic noop' } },
    txn(3, 1, { applyOps: [op(SHOP, 'unprepared-1'), op(SHOP, 'unprepared-2'), op(OTHER, 'unprepared')] }),
    txn(4, 2, { applyOps: [op(SHOP, 'committed'), op(OTHER, 'committed')], prepare: true }),
    txn(5, 3, { applyOps: [op(SHOP, 'late')], prepare: true }),
    txn(6, 4, { applyOps: [op(SHOP, 'aborted')], prepare: true }),
    txn(7, 4, { abortTransaction: 1 }, 6),
    insert(8, OTHER, 'excluded'),
  ],
  [
    insert(11, SHOP, 'after'),
    txn(12, 2, { commitTransaction: 1, commitTimestamp: ts(9) }, 4),
    txn(13, 3, { commitTransaction: 1, commitTimestamp: ts(12) }, 5),
    insert(14, SHOP, 'after too'),
  ],
];

let dir = '';
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'dry-run-'))));
after(async () => rm(dir, { recursive: true, force: true }));

describe('restore --dry-run', () => {
  it('reports what a replay of the same chain applies, the prepared transactions decided past the cutoff included', async () => {
    const store = new FolderStore(join(dir, 'store'));
    const chain = await chainOfEntries(store, CHUNKS, { openPrepares: true });
    const include = { include: ['shop.*'] };
    const dry = await restore({ store, targetUri: '', cutoff: CUTOFF, dryRun: true, namespaces: include });

    // The replay it must agree with: every object of the chain, in order, read as restore reads them.
    const files: string[] = [];
    for (const [index, object] of [chain.base.oplog, ...chain.chunks].entries()) {
      const file = join(dir, `object-${index}.bson.gz`);
      await fetchVerified(store, object, file);
      files.push(file);
    }
    const applier = new RecordingApplier();
    const real = await replay({ applier, files: files.slice(0, 2), decisionFiles: () => files.slice(2), cutoff: CUTOFF, namespaces: compileNamespaceMapper(include) });
    assert.deepEqual(applier.crud.map((entry) => String(entry.o._id)), ['plain', 'unprepared-1', 'unprepared-2', 'committed']);

    assert.equal(dry.oplogEntries, real.applied);
    assert.equal(dry.oplogEntries, 4);
    assert.deepEqual(dry.receipt?.preparedTransactions, { committed: 1, committedAtOrAfterCutoff: 1, aborted: 1 });
    assert.deepEqual(dry.receipt?.preparedTransactions, real.preparedTransactions);
    assert.deepEqual(dry.receipt?.skipped, real.skipped);
    assert.equal(chainEnd(chain).openPrepares?.length, 0, 'every prepare is decided in the archive');
  });
});
