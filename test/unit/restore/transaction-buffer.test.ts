import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Binary, Int32, Long, Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import {
  TransactionBuffer,
  replayUnits,
  unitTs,
  unitWall,
} from '../../../src/restore/transaction-buffer.ts';
import type { ReplayUnit } from '../../../src/restore/transaction-buffer.ts';
import { IntegrityError, PitrError } from '../../../src/errors.ts';

// Hand-built entries in the shapes MongoDB 4.2-8.x writes (see transaction-buffer.ts).

const T0 = 1_700_000_000;
const ts = (i: number): Timestamp => new Timestamp({ t: T0, i });
const wall = (i: number): Date => new Date(T0 * 1000 + i);
const NULL_PREV = { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) };
const prev = (i: number) => ({ ts: ts(i), t: Long.fromNumber(1) });

const SESSION_A = { id: new UUID('6a6f6e65-0000-4000-8000-000000000001'), uid: new Binary(Buffer.alloc(32, 1)) };
const SESSION_B = { id: new UUID('6a6f6e65-0000-4000-8000-000000000002'), uid: new Binary(Buffer.alloc(32, 1)) };

function insert(i: number, id: number, ns = 'db.c'): OplogEntry {
  return { op: 'i', ns, o: { _id: id }, ts: ts(i), t: 1, wall: wall(i), v: 2 };
}

function inner(op: 'i' | 'u' | 'd', id: number, ns = 'db.c'): Document {
  if (op === 'u') return { op, ns, o: { $v: 2, diff: { u: { x: id } } }, o2: { _id: id } };
  return { op, ns, o: { _id: id } };
}

interface TxnFields {
  lsid?: Document;
  txnNumber?: number | Long;
  prevOpTime?: { ts: Timestamp; t: Long | number };
  o?: Document;
  top?: Document;
}

function applyOps(i: number, ops: Document[], fields: TxnFields = {}): OplogEntry {
  return {
    op: 'c',
    ns: 'admin.$cmd',
    o: { applyOps: ops, ...fields.o },
    ts: ts(i),
    t: 1,
    wall: wall(i),
    v: 2,
    lsid: fields.lsid ?? SESSION_A,
    txnNumber: fields.txnNumber ?? Long.fromNumber(7),
    prevOpTime: fields.prevOpTime ?? NULL_PREV,
    ...fields.top,
  };
}

function txnCommand(i: number, o: Document, prevI: number, lsid: Document = SESSION_A): OplogEntry {
  return {
    op: 'c',
    ns: 'admin.$cmd',
    o,
    ts: ts(i),
    t: 1,
    wall: wall(i),
    lsid,
    txnNumber: Long.fromNumber(7),
    prevOpTime: prev(prevI),
  };
}

function feed(buffer: TransactionBuffer, entries: OplogEntry[]): ReplayUnit[] {
  return [...entries.flatMap((entry) => buffer.push(entry)), ...buffer.end()];
}

function describeUnits(units: ReplayUnit[]): string[] {
  return units.map((unit) =>
    unit.kind === 'op'
      ? `op ${unit.entry.op} ${unit.entry.ns} @${unit.entry.ts.low}`
      : `txn[${unit.entries.map((e) => `${e.op}${String(e.o._id ?? e.o2?._id)}`).join(',')}] @${unit.commit.ts.low}`,
  );
}

describe('TransactionBuffer: plain entries', () => {
  it('passes CRUD, commands and no-ops through as op units, in order', () => {
    const entries: OplogEntry[] = [
      { op: 'n', ns: '', o: { msg: 'periodic noop' }, ts: ts(1) },
      insert(2, 1),
      { op: 'c', ns: 'db.$cmd', o: { create: 'd' }, ts: ts(3) },
      { op: 'd', ns: 'db.c', o: { _id: 1 }, ts: ts(4) },
    ];
    const units = feed(new TransactionBuffer(), entries);
    assert.deepEqual(units, entries.map((entry) => ({ kind: 'op', entry })));
  });

  it('treats retryable writes (lsid and txnNumber on a CRUD entry) as plain entries', () => {
    const entry: OplogEntry = { ...insert(1, 1), lsid: SESSION_A, txnNumber: 3, stmtId: 0, prevOpTime: NULL_PREV };
    assert.deepEqual(feed(new TransactionBuffer(), [entry]), [{ kind: 'op', entry }]);
  });
});

describe('TransactionBuffer: applyOps outside transactions', () => {
  it('expands into inner ops that take the outer ts, t and wall and keep their own ns', () => {
    const outer: OplogEntry = {
      op: 'c',
      ns: 'admin.$cmd',
      o: { applyOps: [inner('i', 1, 'a.x'), { ...inner('d', 2, 'b.y'), ts: ts(99), t: 5, wall: wall(99) }] },
      ts: ts(10),
      t: 3,
      wall: wall(10),
    };
    const units = feed(new TransactionBuffer(), [outer]);
    assert.equal(units.length, 2);
    const [first, second] = units.map((unit) => (unit.kind === 'op' ? unit.entry : assert.fail('op unit')));
    assert.deepEqual(first, { op: 'i', ns: 'a.x', o: { _id: 1 }, ts: ts(10), t: 3, wall: wall(10) });
    assert.equal(second.ns, 'b.y');
    assert.equal(second.ts, outer.ts, 'an inner ts is replaced by the outer one');
    assert.equal(second.t, 3);
    assert.equal(second.wall, outer.wall);
  });

  it('expands nested applyOps recursively, in order', () => {
    const nested = { op: 'c', ns: 'admin.$cmd', o: { applyOps: [inner('i', 2), { op: 'c', ns: 'admin.$cmd', o: { applyOps: [inner('i', 3)] } }] } };
    const outer: OplogEntry = { op: 'c', ns: 'admin.$cmd', o: { applyOps: [inner('i', 1), nested, inner('d', 4)] }, ts: ts(5) };
    assert.deepEqual(describeUnits(feed(new TransactionBuffer(), [outer])), [
      'op i db.c @5',
      'op i db.c @5',
      'op i db.c @5',
      'op d db.c @5',
    ]);
  });

  it('falls back to the outer ns for an inner op without one', () => {
    const outer: OplogEntry = { op: 'c', ns: 'db.$cmd', o: { applyOps: [{ op: 'c', o: { create: 'z' } }] }, ts: ts(1) };
    const [unit] = feed(new TransactionBuffer(), [outer]);
    assert.equal(unit.kind === 'op' && unit.entry.ns, 'db.$cmd');
  });

  it('expands a vectored insert (multiOpType 1) although it carries lsid and txnNumber', () => {
    const vectored = applyOps(4, [inner('i', 1), inner('i', 2)], { top: { multiOpType: 1 } });
    const linked = applyOps(5, [inner('i', 3)], { top: { multiOpType: new Int32(1) }, prevOpTime: prev(4) });
    const buffer = new TransactionBuffer();
    assert.deepEqual(describeUnits(feed(buffer, [vectored, linked])), ['op i db.c @4', 'op i db.c @4', 'op i db.c @5']);
    assert.deepEqual(buffer.pending(), []);
  });

  it('refuses malformed applyOps', () => {
    const bad: OplogEntry = { op: 'c', ns: 'admin.$cmd', o: { applyOps: 'nope' }, ts: ts(1) };
    assert.throws(() => new TransactionBuffer().push(bad), IntegrityError);
    const badOp: OplogEntry = { op: 'c', ns: 'admin.$cmd', o: { applyOps: [{ ns: 'db.c' }] }, ts: ts(1) };
    assert.throws(() => new TransactionBuffer().push(badOp), IntegrityError);
  });
});

describe('TransactionBuffer: committed transactions', () => {
  it('emits a one-entry unprepared transaction as one txn unit at its own ts', () => {
    const entry = applyOps(3, [inner('i', 1), inner('u', 1), inner('d', 2)]);
    const units = feed(new TransactionBuffer(), [entry]);
    assert.equal(units.length, 1);
    const [unit] = units;
    assert.ok(unit.kind === 'txn');
    assert.equal(unit.commit, entry);
    assert.deepEqual(unit.entries.map((e) => e.op), ['i', 'u', 'd']);
    for (const e of unit.entries) {
      assert.equal(e.ts, entry.ts);
      assert.equal(e.wall, entry.wall);
      assert.equal(e.lsid, undefined, 'inner ops are not stamped with the session');
    }
    assert.deepEqual(unitTs(unit), { t: T0, i: 3 });
    assert.equal(unitWall(unit), entry.wall);
  });

  it('joins a partialTxn chain into one unit emitted at the last entry', () => {
    const buffer = new TransactionBuffer();
    const out: string[] = [];
    const push = (entry: OplogEntry) => out.push(...describeUnits(buffer.push(entry)));
    push(applyOps(10, [inner('i', 1), inner('i', 2)], { o: { partialTxn: true } }));
    assert.equal(out.length, 0, 'nothing before the commit');
    assert.equal(buffer.pending().length, 1);
    push(insert(11, 100, 'db.other')); // another client's write, between the entries
    push(applyOps(12, [inner('u', 1)], { o: { partialTxn: true }, prevOpTime: prev(10) }));
    push(applyOps(13, [inner('d', 2)], { o: { count: 4 }, prevOpTime: prev(12) }));
    out.push(...describeUnits(buffer.end()));
    assert.deepEqual(out, ['op i db.other @11', 'txn[i1,i2,u1,d2] @13']);
    assert.deepEqual(buffer.pending(), []);
  });

  it('stamps the ops of a chain with the commit entry, not the entry that logged them', () => {
    const units = feed(new TransactionBuffer(), [
      applyOps(20, [inner('i', 1)], { o: { partialTxn: true } }),
      applyOps(21, [inner('i', 2)], { prevOpTime: prev(20) }),
    ]);
    assert.ok(units[0].kind === 'txn');
    assert.deepEqual(units[0].entries.map((e) => e.ts.low), [21, 21]);
  });

  it('commits a prepared transaction at its commitTransaction entry', () => {
    const buffer = new TransactionBuffer();
    const commit = txnCommand(40, { commitTransaction: 1, commitTimestamp: ts(39) }, 31);
    const units = feed(buffer, [
      applyOps(30, [inner('i', 1)], { o: { partialTxn: true } }),
      applyOps(31, [inner('i', 2)], { o: { prepare: true }, prevOpTime: prev(30) }),
      insert(35, 9),
      commit,
    ]);
    assert.deepEqual(describeUnits(units), ['op i db.c @35', 'txn[i1,i2] @40']);
    const txn = units[1];
    assert.ok(txn.kind === 'txn');
    assert.equal(txn.commit, commit);
    assert.deepEqual(unitTs(txn), { t: T0, i: 40 });
  });

  it('reads prepare and partialTxn at the top level too (as src/oplog-entry.ts declares them)', () => {
    const units = feed(new TransactionBuffer(), [
      applyOps(1, [inner('i', 1)], { top: { partialTxn: true } }),
      applyOps(2, [inner('i', 2)], { top: { prepare: true }, prevOpTime: prev(1) }),
      txnCommand(3, { commitTransaction: 1, commitTimestamp: ts(2) }, 2),
    ]);
    assert.deepEqual(describeUnits(units), ['txn[i1,i2] @3']);
  });

  it('drops a prepared transaction that aborts', () => {
    const buffer = new TransactionBuffer();
    const units = feed(buffer, [
      applyOps(50, [inner('i', 1)], { o: { prepare: true } }),
      txnCommand(51, { abortTransaction: 1 }, 50),
      insert(52, 2),
    ]);
    assert.deepEqual(describeUnits(units), ['op i db.c @52']);
    assert.deepEqual(buffer.pending(), []);
  });

  it('ignores an abort for a transaction it never saw', () => {
    assert.deepEqual(feed(new TransactionBuffer(), [txnCommand(5, { abortTransaction: 1 }, 4)]), []);
  });

  it('runs the commands of a transaction (4.4+ create/createIndexes) before its CRUD unit', () => {
    const create = { op: 'c', ns: 'db.$cmd', o: { create: 'fresh' } };
    const units = feed(new TransactionBuffer(), [
      applyOps(60, [create, inner('i', 1, 'db.fresh'), { op: 'n', ns: '', o: { msg: 'x' } }]),
    ]);
    assert.deepEqual(describeUnits(units), ['op c db.$cmd @60', 'txn[i1] @60']);
  });

  it('emits no unit for a transaction without CRUD', () => {
    assert.deepEqual(feed(new TransactionBuffer(), [applyOps(61, [])]), []);
  });

  it('keeps concurrent transactions of different sessions apart', () => {
    const units = feed(new TransactionBuffer(), [
      applyOps(70, [inner('i', 1)], { o: { prepare: true } }),
      applyOps(71, [inner('i', 2)], { o: { prepare: true }, lsid: SESSION_B }),
      txnCommand(72, { commitTransaction: 1, commitTimestamp: ts(71) }, 71, SESSION_B),
      txnCommand(73, { commitTransaction: 1, commitTimestamp: ts(72) }, 70),
    ]);
    assert.deepEqual(describeUnits(units), ['txn[i2] @72', 'txn[i1] @73']);
  });
});

describe('TransactionBuffer: keys', () => {
  it('matches txnNumber as Long, Int32 or number, and lsid fields in any order', () => {
    const lsidReordered = { uid: SESSION_A.uid, id: SESSION_A.id };
    const units = feed(new TransactionBuffer(), [
      applyOps(1, [inner('i', 1)], { o: { partialTxn: true }, txnNumber: Long.fromNumber(7) }),
      applyOps(2, [inner('i', 2)], { o: { prepare: true }, txnNumber: 7, prevOpTime: prev(1), lsid: lsidReordered }),
      // Decoded with promoteValues: false (archive/bson-decode.ts), txnNumber is an Int32/Long.
      { ...txnCommand(3, { commitTransaction: 1 }, 2), txnNumber: new Int32(7) as unknown as number },
    ]);
    assert.deepEqual(describeUnits(units), ['txn[i1,i2] @3']);
  });

  it('tells apart sessions that differ only by uid, and by txnNumber', () => {
    const otherUid = { id: SESSION_A.id, uid: new Binary(Buffer.alloc(32, 2)) };
    const buffer = new TransactionBuffer();
    feed(buffer, [
      applyOps(1, [inner('i', 1)], { o: { prepare: true } }),
      applyOps(2, [inner('i', 2)], { o: { prepare: true }, lsid: otherUid }),
      applyOps(3, [inner('i', 3)], { o: { prepare: true }, txnNumber: 8 }),
    ]);
    assert.equal(new Set(buffer.pending().map((p) => p.id)).size, 3);
  });

  it('includes internal-session fields (txnUUID, txnNumber inside lsid) in the key', () => {
    const child = (n: number) => ({ ...SESSION_A, txnNumber: Long.fromNumber(n), txnUUID: SESSION_B.id });
    const buffer = new TransactionBuffer();
    feed(buffer, [
      applyOps(1, [inner('i', 1)], { o: { prepare: true }, lsid: child(1) }),
      applyOps(2, [inner('i', 2)], { o: { prepare: true }, lsid: child(2) }),
    ]);
    assert.equal(buffer.pending().length, 2);
  });
});

describe('TransactionBuffer: end of input and broken chains', () => {
  it('does not emit transactions left open at the end, and reports them', () => {
    const buffer = new TransactionBuffer();
    const units = feed(buffer, [
      applyOps(80, [inner('i', 1), inner('i', 2)], { o: { partialTxn: true } }),
      applyOps(81, [inner('i', 3)], { o: { prepare: true }, lsid: SESSION_B }),
      insert(82, 4),
    ]);
    assert.deepEqual(describeUnits(units), ['op i db.c @82']);
    const pending = buffer.pending();
    assert.equal(pending.length, 2);
    assert.deepEqual(
      pending.map(({ firstTs, lastTs, ops, prepared }) => ({ firstTs, lastTs, ops, prepared })),
      [
        { firstTs: { t: T0, i: 80 }, lastTs: { t: T0, i: 80 }, ops: 2, prepared: false },
        { firstTs: { t: T0, i: 81 }, lastTs: { t: T0, i: 81 }, ops: 1, prepared: true },
      ],
    );
    assert.match(pending[0].id, /#7$/);
  });

  it('refuses push after end', () => {
    const buffer = new TransactionBuffer();
    buffer.end();
    assert.throws(() => buffer.push(insert(1, 1)), PitrError);
  });

  it('refuses a chain whose first entries are missing from inside the input', () => {
    const buffer = new TransactionBuffer();
    buffer.push(insert(88, 1));
    const orphan = applyOps(90, [inner('i', 1)], { o: { partialTxn: true }, prevOpTime: prev(89) });
    assert.throws(() => buffer.push(orphan), (error: unknown) => {
      assert.ok(error instanceof IntegrityError);
      assert.match(error.message, /earlier entries \(from \d+:89 or before\) are not in the input/);
      return true;
    });
  });

  it('refuses a commitTransaction whose prepared entries are missing from inside the input', () => {
    const buffer = new TransactionBuffer();
    buffer.push(insert(89, 1));
    const commit = txnCommand(91, { commitTransaction: 1, commitTimestamp: ts(90) }, 90);
    assert.throws(() => buffer.push(commit), IntegrityError);
  });

  it('applies what it has of a transaction that began before the input, and counts it', () => {
    const buffer = new TransactionBuffer();
    const tail = applyOps(90, [inner('i', 1)], { o: { partialTxn: true }, prevOpTime: prev(89) });
    assert.deepEqual(buffer.push(tail), []);
    const units = buffer.push(applyOps(91, [inner('i', 2)], { prevOpTime: prev(90) }));
    assert.equal(units.length, 1);
    assert.equal(units[0]?.kind === 'txn' ? units[0].entries.length : 0, 2);
    assert.equal(buffer.startedBefore(), 1);
  });

  it('skips the commit of a transaction prepared before the input, and counts it', () => {
    const buffer = new TransactionBuffer();
    const commit = txnCommand(91, { commitTransaction: 1, commitTimestamp: ts(90) }, 90);
    assert.deepEqual(buffer.push(commit), []);
    assert.equal(buffer.startedBefore(), 1);
  });

  it('refuses a chain with a hole', () => {
    const buffer = new TransactionBuffer();
    buffer.push(applyOps(1, [inner('i', 1)], { o: { partialTxn: true } }));
    const skipping = applyOps(3, [inner('i', 2)], { prevOpTime: prev(2) });
    assert.throws(() => buffer.push(skipping), /links to \d+:2, expected \d+:1/);
  });

  it('streams through replayUnits and leaves pending() readable', async () => {
    async function* entries(): AsyncGenerator<OplogEntry> {
      yield insert(1, 1);
      yield applyOps(2, [inner('i', 2)]);
      yield applyOps(3, [inner('i', 3)], { o: { prepare: true }, lsid: SESSION_B });
    }
    const buffer = new TransactionBuffer();
    const units: ReplayUnit[] = [];
    for await (const unit of replayUnits(entries(), buffer)) units.push(unit);
    assert.deepEqual(describeUnits(units), ['op i db.c @1', 'txn[i2] @2']);
    assert.equal(buffer.pending().length, 1);
  });
});
