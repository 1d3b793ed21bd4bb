// restore --before-first on a cluster store: the first match across members, and a match inside
// a cross-shard prepared transaction. Entries in the shapes a shard logs them
// (mongodb/mongo src/mongo/db/op_observer/op_observer_impl.cpp onTransactionPrepare /
// onPreparedTransactionCommit, src/mongo/db/repl/oplog_entry.h): the prepare is an applyOps with
// `prepare: true`, lsid, txnNumber, prevOpTime; the commit is {commitTransaction: 1,
// commitTimestamp: T} at its own later ts. The coordinator gives every participant the same T,
// no smaller than any participant's prepare ts (src/mongo/db/s/transaction_coordinator_util.cpp).
// Cluster times order causally related ops across shards (src/mongo/db/vector_clock/vector_clock.cpp).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Long, Timestamp, UUID, type Document } from 'mongodb';
import { clusterCutoffAt, earliestMatch, firstMatchLines } from '../../../src/cluster/cluster-before-first.ts';
import { compileOpFilter, firstMatchIn, formatFoundOp, parseOpFilterJson, type OpFilter } from '../../../src/restore/find-ops.ts';
import { FirstVisibleSearch, type VisibleMatch } from '../../../src/restore/first-visible-op.ts';
import { commitTimestampOf, preparedCommitApplies } from '../../../src/restore/prepared-cutoff.ts';
import { isBeforeCutoff, tsFromBson, type Ts } from '../../../src/timestamp.ts';
import { chooseWindow } from '../../../src/cluster/cluster-restore.ts';
import { UsageError } from '../../../src/errors.ts';
import type { OplogEntry } from '../../../src/oplog-entry.ts';

const SECS = 1764583000;
const ts = (i: number) => new Timestamp({ t: SECS, i });
const wall = (i: number) => new Date(SECS * 1000 + i);
const lsid = { id: new UUID('0d8f3b5e-6c1a-4d2e-9f3b-5e6c1a4d2e9f'), uid: Buffer.alloc(32) };
const txnNumber = Long.fromNumber(3);
const T = ts(8); // the shared commitTimestamp: >= both prepares (5 and 7)

function insert(i: number, ns: string, id: number): OplogEntry {
  return { op: 'i', ns, ui: new UUID(), o: { _id: id, k: id }, o2: { _id: id }, ts: ts(i), t: Long.fromNumber(1), v: Long.fromNumber(2), wall: wall(i) } as unknown as OplogEntry;
}

function prepare(i: number, ops: Document[]): OplogEntry {
  return { op: 'c', ns: 'admin.$cmd', o: { applyOps: ops, prepare: true }, lsid, txnNumber, stmtId: 0, prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) }, ts: ts(i), t: Long.fromNumber(1), v: Long.fromNumber(2), wall: wall(i) } as unknown as OplogEntry;
}

function commit(i: number, prepareAt: number): OplogEntry {
  return { op: 'c', ns: 'admin.$cmd', o: { commitTransaction: 1, commitTimestamp: T }, lsid, txnNumber, prevOpTime: { ts: ts(prepareAt), t: Long.fromNumber(1) }, ts: ts(i), t: Long.fromNumber(1), v: Long.fromNumber(2), wall: wall(i) } as unknown as OplogEntry;
}

const innerInsert = (id: number) => ({ op: 'i', ns: 'app.orders', ui: new UUID(), o: { _id: id, k: id }, o2: { _id: id } });

// Two shards' oplogs around one cross-shard transaction inserting _id 7 (shard01) and 107 (shard02).
const shard01 = [insert(2, 'app.orders', 1), prepare(5, [innerInsert(7)]), commit(9, 5), insert(11, 'app.orders', 2)];
const shard02 = [insert(3, 'app.orders', 101), insert(6, 'app.orders', 102), prepare(7, [innerInsert(107)]), commit(10, 7), insert(12, 'app.orders', 103)];

/** A member's first match by visibility (first-visible-op.ts's search over one member's chain, in memory). */
function firstOf(entries: readonly OplogEntry[], filter: OpFilter, bound?: Ts): VisibleMatch | undefined {
  const search = new FirstVisibleSearch(bound);
  for (const entry of entries) {
    if (search.settled(tsFromBson(entry.ts))) break;
    search.push(entry, firstMatchIn(entry, filter, { chainId: 'c1', key: 'k' }));
  }
  return search.result(filter);
}

const filterOf = (json: string) => compileOpFilter(parseOpFilterJson(json, '--before-first'), json);
const member = (name: string) => ({ name, role: 'shard' as const, setName: `rs-${name}` });
const matchesOf = (filter: OpFilter, bound?: Ts) => [
  { member: member('shard01'), match: firstOf(shard01, filter, bound) },
  { member: member('shard02'), match: firstOf(shard02, filter, bound) },
].flatMap((m) => (m.match ? [{ ...m.match, member: m.member }] : []));

describe('cluster --before-first', () => {
  it('takes the smallest cutoff across members, the member listed first on a tie', () => {
    const at = (i: number) => ({ cutoff: tsFromBson(ts(i)) });
    assert.equal(earliestMatch([at(9), undefined, at(4), at(6)])?.cutoff.i, 4);
    const a = { ...at(4), name: 'a' };
    const b = { ...at(4), name: 'b' };
    assert.equal(earliestMatch([a, b])?.name, 'a');
    assert.equal(earliestMatch([undefined, undefined]), undefined);
  });

  // Failed before: the cutoff was shard01's prepare ts (5), which dropped shard02's insert at 6,
  // visible before the transaction (T = 8) on every shard.
  it('a match inside a prepared cross-shard transaction: cut at its commitTimestamp, so the transaction applies on no shard and every write before T on every shard', () => {
    // The transaction's op on shard01 (_id 7, prepared there at 5) is matched.
    const filter = filterOf('{"ns":"app.orders","id":7}');
    const first = earliestMatch(matchesOf(filter));
    assert.ok(first);
    assert.equal(first.member.name, 'shard01');
    assert.equal(first.op.inTransaction, true);
    assert.deepEqual(first.op.ts, { t: SECS, i: 5 }, 'find still reports the op at its prepare entry');
    const cutoff = clusterCutoffAt(first);
    assert.deepEqual(cutoff.ts, tsFromBson(T));
    assert.equal(first.visibleAt, 'commit-timestamp');
    // The transaction is decided by T on both shards: not applied on either (T=8, cutoff 8).
    for (const entries of [shard01, shard02]) {
      const commitEntry = entries.find((entry) => commitTimestampOf(entry) !== undefined);
      const decidedAt = commitEntry && commitTimestampOf(commitEntry);
      assert.ok(decidedAt);
      assert.equal(preparedCommitApplies(decidedAt, cutoff), false);
    }
    // Every plain entry before T is applied on its shard: shard02's 102 at 6 too, between shard01's prepare (5) and T.
    const applied = [...shard01, ...shard02].filter((entry) => entry.op === 'i' && isBeforeCutoff(tsFromBson(entry.ts), entry.wall, cutoff)).map((entry) => entry.o._id);
    assert.deepEqual(applied.sort((x, y) => Number(x) - Number(y)), [1, 101, 102]);
    const lines = firstMatchLines(first, formatFoundOp).join('\n');
    assert.match(lines, /on shard shard01 \(rs-shard01\).*\n.*cutoff 1764583000:8 for every member, where the first match became visible \(its prepared transaction's commitTimestamp, logged at 1764583000:9\).*--until 1764583000:8/);
  });

  it('a plain insert visible before the transaction wins over the transaction prepared earlier on another shard', () => {
    const filter = filterOf('{"ns":"app.orders","op":"i","from":"1764583000:4"}');
    const found = matchesOf(filter);
    assert.equal(found.find((m) => m.member.name === 'shard01')?.cutoff.i, 8, "shard01's own first match is its transaction, visible at T");
    const first = earliestMatch(found);
    assert.equal(first?.member.name, 'shard02');
    assert.equal(first?.op.inTransaction, false);
    assert.deepEqual(first && clusterCutoffAt(first).ts, { t: SECS, i: 6 });
  });

  it('a later member is searched only for a match visible before the best so far', () => {
    const filter = filterOf('{"ns":"app.*"}');
    assert.equal(firstOf(shard02, filter, { t: SECS, i: 6 })?.cutoff.i, 3);
    assert.equal(firstOf(shard01.slice(1), filter, { t: SECS, i: 8 }), undefined, 'a transaction visible at the bound itself is not earlier');
    assert.equal(firstOf(shard01.slice(1), filter, { t: SECS, i: 9 })?.cutoff.i, 8);
  });

  it('a first match outside every cluster window is refused in one line, naming the op and its member, not passed over for a later match', () => {
    const filter = filterOf('{"ns":"app.orders","id":107}');
    const match = firstOf(shard02, filter);
    assert.ok(match);
    const window = { baseId: 'b1', from: { t: SECS, i: 9 }, fromWall: null, to: { t: SECS, i: 20 }, toWall: null, chains: new Map(), limits: [] };
    assert.throws(
      () => chooseWindow({ report: { windows: [window], limits: [] } } as never, clusterCutoffAt({ ...match, member: member('shard02') })),
      (error: unknown) => error instanceof UsageError && /^cutoff 1764583000:8 \(before the commitTimestamp of the prepared transaction holding i app\.orders .*\) on shard02 \(1764583000:8\) is outside the cluster's restorable windows/.test(error.message),
    );
  });
});
