// A filtered export (--nsInclude) of transactions, entries in the shapes mongod logs them
// (mongodb/mongo src/mongo/db/op_observer/op_observer_impl.cpp: an unprepared transaction is one
// applyOps with lsid, txnNumber and the null prevOpTime; onTransactionPrepare writes the applyOps
// with `prepare: true` inside `o`; onPreparedTransactionCommit writes
// {commitTransaction: 1, commitTimestamp} and onPreparedTransactionAbort {abortTransaction: 1},
// both on admin.$cmd with the same lsid/txnNumber and prevOpTime = the prepare's optime).
// mongorestore --oplogReplay of the folder (mongo-tools common/txn/meta.go, mongorestore/oplog.go
// HandleTxnOp) buffers a `prepare` applyOps until the commitTransaction of the same lsid and
// txnNumber and drops it on abortTransaction; it replays every inner op it is given. So the
// export must keep the decision entry of every kept prepare, and keep in each applyOps exactly
// the included ops, byte for byte. Runs on a folder store: no server involved.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BSON, Binary, Long, Timestamp, UUID, type Document } from 'mongodb';
import { exportDump } from '../../../src/interop/export-dump.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { chainOfEntries } from '../../support/entry-chain.ts';
import { START_T } from '../../support/synthetic-chain.ts';

const T = START_T + 1;
const ts = (i: number) => new Timestamp({ t: T, i });
const session = (n: number) => ({ id: new UUID(`0f1e2d3c-4b5a-4697-8876-65544332211${n}`), uid: new Binary(Buffer.alloc(32, 7)) });
const NULL_PREV = { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) };
const common = (i: number) => ({ ts: ts(i), t: Long.fromNumber(1), v: 2, wall: new Date(T * 1000 + i) });
const SHOP = { ns: 'shop.orders', ui: new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9') };
const OTHER = { ns: 'other.logs', ui: new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fa') };
const op = (coll: typeof SHOP, o: Document): Document => ({ op: 'i', ns: coll.ns, ui: coll.ui, o });
const insert = (i: number, coll: typeof SHOP, id: number): Document => ({ ...common(i), op: 'i', ns: coll.ns, ui: coll.ui, o: { _id: id } });
/** A session's transaction entry (txnNumber 5). */
const txn = (i: number, n: number, o: Document, prevI?: number): Document => ({
  ...common(i), op: 'c', ns: 'admin.$cmd', lsid: session(n), txnNumber: Long.fromNumber(5),
  prevOpTime: prevI === undefined ? NULL_PREV : { ts: ts(prevI), t: Long.fromNumber(1) }, o,
});

let dir = '';
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'export-filter-txn-'))));
after(async () => rm(dir, { recursive: true, force: true }));

/** A chain: the synthetic base, then one chunk per list of entries (entry-chain.ts). */
async function storeWith(name: string, chunks: Document[][]): Promise<Store> {
  const store = new FolderStore(join(dir, name));
  await chainOfEntries(store, chunks);
  return store;
}

/** oplog.bson's raw entries after the base's own op. */
async function exported(store: Store, name: string, cutoffI: number | undefined, include: string[]): Promise<Buffer[]> {
  const out = join(dir, `out-${name}`);
  const cutoff = cutoffI === undefined ? undefined : { ts: { t: T, i: cutoffI }, input: `${T}:${cutoffI}` };
  await exportDump({ store, dir: out, cutoff, namespaces: { include } });
  const bytes = await readFile(join(out, 'oplog.bson'));
  const entries: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += bytes.readInt32LE(offset)) {
    const raw = bytes.subarray(offset, offset + bytes.readInt32LE(offset));
    if (BSON.deserialize(raw).ts.high === T) entries.push(raw);
  }
  return entries;
}

const summary = (raw: Buffer): string => {
  const doc = BSON.deserialize(raw);
  const kind = doc.o.commitTransaction ? 'commit' : doc.o.abortTransaction ? 'abort' : doc.o.applyOps ? `applyOps[${doc.o.applyOps.map((inner: Document) => `${inner.ns}:${inner.o._id}`).join(',')}]${doc.o.prepare ? '+prepare' : ''}` : `${doc.op}:${doc.ns}`;
  return `${kind}@${doc.ts.low}`;
};

describe('export --nsInclude of transactions', () => {
  it('keeps a kept prepared transaction\'s commitTransaction, logged past the cutoff, and only its included ops', async () => {
    const store = await storeWith('prepared-commit', [
      [insert(2, SHOP, 1), txn(3, 1, { applyOps: [op(SHOP, { _id: 100 }), op(OTHER, { _id: 100 })], prepare: true }), insert(6, OTHER, 2)],
      [insert(12, SHOP, 3), txn(14, 1, { commitTransaction: 1, commitTimestamp: ts(5) }, 3), insert(15, SHOP, 4)],
    ]);
    assert.deepEqual((await exported(store, 'prepared-commit', 10, ['shop.*'])).map(summary), ['i:shop.orders@2', 'applyOps[shop.orders:100]+prepare@3', 'commit@14']);
  });

  it('keeps the abortTransaction of a kept prepared transaction aborted before the cutoff', async () => {
    const store = await storeWith('prepared-abort', [
      [txn(3, 1, { applyOps: [op(SHOP, { _id: 100 })], prepare: true }), txn(4, 1, { abortTransaction: 1 }, 3), insert(6, SHOP, 2)],
    ]);
    assert.deepEqual((await exported(store, 'prepared-abort', 7, ['shop.*'])).map(summary), ['applyOps[shop.orders:100]+prepare@3', 'abort@4', 'i:shop.orders@6']);
  });

  it('keeps an unprepared transaction\'s included ops byte for byte, field order included', async () => {
    // `{_id, b, "1"}` in this order (a Map: a JavaScript object would enumerate "1" first).
    const ordered = op(SHOP, new Map<string, unknown>([['_id', 7], ['b', 1], ['1', 'one']]) as unknown as Document);
    const store = await storeWith('unprepared', [[txn(3, 2, { applyOps: [ordered, op(OTHER, { _id: 7 })] }), insert(4, SHOP, 8)]]);
    const [applyOps] = await exported(store, 'unprepared', undefined, ['shop.*']);
    assert.ok(applyOps);
    assert.equal(summary(applyOps), 'applyOps[shop.orders:7]@3');
    assert.ok(applyOps.includes(Buffer.from(BSON.serialize({ applyOps: [ordered] }).subarray(4, -1))), 'the kept op\'s bytes are the archived ones');
  });

  it('leaves an excluded op out of a nested applyOps', async () => {
    // The applyOps command (no lsid) with an applyOps op inside: mongorestore replays the inner
    // ops of both (mongorestore/oplog.go, HandleNonTxnOp case "applyOps" recurses).
    const nested = { op: 'c', ns: 'admin.$cmd', o: { applyOps: [op(SHOP, { _id: 20 }), op(OTHER, { _id: 21 })] } };
    const store = await storeWith('nested', [[{ ...common(3), op: 'c', ns: 'admin.$cmd', o: { applyOps: [nested, op(OTHER, { _id: 22 })] } }, insert(4, SHOP, 8)]]);
    const [applyOps] = await exported(store, 'nested', undefined, ['shop.*']);
    assert.ok(applyOps);
    const doc = BSON.deserialize(applyOps);
    assert.deepEqual(doc.o.applyOps.map((inner: Document) => inner.o.applyOps.map((leaf: Document) => `${leaf.ns}:${leaf.o._id}`)), [['shop.orders:20']]);
  });

  it('leaves out a self-contained transaction with no included op, and keeps an emptied prepare with its commit', async () => {
    const store = await storeWith('emptied', [[
      txn(3, 2, { applyOps: [op(OTHER, { _id: 30 })] }),
      txn(4, 3, { applyOps: [op(OTHER, { _id: 31 })], prepare: true }),
      txn(5, 3, { commitTransaction: 1, commitTimestamp: ts(5) }, 4),
      insert(6, SHOP, 8),
    ]]);
    assert.deepEqual((await exported(store, 'emptied', undefined, ['shop.*'])).map(summary), ['applyOps[]+prepare@4', 'commit@5', 'i:shop.orders@6']);
  });
});
