// restore --before-first restores to just before the first matched write became VISIBLE, through
// the CLI (--dry-run --json) on a folder store holding chains in the exact shapes mongod logs:
//   - mongodb/mongo src/mongo/db/op_observer/op_observer_impl.cpp: onTransactionPrepare writes the
//     applyOps with `prepare: true` (after any `partialTxn: true` applyOps of the same
//     transaction, linked by prevOpTime), lsid, txnNumber; onPreparedTransactionCommit writes
//     {commitTransaction: 1, commitTimestamp: T} at its own ts X; onPreparedTransactionAbort
//     {abortTransaction: 1}; an unprepared transaction larger than one entry is `partialTxn`
//     applyOps then a final applyOps without it, in slots reserved together at commit
//     (src/mongo/db/transaction/transaction_participant.cpp commitUnpreparedTransaction,
//     repl::getNextOpTimes);
//   - transaction_participant.cpp commitPreparedTransaction: prepare ts P <= T <= X, and the
//     writes become visible at T.
// Each test failed on the code before first-visible-op.ts, which cut at the matched entry's own ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Binary, Long, Timestamp, UUID, type Document } from 'mongodb';
import { FolderStore } from '../../src/store/folder-store.ts';
import { runCli } from '../support/cli.ts';
import { chainOfEntries } from '../support/entry-chain.ts';
import { START_T } from '../support/synthetic-chain.ts';

const T = START_T + 1;
const ts = (i: number) => new Timestamp({ t: T, i });
const NULL_PREV = { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) };
const session = (n: number) => ({ id: new UUID(`0f1e2d3c-4b5a-4697-8876-65544332211${n}`), uid: new Binary(Buffer.alloc(32, 7)) });
const common = (i: number) => ({ ts: ts(i), t: Long.fromNumber(1), v: 2, wall: new Date(T * 1000 + i) });
const SHOP = { ns: 'shop.orders', ui: new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9') };
const OTHER = { ns: 'other.logs', ui: new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fa') };
const op = (coll: typeof SHOP, id: string): Document => ({ op: 'i', ns: coll.ns, ui: coll.ui, o: { _id: id }, o2: { _id: id } });
const insert = (i: number, coll: typeof SHOP, id: string): Document => ({ ...common(i), op: 'i', ns: coll.ns, ui: coll.ui, o: { _id: id }, o2: { _id: id } });
/** An entry of transaction n (its session, txnNumber 5), linked to its previous entry at prevI. */
const txn = (i: number, n: number, o: Document, prevI?: number): Document => ({
  ...common(i), op: 'c', ns: 'admin.$cmd', lsid: session(n), txnNumber: Long.fromNumber(5),
  prevOpTime: prevI === undefined ? NULL_PREV : { ts: ts(prevI), t: Long.fromNumber(1) }, o,
});
const prepare = (i: number, n: number, ops: Document[], prevI?: number) => txn(i, n, { applyOps: ops, prepare: true }, prevI);
const commit = (i: number, n: number, commitTimestamp: number, prepareI: number) => txn(i, n, { commitTransaction: 1, commitTimestamp: ts(commitTimestamp) }, prepareI);

interface DryRun {
  code: number | null;
  stderr: string;
  result: {
    oplogEntries?: number;
    receipt?: { lastApplied: { ts: string } | null; preparedTransactions: { committed: number; committedAtOrAfterCutoff: number; aborted: number } };
    beforeFirst?: { ts: string; cutoff?: string; visibleAt?: string; decidedBy?: string; until?: string };
  };
  lines: string;
}

let dir = '';
let stores = 0;
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'before-first-visible-'))));
after(async () => rm(dir, { recursive: true, force: true }));

/** A chain of these chunks in a new folder store, then `restore --dry-run --before-first filter`. */
async function dryRun(chunks: Document[][], filter: string, options: { text?: boolean } = {}): Promise<DryRun> {
  const path = join(dir, `store-${stores++}`);
  const store = new FolderStore(path);
  await chainOfEntries(store, chunks, { openPrepares: true });
  await store.close();
  const json = await runCli(['--json', 'restore', '--store', path, '--dry-run', '--before-first', filter]);
  const text = options.text ? await runCli(['restore', '--store', path, '--dry-run', '--before-first', filter]) : undefined;
  const last = json.stdout.trim().split('\n').at(-1) ?? '{}';
  return { code: json.code, stderr: json.stderr, result: json.code === 0 ? JSON.parse(last) : {}, lines: text ? text.stdout + text.stderr : '' };
}

const at = (i: number) => `${T}:${i}`;

describe('restore --before-first: the cutoff is where the first match became visible', () => {
  it('a match in a prepared transaction: cut at its commitTimestamp, so the writes between its prepare and T are applied and the transaction is not', async () => {
    const run = await dryRun([
      [insert(1, SHOP, 'before'), prepare(3, 1, [op(SHOP, 'target')]), insert(4, SHOP, 'between'), insert(5, OTHER, 'between too')],
      [commit(7, 1, 6, 3), insert(8, SHOP, 'after')],
    ], '{"ns":"shop.orders","id":"target"}', { text: true });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.result.receipt?.lastApplied?.ts, at(5), 'the writes in [P, T) are applied');
    assert.equal(run.result.beforeFirst?.ts, at(3), 'the match is reported where find shows it: its prepare entry');
    assert.equal(run.result.beforeFirst?.cutoff, at(6));
    assert.equal(run.result.beforeFirst?.visibleAt, 'commit-timestamp');
    assert.equal(run.result.beforeFirst?.decidedBy, at(7));
    assert.equal(run.result.beforeFirst?.until, at(6));
    assert.deepEqual(run.result.receipt?.preparedTransactions, { committed: 0, committedAtOrAfterCutoff: 1, aborted: 0 });
    assert.match(run.lines, new RegExp(`cutoff .*\\[${at(6)}\\], where the first match became visible \\(its prepared transaction's commitTimestamp, logged at ${at(7)}\\).*--until ${at(6)}`));
  });

  it("an aborted transaction's op never became visible: the first match is the next one", async () => {
    const run = await dryRun([
      [insert(1, SHOP, 'before'), prepare(3, 1, [op(SHOP, 'target')]), insert(4, OTHER, 'kept'), txn(5, 1, { abortTransaction: 1 }, 3), insert(6, OTHER, 'kept too')],
      [insert(8, SHOP, 'target'), insert(9, SHOP, 'after')],
    ], '{"ns":"shop.orders","id":"target"}');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.result.receipt?.lastApplied?.ts, at(6));
    assert.equal(run.result.beforeFirst?.ts, at(8));
    assert.equal(run.result.beforeFirst?.cutoff, at(8));
    assert.equal(run.result.beforeFirst?.visibleAt, 'op');
  });

  it('a matched commitTransaction entry: cut at its commitTimestamp, not at its own ts (which would apply the transaction)', async () => {
    const run = await dryRun([
      [insert(1, SHOP, 'before'), prepare(3, 1, [op(SHOP, 'in the transaction')]), insert(4, SHOP, 'between')],
      [commit(7, 1, 5, 3), insert(8, SHOP, 'after')],
    ], '{"op":"c","command":"commitTransaction"}');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.result.receipt?.lastApplied?.ts, at(4));
    assert.equal(run.result.beforeFirst?.ts, at(7));
    assert.equal(run.result.beforeFirst?.cutoff, at(5));
    assert.equal(run.result.beforeFirst?.visibleAt, 'commit-timestamp');
    assert.deepEqual(run.result.receipt?.preparedTransactions, { committed: 0, committedAtOrAfterCutoff: 1, aborted: 0 });
  });

  it("a match in an unprepared partialTxn chain: cut at the chain's final (commit) entry, where replay applies it", async () => {
    const run = await dryRun([
      [insert(1, SHOP, 'before'), txn(3, 1, { applyOps: [op(SHOP, 'target')], partialTxn: true }), txn(4, 1, { applyOps: [op(SHOP, 'second')], partialTxn: true }, 3)],
      [txn(5, 1, { applyOps: [op(SHOP, 'third')] }, 4), insert(6, SHOP, 'after')],
    ], '{"ns":"shop.orders","id":"target"}');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.result.receipt?.lastApplied?.ts, at(1));
    assert.equal(run.result.beforeFirst?.ts, at(3));
    assert.equal(run.result.beforeFirst?.cutoff, at(5));
    assert.equal(run.result.beforeFirst?.visibleAt, 'transaction-commit');
    // The chain's slots are reserved together at commit: nothing lies between its entries, and the
    // transaction is not applied either way.
    assert.equal(run.result.oplogEntries, 2, "the base's op and 'before'");
  });

  it('a match in a partialTxn entry of a prepared transaction: cut at its commitTimestamp', async () => {
    const run = await dryRun([
      [insert(1, SHOP, 'before'), txn(3, 1, { applyOps: [op(SHOP, 'target')], partialTxn: true }), prepare(4, 1, [op(SHOP, 'second')], 3), insert(5, OTHER, 'between')],
      [commit(8, 1, 6, 4), insert(9, SHOP, 'after')],
    ], '{"ns":"shop.orders","id":"target"}');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.result.receipt?.lastApplied?.ts, at(5));
    assert.equal(run.result.beforeFirst?.ts, at(3));
    assert.equal(run.result.beforeFirst?.cutoff, at(6));
  });

  it('a plain op visible before a transaction prepared earlier is the first match', async () => {
    const later = await dryRun([
      [insert(1, OTHER, 'before'), prepare(3, 1, [op(SHOP, 'in the transaction')]), insert(4, OTHER, 'between'), insert(5, SHOP, 'plain')],
      [commit(7, 1, 6, 3), insert(8, SHOP, 'after')],
    ], '{"ns":"shop.orders","op":"i"}');
    assert.equal(later.code, 0, later.stderr);
    assert.equal(later.result.receipt?.lastApplied?.ts, at(4), 'the write between the prepare and the plain match is applied');
    assert.equal(later.result.beforeFirst?.ts, at(5));
    assert.equal(later.result.beforeFirst?.cutoff, at(5));
    assert.equal(later.result.beforeFirst?.visibleAt, 'op');
  });

  it("a match whose transaction's decision is not archived is refused as a cutoff past an undecided prepare is", async () => {
    const run = await dryRun([
      [insert(1, SHOP, 'before'), prepare(3, 1, [op(SHOP, 'target')]), insert(4, SHOP, 'after')],
    ], '{"ns":"shop.orders","id":"target"}', { text: true });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lines, new RegExp(`^mongo-pitr: usage error: the first match of --before-first .* is in a transaction whose commit or abort is not archived yet`));
    assert.match(run.lines, new RegExp(`--until ${at(3)}`));
  });
});
