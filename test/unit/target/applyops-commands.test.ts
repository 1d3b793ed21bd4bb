// applyOps commands stay under the server's size limit. A transaction over 16 MiB is logged as a
// chain of applyOps entries marked partialTxn, each under 16 MiB (MongoDB docs, "Production
// Considerations" for transactions; src/restore/transaction-buffer.ts), and the transaction buffer hands its ops back as one unit: the applier must not send that as one
// command. Limits from mongodb/mongo src/mongo/bson/util/builder.h: BSONObjMaxUserSize 16 MiB,
// BSONObjMaxInternalSize 16 MiB + 16 KiB (the most a command body may be). Entry shapes: the
// transaction entries of /work/shared/fixtures/pbm/oplog_test.json (lsid with id and uid,
// txnNumber, stmtId, ui) and transaction-buffer.ts.
import { toOrdered } from '../../../src/ordered-document.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON, Binary, Long, MongoClient, ObjectId, Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { TransactionBuffer } from '../../../src/restore/transaction-buffer.ts';
import { ApplyOpsApplier } from '../../../src/target/applyops-applier.ts';
import { BSON_MAX_USER_SIZE, MAX_APPLY_OPS_COMMAND_BYTES, applyOpsCommand, splitApplyOps } from '../../../src/target/applyops-commands.ts';

const MiB = 1024 * 1024;
const BSON_MAX_INTERNAL_SIZE = BSON_MAX_USER_SIZE + 16 * 1024;
/** What the Node driver appends to a command on a replica set with auth: measured, not guessed. */
const DRIVER_FIELDS = BSON.calculateObjectSize({
  $db: 'admin',
  lsid: { id: new UUID() },
  $clusterTime: { clusterTime: new Timestamp({ t: 1, i: 1 }), signature: { hash: new Binary(Buffer.alloc(20)), keyId: Long.fromNumber(1) } },
  $readPreference: { mode: 'primary' },
});

/** A fake client that records the commands it is sent (a pure unit: no server). */
function recordingClient(): { client: MongoClient; commands: Document[] } {
  const commands: Document[] = [];
  const db = { command: async (command: Document) => (commands.push(command), { ok: 1 }) };
  return { client: { db: () => db } as unknown as MongoClient, commands };
}

const T0 = 1_730_733_052;
const SESSION = { id: new UUID('1f15eb7b-b492-4717-bc7a-af8e8ce40e87'), uid: new Binary(Buffer.alloc(32, 6)) };
const NULL_PREV = { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) };
const UI = new UUID('7fbef862-f284-4482-9748-9547fb10ad3f');
/** One string shared by every padded document: sizes are real, memory is not multiplied. */
const PAD = 'x'.repeat(MiB);

/** An inner insert as a transaction's applyOps carries it. */
function innerInsert(n: number, pad = PAD): Document {
  return { op: 'i', ns: 'mydb.c5', ui: UI, o: { _id: new ObjectId(), n, pad }, o2: { _id: n } };
}

/**
 * A transaction over 16 MiB as the server logs it: applyOps entries of ~15 MiB each, all but
 * the last marked partialTxn, chained by prevOpTime; the last one commits it.
 */
function largeTransaction(entries: number, opsPerEntry: number): OplogEntry[] {
  const chain: OplogEntry[] = [];
  let n = 0;
  for (let e = 0; e < entries; e++) {
    const ops = Array.from({ length: opsPerEntry }, () => innerInsert(n++));
    const last = e === entries - 1;
    const previous = chain.at(-1);
    chain.push({
      lsid: SESSION,
      txnNumber: Long.fromNumber(4),
      op: 'c',
      ns: 'admin.$cmd',
      o: last ? { applyOps: ops, count: Long.fromNumber(n) } : { applyOps: ops, partialTxn: true },
      stmtId: e,
      ts: new Timestamp({ t: T0, i: e + 1 }),
      t: Long.fromNumber(7),
      v: 2,
      wall: new Date(T0 * 1000),
      prevOpTime: previous ? { ts: previous.ts, t: Long.fromNumber(7) } : NULL_PREV,
    });
  }
  return chain;
}

function assertUnderLimit(commands: readonly Document[]): void {
  for (const [i, command] of commands.entries()) {
    const bytes = BSON.calculateObjectSize(command);
    const ops = (command.applyOps as Document[]).length;
    if (ops > 1) assert.ok(bytes <= BSON_MAX_USER_SIZE, `command ${i} of ${ops} ops is ${bytes} bytes`);
    assert.ok(bytes + DRIVER_FIELDS <= BSON_MAX_INTERNAL_SIZE, `command ${i} is ${bytes} bytes`);
  }
}

describe('splitApplyOps', () => {
  it('keeps a list that fits in one command, and an empty list as none', () => {
    const ops = [innerInsert(1, 'a'), innerInsert(2, 'b')];
    assert.deepEqual(splitApplyOps(ops), [ops]);
    assert.deepEqual(splitApplyOps([]), []);
  });

  it('fills each command up to the limit exactly, counting the array index keys', () => {
    const ops = Array.from({ length: 30 }, (_, n) => innerInsert(n, 'y'.repeat(1000)));
    const oneCommand = BSON.calculateObjectSize(applyOpsCommand(ops.slice(0, 12)));
    const groups = splitApplyOps(ops, oneCommand);
    assert.deepEqual(groups.map((group) => group.length), [12, 12, 6]);
    for (const group of groups) assert.ok(BSON.calculateObjectSize(applyOpsCommand(group)) <= oneCommand);
    assert.deepEqual(splitApplyOps(ops, oneCommand - 1)[0]?.length, 11);
  });

  it('sends an op larger than the limit alone', () => {
    const ops = [innerInsert(1, 'a'), innerInsert(2, 'b'.repeat(5000)), innerInsert(3, 'c')];
    assert.deepEqual(splitApplyOps(ops, 1000).map((group) => group.length), [1, 1, 1]);
  });
});

describe('ApplyOpsApplier: commands under the limit', () => {
  it('cuts a partialTxn transaction of 45 MiB into commands under 16 MiB, in transaction order', async () => {
    const chain = largeTransaction(3, 15);
    const buffer = new TransactionBuffer();
    const units = chain.flatMap((entry) => buffer.push(entry));
    assert.equal(units.length, 1);
    const unit = units[0];
    assert.ok(unit?.kind === 'txn');
    assert.equal(unit.entries.length, 45);

    const { client, commands } = recordingClient();
    const applier = new ApplyOpsApplier(client);
    await applier.applyTransaction(unit.entries);

    assert.ok(commands.length >= 3, `${commands.length} commands`);
    assertUnderLimit(commands);
    const sent = commands.flatMap((command) => command.applyOps as Document[]).map((op) => (op.o as Map<string, unknown>).get('n') as number);
    assert.deepEqual(sent, Array.from({ length: 45 }, (_, n) => n), 'every op once, in transaction order');
    assert.equal(applier.stats.transactions, 1);
    assert.equal(applier.stats.inserted, 45);
  });

  it('sends a CRUD batch of documents near 16 MiB as one command each', async () => {
    // The largest document the server stores is BSONObjMaxUserSize; three of them in one batch.
    const big = 'z'.repeat(BSON_MAX_USER_SIZE - 200);
    const batch: OplogEntry[] = [1, 2, 3].map((i) => ({
      op: 'i', ns: 'mydb.big', ui: UI, o: { _id: i, big }, ts: new Timestamp({ t: T0, i }), t: Long.fromNumber(7), v: 2, wall: new Date(T0 * 1000),
    }));
    assert.ok(BSON.calculateObjectSize(batch[0]?.o ?? {}) <= BSON_MAX_USER_SIZE);
    const { client, commands } = recordingClient();
    await new ApplyOpsApplier(client).applyCrud(batch);
    assert.equal(commands.length, 3);
    assertUnderLimit(commands);
  });

  it('keeps a batch that fits as a single command', async () => {
    const batch: OplogEntry[] = [1, 2, 3].map((i) => ({ op: 'i', ns: 'mydb.small', o: { _id: i }, ts: new Timestamp({ t: T0, i }) }));
    const { client, commands } = recordingClient();
    await new ApplyOpsApplier(client).applyCrud(batch);
    assert.equal(commands.length, 1);
    // `o` travels as a field-ordered Map (ordered-document.ts).
    assert.deepEqual(commands[0], applyOpsCommand(batch.map((entry) => ({ op: entry.op, ns: entry.ns, o: toOrdered(entry.o) }))));
    assert.ok(MAX_APPLY_OPS_COMMAND_BYTES < BSON_MAX_USER_SIZE);
  });
});

// An update of a missing document: the current applyOps applies with alwaysUpsert false
// (mongodb/mongo src/mongo/db/repl/apply_ops.cpp) and upserts only an op carrying `b: true`
// (src/mongo/db/repl/oplog.cpp applyOperation_inlock; DurableReplOperation's `b` in
// oplog_entry.idl). A replacement upserts in both modes (its result does not depend on what is
// stored, modifiers-v1.ts applyUpdate); a modifier update of a missing document is counted
// missing (applyops-reply.ts), so it carries no `b`.
describe('ApplyOpsApplier: only replacement updates are sent as upserts', () => {
  it('sets b: true on a replacement update, and on nothing else', async () => {
    const ts = (i: number) => new Timestamp({ t: T0, i });
    const batch: OplogEntry[] = [
      { op: 'i', ns: 'mydb.c', o: { _id: 1, a: 1 }, ts: ts(1) },
      { op: 'u', ns: 'mydb.c', o: { $v: 2, diff: { u: { a: 2 } } }, o2: { _id: 1 }, ts: ts(2) },
      { op: 'u', ns: 'mydb.c', o: { $set: { a: 3 } }, o2: { _id: 1 }, ts: ts(3) },
      { op: 'u', ns: 'mydb.c', o: { _id: 2, a: 3 }, o2: { _id: 2 }, ts: ts(4) },
      { op: 'd', ns: 'mydb.c', o: { _id: 1 }, ts: ts(5) },
    ];
    const { client, commands } = recordingClient();
    await new ApplyOpsApplier(client).applyCrud(batch);
    const ops = commands.flatMap((command) => command.applyOps as Document[]);
    assert.deepEqual(ops.map((op) => [op.op, op.b]), [['i', undefined], ['u', undefined], ['u', undefined], ['u', true], ['d', undefined]]);
  });
});
