// Prepared (distributed) transactions at a cutoff, decided by commitTimestamp.
// Entry shapes: db/op_observer/op_observer_impl.cpp (onTransactionPrepare writes the applyOps with
// `prepare: true`, lsid, txnNumber, prevOpTime; onPreparedTransactionCommit writes
// `{commitTransaction: 1, commitTimestamp}` in the slot reserved after it), db/repl/oplog_entry.h,
// db/transaction/transaction_participant.cpp (commitPreparedTransaction: commitTimestamp >=
// prepareTimestamp; the commit entry's ts >= commitTimestamp), db/s/transaction_coordinator.cpp
// (one commitTimestamp for every participant: the max prepare timestamp + 1 ordinal).
import { instantText } from '../../../src/words.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BSON, Binary, Long, Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { UsageError } from '../../../src/errors.ts';
import { parseCutoff, type Cutoff } from '../../../src/timestamp.ts';
import {
  commitTimestampOf,
  prepareNeedsDecision,
  preparedCommitApplies,
  PrepareTracker,
  undecidedPrepares,
} from '../../../src/restore/prepared-cutoff.ts';
import { TransactionBuffer } from '../../../src/restore/transaction-buffer.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';
import { replay } from '../../../src/restore/replay.ts';
import { RecordingApplier } from '../../support/recording-applier.ts';

const T0 = 1_764_583_200; // 2025-12-01T10:00:00Z
const ts = (i: number, t = T0): Timestamp => new Timestamp({ t, i });
const wallOf = (i: number, t = T0): Date => new Date(t * 1000 + i * 10);
const cutoffAt = (i: number): Cutoff => ({ ts: { t: T0, i }, input: `${T0}:${i}` });
const SESSION = { id: new UUID('0f1e2d3c-4b5a-4697-8876-655443322110'), uid: new Binary(Buffer.alloc(32, 7)) };
const OTHER_SESSION = { id: new UUID('0f1e2d3c-4b5a-4697-8876-655443322111'), uid: new Binary(Buffer.alloc(32, 7)) };
const UI = new UUID('11111111-2222-4333-8444-555555555555');

function insert(i: number, id: number, t = T0): OplogEntry {
  return { op: 'i', ns: 'shop.orders', ui: UI, o: { _id: id }, o2: { _id: id }, ts: ts(i, t), t: Long.fromNumber(1), v: 2, wall: wallOf(i, t) };
}

/** The prepare entry of a one-entry prepared transaction, as a shard writes it. */
function prepare(i: number, ids: number[], lsid: Document = SESSION, t = T0): OplogEntry {
  return {
    op: 'c', ns: 'admin.$cmd', ts: ts(i, t), t: Long.fromNumber(1), v: 2, wall: wallOf(i, t),
    lsid, txnNumber: Long.fromNumber(3), stmtId: ids.map((_, n) => n),
    prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) },
    o: { applyOps: ids.map((id) => ({ op: 'i', ns: 'shop.orders', ui: UI, o: { _id: id }, o2: { _id: id } })), prepare: true },
  };
}

function commit(i: number, commitTimestamp: Timestamp, prepareI: number, lsid: Document = SESSION, t = T0): OplogEntry {
  return {
    op: 'c', ns: 'admin.$cmd', ts: ts(i, t), t: Long.fromNumber(1), v: 2, wall: wallOf(i, t),
    lsid, txnNumber: Long.fromNumber(3), prevOpTime: { ts: ts(prepareI, t), t: Long.fromNumber(1) },
    o: { commitTransaction: 1, commitTimestamp },
  };
}

function abort(i: number, prepareI: number, lsid: Document = SESSION): OplogEntry {
  return {
    op: 'c', ns: 'admin.$cmd', ts: ts(i), t: Long.fromNumber(1), v: 2, wall: wallOf(i),
    lsid, txnNumber: Long.fromNumber(3), prevOpTime: { ts: ts(prepareI), t: Long.fromNumber(1) },
    o: { abortTransaction: 1 },
  };
}

describe('the decision, pure', () => {
  it('reads commitTimestamp from a commitTransaction entry only', () => {
    assert.deepEqual(commitTimestampOf(commit(60, ts(40), 10)), { t: T0, i: 40 });
    assert.equal(commitTimestampOf(abort(60, 10)), undefined);
    assert.equal(commitTimestampOf(prepare(10, [1])), undefined);
  });

  it('applies a commit iff commitTimestamp < cutoff (oplogLimit semantics)', () => {
    assert.equal(preparedCommitApplies({ t: T0, i: 49 }, cutoffAt(50)), true);
    assert.equal(preparedCommitApplies({ t: T0, i: 50 }, cutoffAt(50)), false);
    assert.equal(preparedCommitApplies({ t: T0, i: 50 }, undefined), true);
  });

  it('under a millisecond cutoff, applies only a commitTimestamp of an earlier second (no wall clock is shared by the shards)', () => {
    const cutoff = parseCutoff(new Date((T0 + 1) * 1000 + 500).toISOString());
    assert.equal(preparedCommitApplies({ t: T0, i: 900 }, cutoff), true);
    assert.equal(preparedCommitApplies({ t: T0 + 1, i: 1 }, cutoff), false);
    assert.equal(prepareNeedsDecision({ t: T0, i: 900 }, undefined, cutoff), true);
    assert.equal(prepareNeedsDecision({ t: T0 + 1, i: 1 }, wallOf(1, T0 + 1), cutoff), false);
  });

  it('needs the decision only of prepares before the cutoff (commitTimestamp >= prepare ts)', () => {
    assert.equal(prepareNeedsDecision({ t: T0, i: 49 }, undefined, cutoffAt(50)), true);
    assert.equal(prepareNeedsDecision({ t: T0, i: 50 }, undefined, cutoffAt(50)), false);
    assert.equal(prepareNeedsDecision({ t: T0, i: 1 }, undefined, undefined), false);
  });
});

describe('undecidedPrepares', () => {
  it('gives the earliest prepare whose commit or abort is not in the input', () => {
    const entries = [prepare(10, [1]), insert(11, 9), prepare(12, [2], OTHER_SESSION), commit(20, ts(13), 10), insert(21, 10)];
    assert.deepEqual(undecidedPrepares(entries), { t: T0, i: 12 });
    assert.equal(undecidedPrepares([...entries, abort(22, 12, OTHER_SESSION)]), undefined);
  });

  it('reads a tail from anywhere: a decision whose prepare it never saw is ignored', () => {
    assert.equal(undecidedPrepares([commit(20, ts(13), 10), insert(21, 1)]), undefined);
    const tracker = new PrepareTracker();
    tracker.push(insert(1, 1));
    tracker.push(prepare(2, [5]));
    assert.deepEqual(tracker.undecided().map((p) => p.ts), [{ t: T0, i: 2 }]);
  });

  it('carries the open prepares from one read to the next (chunk by chunk)', () => {
    const first = new PrepareTracker();
    for (const entry of [prepare(10, [1]), insert(11, 2)]) first.push(entry);
    const carried = JSON.parse(JSON.stringify(first.open()));
    const second = new PrepareTracker(carried);
    assert.deepEqual(second.earliestUndecided(), { t: T0, i: 10 });
    second.push(commit(20, ts(12), 10));
    assert.equal(second.earliestUndecided(), undefined);
  });

  it('tracks the transaction buffer\'s open prepares the same way', () => {
    const buffer = new TransactionBuffer();
    for (const entry of [prepare(10, [1]), insert(11, 2)]) buffer.push(entry);
    assert.deepEqual(buffer.awaitingDecision(cutoffAt(50)).map((txn) => txn.lastTs), [{ t: T0, i: 10 }]);
    assert.deepEqual(buffer.awaitingDecision(cutoffAt(10)), []);
  });
});

let dir = '';
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'prepared-cutoff-'))));
after(async () => rm(dir, { recursive: true, force: true }));
let fileNumber = 0;
async function oplogFile(entries: readonly OplogEntry[]): Promise<string> {
  const file = join(dir, `${fileNumber++}.bson`);
  await writeFile(file, Buffer.concat(entries.map((entry) => BSON.serialize(entry))));
  return file;
}

async function replayed(files: OplogEntry[][], cutoff: Cutoff | undefined, decisionFiles?: OplogEntry[][]): Promise<{ ids: unknown[]; opened: boolean }> {
  const applier = new RecordingApplier();
  const paths = await Promise.all(files.map(oplogFile));
  const later = decisionFiles ? await Promise.all(decisionFiles.map(oplogFile)) : undefined;
  let opened = false;
  await replay({
    applier,
    files: paths,
    decisionFiles: later ? () => ((opened = true), later) : undefined,
    cutoff,
    namespaces: compileNamespaceMapper({}),
    lanes: 1,
  });
  // Replay decodes without promoting values: _id arrives as Int32.
  return { ids: applier.crud.map((entry) => Number((entry.o as { _id: unknown })._id)), opened };
}

describe('replay at a cutoff with prepared transactions', () => {
  const C = cutoffAt(50);

  it('applies a transaction prepared before C, committed at T < C, whose commit entry is after C', async () => {
    const { ids } = await replayed([[insert(5, 1), prepare(10, [100, 101]), insert(45, 2), insert(55, 3), commit(60, ts(40), 10), insert(61, 4)]], C);
    assert.deepEqual(ids, [1, 2, 100, 101]);
  });

  it('applies a large prepared transaction (partialTxn entries, then the prepare) whole, by its commitTimestamp', async () => {
    const partial: OplogEntry = { ...prepare(8, [100]), o: { applyOps: [{ op: 'i', ns: 'shop.orders', ui: UI, o: { _id: 100 }, o2: { _id: 100 } }], partialTxn: true } };
    const last: OplogEntry = { ...prepare(10, [101]), prevOpTime: { ts: ts(8), t: Long.fromNumber(1) } };
    const { ids } = await replayed([[insert(5, 1), partial, { ...last, ts: ts(9) }, insert(55, 2), commit(60, ts(40), 9)]], C); // the applyOps of a prepare are written in contiguous slots
    assert.deepEqual(ids, [1, 100, 101]);
  });

  it('does not apply it when T >= C', async () => {
    const { ids } = await replayed([[insert(5, 1), prepare(10, [100]), insert(45, 2), commit(60, ts(50), 10)]], C);
    assert.deepEqual(ids, [1, 2]);
  });

  it('does not apply an aborted one', async () => {
    const { ids } = await replayed([[prepare(10, [100]), insert(45, 2), insert(55, 3), abort(60, 10)]], C);
    assert.deepEqual(ids, [2]);
  });

  it('refuses a cutoff past a prepare whose decision is not archived, naming the prepare', async () => {
    await assert.rejects(
      replayed([[insert(5, 1), prepare(10, [100]), insert(45, 2), insert(55, 3)]], C),
      // 1764583200 is 2025-12-01T10:00:00Z: the prepare's time first, its position beside it.
      (error: unknown) => error instanceof UsageError && error.message.includes(`prepared at ${instantText(1764583200_000, {})} [1764583200:10] whose`) &&
        (error.hint ?? '').includes('at or before it (--until 1764583200:10, or 2025-12-01T10:00:00.000Z)'),
    );
    // At or before the prepare, the cutoff is restorable: the decision does not matter there.
    assert.deepEqual((await replayed([[insert(5, 1), prepare(10, [100]), insert(45, 2)]], cutoffAt(10))).ids, [1]);
  });

  it('reads the chunks past the cutoff only while a decision is missing', async () => {
    const needed = await replayed([[insert(5, 1), prepare(10, [100])], [insert(48, 2), insert(52, 3)]], C, [[insert(58, 4), commit(60, ts(30), 10)], [insert(70, 5)]]);
    assert.deepEqual(needed, { ids: [1, 2, 100], opened: true });
    const notNeeded = await replayed([[insert(5, 1), prepare(10, [100]), commit(20, ts(11), 10)], [insert(52, 3)]], C, [[insert(58, 4)]]);
    assert.deepEqual(notNeeded, { ids: [1, 100], opened: false });
  });

  it('decides a cross-shard transaction the same on every shard, whichever side of C each commit entry falls', async () => {
    // One transaction, prepared on shard A at :20 and on shard B at :30; commitTimestamp :31 for
    // both. A logs its commit at :35 (before C), B at :70 (after C).
    const shardA = [prepare(20, [1]), commit(35, ts(31), 20), insert(60, 9)];
    const shardB = [prepare(30, [2]), insert(55, 8), commit(70, ts(31), 30)];
    for (const [cutoff, expected] of [[C, true], [cutoffAt(31), false]] as const) {
      const a = await replayed([shardA], cutoff);
      const b = await replayed([shardB], cutoff);
      assert.equal(a.ids.includes(1), expected, `shard A at ${cutoff.input}`);
      assert.equal(b.ids.includes(2), expected, `shard B at ${cutoff.input}`);
    }
  });

  it('under a millisecond cutoff, skips a transaction committed in the cutoff\'s second and still applies the entries before the cutoff after its commit entry', async () => {
    // Second T0+1, cutoff at .500: prepared in T0, commitTimestamp and commit entry in T0+1 (walls .010, .020), then an insert at .030.
    const cutoff = parseCutoff(new Date((T0 + 1) * 1000 + 500).toISOString());
    const entries = [prepare(10, [100]), commit(1, ts(0, T0 + 1), 10, SESSION, T0 + 1), insert(2, 7, T0 + 1), insert(60, 8, T0 + 1)];
    entries[1] = { ...entries[1], prevOpTime: { ts: ts(10), t: Long.fromNumber(1) } } as OplogEntry;
    const { ids } = await replayed([entries], cutoff);
    assert.deepEqual(ids, [7]);
  });

  it('keeps an unprepared transaction and plain entries decided by their own ts, and stops at the first past C', async () => {
    const { ids } = await replayed([[insert(49, 1), insert(50, 2), insert(51, 3)]], C);
    assert.deepEqual(ids, [1]);
  });
});
