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
import { beforeBound, clusterCutoffAt, earliestMatch, firstMatchLines } from '../../../src/cluster/cluster-before-first.ts';
import { candidatesOf, compileOpFilter, formatFoundOp, parseOpFilterJson, type FoundOp, type OpFilter } from '../../../src/restore/find-ops.ts';
import { commitTimestampOf, preparedCommitApplies } from '../../../src/restore/prepared-cutoff.ts';
import { isBeforeCutoff, tsFromBson } from '../../../src/timestamp.ts';
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

/** A member's first match as find-ops.ts reports it (the scan of one member's chain, in memory). */
function firstOf(entries: readonly OplogEntry[], filter: OpFilter): FoundOp | undefined {
  for (const entry of entries) {
    const candidate = candidatesOf(entry).find((c) => filter.matches(c));
    if (candidate) return { ts: candidate.ts, wall: null, ns: String(candidate.doc.ns), op: String(candidate.doc.op), command: null, id: candidate.doc.o?._id, inTransaction: candidate.inTransaction, summary: '', chainId: 'c1', key: 'k' };
  }
  return undefined;
}

const filterOf = (json: string) => compileOpFilter(parseOpFilterJson(json, '--before-first'), json);
const member = (name: string) => ({ name, role: 'shard' as const, setName: `rs-${name}` });

describe('cluster --before-first', () => {
  it('takes the smallest ts across members, the member listed first on a tie', () => {
    const at = (i: number) => ({ op: { ts: tsFromBson(ts(i)) } });
    assert.equal(earliestMatch([at(9), undefined, at(4), at(6)])?.op.ts.i, 4);
    const a = { ...at(4), name: 'a' };
    const b = { ...at(4), name: 'b' };
    assert.equal(earliestMatch([a, b])?.name, 'a');
    assert.equal(earliestMatch([undefined, undefined]), undefined);
  });

  it('a match inside a prepared cross-shard transaction: cut at its prepare, so the transaction applies on no shard and every earlier entry on every shard', () => {
    // The transaction's op on shard02 (_id 107) is matched; shard01's half of it is not.
    const filter = filterOf('{"ns":"app.orders","id":107}');
    const found = [
      { member: member('shard01'), op: firstOf(shard01, filter) },
      { member: member('shard02'), op: firstOf(shard02, filter) },
    ].flatMap((m) => (m.op ? [{ member: m.member, op: m.op }] : []));
    const first = earliestMatch(found);
    assert.ok(first);
    assert.equal(first.member.name, 'shard02');
    assert.equal(first.op.inTransaction, true);
    const cutoff = clusterCutoffAt(first);
    assert.deepEqual(cutoff.ts, { t: SECS, i: 7 });
    // The transaction is decided by T on both shards: not applied on either (T=8 >= cutoff 7),
    // although shard01 prepared its half earlier, at 5.
    for (const entries of [shard01, shard02]) {
      const commitEntry = entries.find((entry) => commitTimestampOf(entry) !== undefined);
      const decidedAt = commitEntry && commitTimestampOf(commitEntry);
      assert.ok(decidedAt);
      assert.equal(preparedCommitApplies(decidedAt, cutoff), false);
    }
    // Every plain entry before the cutoff is applied on its shard (1 and 101, 102), none after.
    const applied = [...shard01, ...shard02].filter((entry) => entry.op === 'i' && isBeforeCutoff(tsFromBson(entry.ts), entry.wall, cutoff)).map((entry) => entry.o._id);
    assert.deepEqual(applied.sort((x, y) => Number(x) - Number(y)), [1, 101, 102]);
    assert.match(firstMatchLines(first, formatFoundOp).join('\n'), /on shard shard02 \(rs-shard02\).*\n.*--until 1764583000:7/);
  });

  it('the earliest match wins whichever shard holds it: a prepare on shard01 before a plain insert on shard02', () => {
    const filter = filterOf('{"ns":"app.orders","op":"i","from":"1764583000:4"}');
    const found = [{ member: member('shard01'), op: firstOf(shard01, filter) }, { member: member('shard02'), op: firstOf(shard02, filter) }];
    assert.equal(found[1]?.op?.ts.i, 6, "shard02's own first match is its plain insert at 6");
    const first = earliestMatch(found.flatMap((m) => (m.op ? [{ member: m.member, op: m.op }] : [])));
    assert.equal(first?.member.name, 'shard01');
    assert.equal(first?.op.inTransaction, true);
    assert.deepEqual(first && clusterCutoffAt(first).ts, { t: SECS, i: 5 });
  });

  it('beforeBound narrows later members to ops strictly before the best match', () => {
    const filter = filterOf('{"ns":"app.*"}');
    const bounded = beforeBound(filter, { t: SECS, i: 6 });
    assert.equal(firstOf(shard02, bounded)?.ts.i, 3);
    assert.equal(firstOf(shard01.slice(1), beforeBound(filter, { t: SECS, i: 5 })), undefined, 'a match at the bound itself is not earlier');
    assert.equal(bounded.mayMatchObject({ firstTs: { t: SECS, i: 6 }, lastTs: { t: SECS, i: 9 }, count: 3 } as never), false);
    assert.equal(bounded.mayMatchObject({ firstTs: { t: SECS, i: 5 }, lastTs: { t: SECS, i: 9 }, count: 3, key: 'k' } as never), true);
  });

  it('a first match outside every cluster window is refused in one line, naming the op and its member, not passed over for a later match', () => {
    const filter = filterOf('{"ns":"app.orders","id":107}');
    const op = firstOf(shard02, filter);
    assert.ok(op);
    const window = { baseId: 'b1', from: { t: SECS, i: 9 }, fromWall: null, to: { t: SECS, i: 20 }, toWall: null, chains: new Map(), limits: [] };
    assert.throws(
      () => chooseWindow({ report: { windows: [window], limits: [] } } as never, clusterCutoffAt({ member: member('shard02'), op })),
      (error: unknown) => error instanceof UsageError && /^cutoff 1764583000:7 \(before i app\.orders .*\) on shard02 \(1764583000:7\) is outside the cluster's restorable windows/.test(error.message),
    );
  });
});
