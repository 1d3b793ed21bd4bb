// first-visible-op.ts: the first match by where its write became visible, and how far past the
// match the search reads. Entries in the shapes mongod writes them (mongodb/mongo
// src/mongo/db/op_observer/op_observer_impl.cpp onTransactionPrepare / onPreparedTransactionCommit
// / onPreparedTransactionAbort; src/mongo/db/transaction/transaction_participant.cpp: prepare ts
// P <= commitTimestamp T <= the commit entry's ts X; writes visible at T). No server involved.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import { BSON, Binary, Long, Timestamp, UUID, type Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { compileOpFilter, findOps, firstMatchIn, parseOpFilterJson, type OpFilter } from '../../../src/restore/find-ops.ts';
import { findFirstVisibleOp, FirstVisibleSearch, visibleCutoff } from '../../../src/restore/first-visible-op.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import { tsFromBson, type Ts } from '../../../src/timestamp.ts';
import { chainOfEntries } from '../../support/entry-chain.ts';
import { START_T } from '../../support/synthetic-chain.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const T = START_T + 1;
const ts = (i: number) => new Timestamp({ t: T, i });
const at = (i: number): Ts => ({ t: T, i });
const NULL_PREV = { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) };
const session = (n: number) => ({ id: new UUID(`0f1e2d3c-4b5a-4697-8876-65544332211${n}`), uid: new Binary(Buffer.alloc(32, 7)) });
const common = (i: number) => ({ ts: ts(i), t: Long.fromNumber(1), v: 2, wall: new Date(T * 1000 + i) });
const UI = new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9');
const op = (id: string): Document => ({ op: 'i', ns: 'shop.orders', ui: UI, o: { _id: id }, o2: { _id: id } });
const insert = (i: number, id: string): Document => ({ ...common(i), ...op(id) });
const txn = (i: number, n: number, o: Document, prevI?: number): Document => ({
  ...common(i), op: 'c', ns: 'admin.$cmd', lsid: session(n), txnNumber: Long.fromNumber(5),
  prevOpTime: prevI === undefined ? NULL_PREV : { ts: ts(prevI), t: Long.fromNumber(1) }, o,
});
const prepare = (i: number, n: number, ids: string[]) => txn(i, n, { applyOps: ids.map(op), prepare: true });
const commit = (i: number, n: number, commitTimestamp: number, prepareI: number) => txn(i, n, { commitTransaction: 1, commitTimestamp: ts(commitTimestamp) }, prepareI);
const abort = (i: number, n: number, prepareI: number) => txn(i, n, { abortTransaction: 1 }, prepareI);

const filterOf = (json: string): OpFilter => compileOpFilter(parseOpFilterJson(json, '--before-first'), json);

/** The search over entries in memory, stopping where it says it is settled; how many it read. */
function search(entries: readonly Document[], filter: OpFilter, bound?: Ts) {
  const s = new FirstVisibleSearch(bound);
  let read = 0;
  for (const doc of entries) {
    const entry = doc as OplogEntry;
    if (s.settled(tsFromBson(entry.ts))) break;
    read++;
    s.push(entry, firstMatchIn(entry, filter, { chainId: null, key: 'k' }));
  }
  return { match: s.result(filter), read };
}

describe('FirstVisibleSearch', () => {
  it('a retryable write (lsid and txnNumber on a plain CRUD entry, as real MongoDB 7 logged it) is visible at its own ts', async () => {
    // /work/shared/fixtures/pbm/ops_i_u_d.json: retryable i/u/d entries, each with lsid, txnNumber, stmtId, prevOpTime.
    const text = await readFile(join(SHARED_DIR, 'fixtures/pbm/ops_i_u_d.json'), 'utf8');
    const entries = BSON.EJSON.parse(text, { relaxed: false }) as Document[];
    const first = entries[0];
    assert.ok(first?.lsid && first.txnNumber !== undefined && first.op === 'i');
    const { match, read } = search(entries, filterOf('{"ns":"mydb.c1","op":"i"}'));
    assert.deepEqual(match?.cutoff, tsFromBson(first.ts));
    assert.equal(match?.visibleAt, 'op');
    assert.equal(read, 1);
  });

  it('a plain match settles at once: nothing after it is read', () => {
    const { match, read } = search([insert(1, 'a'), insert(2, 'target'), insert(3, 'b'), insert(4, 'c')], filterOf('{"id":"target"}'));
    assert.deepEqual(match?.cutoff, at(2));
    assert.equal(read, 2);
  });

  it('a prepared match reads on to its commit, and no further', () => {
    const entries = [prepare(2, 1, ['target']), insert(3, 'x'), commit(6, 1, 5, 2), insert(7, 'y'), insert(8, 'z')];
    const { match, read } = search(entries, filterOf('{"id":"target"}'));
    assert.deepEqual(match?.cutoff, at(5));
    assert.equal(match?.visibleAt, 'commit-timestamp');
    assert.deepEqual(match?.decidedBy, at(6));
    assert.deepEqual(match && visibleCutoff(match).ts, at(5));
    assert.equal(read, 3);
  });

  it('an aborted match is dropped and the search goes on to the next match', () => {
    const { match } = search([prepare(2, 1, ['target']), abort(3, 1, 2), insert(4, 'target')], filterOf('{"id":"target"}'));
    assert.deepEqual(match?.cutoff, at(4));
    assert.equal(match?.visibleAt, 'op');
  });

  it('a commitTransaction logged after the best match but with an earlier commitTimestamp wins', () => {
    // Transaction 1 is prepared at 2 and committed at T=3, logged at 9; transaction 2 committed
    // (T=5) earlier in the oplog, at 6. The first commit to become visible is transaction 1's.
    const entries = [prepare(2, 1, ['p']), prepare(4, 2, ['q']), commit(6, 2, 5, 4), insert(7, 'x'), commit(9, 1, 3, 2), insert(10, 'y')];
    const { match, read } = search(entries, filterOf('{"op":"c","command":"commitTransaction"}'));
    assert.deepEqual(match?.op.ts, at(9));
    assert.deepEqual(match?.cutoff, at(3));
    assert.equal(read, 5, 'read on past the best match only while a prepare before it was undecided');
  });

  it('a bound from another member: only a match visible before it counts', () => {
    const entries = [prepare(2, 1, ['target']), commit(6, 1, 5, 2)];
    assert.equal(search(entries, filterOf('{"id":"target"}'), at(5)).match, undefined);
    assert.deepEqual(search(entries, filterOf('{"id":"target"}'), at(6)).match?.cutoff, at(5));
  });

  it('an undecided match that could be first is refused at the end of the input; one prepared after a settled match is never read', () => {
    assert.throws(() => search([insert(1, 'a'), prepare(2, 1, ['target']), insert(3, 'b')], filterOf('{"id":"target"}')), /is in a transaction whose commit or abort is not archived yet/);
    // Prepared at 2 and undecided: it could commit at any T >= 2, before the plain match at 3 too.
    assert.throws(() => search([prepare(2, 1, ['target']), insert(3, 'target')], filterOf('{"id":"target"}')), /not archived yet/);
    // A plain match at 3 settles the search before the later prepare is read.
    assert.deepEqual(search([insert(3, 'target'), prepare(5, 1, ['target'])], filterOf('{"id":"target"}')).match?.cutoff, at(3));
  });
});

let dir = '';
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'first-visible-'))));
after(async () => rm(dir, { recursive: true, force: true }));

describe('findFirstVisibleOp on a store', () => {
  it("reads the chunks up to the one holding the match's decision, not the ones after it", async () => {
    const store = new FolderStore(join(dir, 'reads'));
    const chain = await chainOfEntries(store, [
      [insert(1, 'a'), prepare(2, 1, ['target'])],
      [insert(3, 'b')],
      [commit(6, 1, 5, 2)],
      [insert(7, 'target')],
      [insert(8, 'c')],
    ]);
    const gets: string[] = [];
    const get = store.get.bind(store);
    store.get = (key, options) => (gets.push(key), get(key, options));
    const match = await findFirstVisibleOp(store, filterOf('{"id":"target"}'));
    assert.deepEqual(match?.cutoff, at(5));
    assert.deepEqual(gets.filter((key) => key !== 'manifest.json' && !key.endsWith('.json')), [chain.base.oplog.key, ...chain.chunks.slice(0, 3).map((chunk) => chunk.key)]);
  });

  it('find still lists the ops of an aborted transaction (an archive search shows what was logged); --before-first passes them over', async () => {
    const store = new FolderStore(join(dir, 'aborted'));
    await chainOfEntries(store, [[prepare(2, 1, ['target']), abort(3, 1, 2), insert(4, 'target')]]);
    const filter = filterOf('{"id":"target"}');
    const found = [];
    for await (const op of findOps({ store, filter })) found.push(op);
    assert.deepEqual(found.map((op) => [op.ts.i, op.inTransaction]), [[2, true], [4, false]]);
    assert.deepEqual((await findFirstVisibleOp(store, filter))?.op.ts, at(4));
  });
});
