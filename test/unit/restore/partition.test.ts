// The partitioner's memory bound: per lane one batch applying and one filling, each cut at
// batchOps entries or batchBytes of BSON; a document's entries stay in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decimal128, Double, Int32, Long, ObjectId, Timestamp, UUID } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { Partitioner, laneOf } from '../../../src/restore/partition.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let clock = 0;
function insert(id: number, pad = 0): OplogEntry {
  clock++;
  return { op: 'i', ns: 'shop.orders', o: { _id: id, pad: 'x'.repeat(pad) }, ts: new Timestamp({ t: 1_700_000_000, i: clock }) };
}

describe('Partitioner', () => {
  it('cuts batches by bytes as well as by count', async () => {
    const sent: number[] = [];
    const lanes = new Partitioner(async (batch) => void sent.push(batch.length), { lanes: 1, batchOps: 100, batchBytes: 10_000 });
    // ~1 KiB entries: ten fit under 10,000 bytes; the eleventh starts a new batch.
    for (let i = 0; i < 25; i++) await lanes.push(insert(i, 1000));
    await lanes.drain();
    assert.deepEqual(sent, [9, 9, 7]);
  });

  it('takes the size given instead of computing it; an entry over the limit goes alone', async () => {
    const sent: number[] = [];
    const lanes = new Partitioner(async (batch) => void sent.push(batch.length), { lanes: 1, batchOps: 100, batchBytes: 100 });
    await lanes.push(insert(1), 10);
    await lanes.push(insert(2), 500);
    await lanes.push(insert(3), 10);
    await lanes.push(insert(4), 10);
    await lanes.drain();
    assert.deepEqual(sent, [1, 1, 2]);
  });

  it('applies one batch per lane at a time, and keeps each document in order', async () => {
    let running = 0;
    let peak = 0;
    const seen = new Map<number, number[]>();
    const lanes = new Partitioner(async (batch) => {
      running++;
      peak = Math.max(peak, running);
      await tick(2);
      for (const entry of batch) {
        const id = Number(entry.o._id);
        seen.set(id, [...(seen.get(id) ?? []), Number(entry.o.n)]);
      }
      running--;
    }, { lanes: 2, batchOps: 5 });
    let pushed = 0;
    for (let n = 0; n < 200; n++) {
      const entry = { ...insert(n % 7), o: { _id: n % 7, n } };
      await lanes.push(entry);
      pushed++;
      assert.ok(laneOf(entry, 2) < 2);
    }
    await lanes.drain();
    assert.ok(peak <= 2, `peak ${peak}`);
    for (const [id, ns] of seen) assert.deepEqual(ns, [...ns].sort((a, b) => a - b), `document ${id}`);
    assert.equal([...seen.values()].flat().length, pushed);
  });
});

// Lanes follow the `_id` index's equality (src/mongo/bson/bsonelement.cpp compares numbers of
// every type by value; KeyString encodes them so, src/mongo/db/storage/key_string/): the entries
// below are one document to MongoDB, written by drivers that type the number differently.
describe('laneOf: _id equality and serial namespaces', () => {
  const ts = new Timestamp({ t: 1_760_000_000, i: 1 });
  const ui = new UUID();
  const at = (op: 'i' | 'd' | 'u', id: unknown, ns = 'shop.orders'): OplogEntry =>
    op === 'u'
      ? { op, ns, ui, o: { $v: 2, diff: { u: { n: 1 } } }, o2: { _id: id }, ts }
      : { op, ns, ui, o: { _id: id }, ts };

  it('puts Int32 1, Double 1.0, Long 1 and Decimal128 "1" (and "1.0") in one lane, whatever the lane count', () => {
    const ones = [new Int32(1), new Double(1), Long.fromNumber(1), new Decimal128('1'), new Decimal128('1.0'), 1];
    for (const lanes of [2, 3, 4, 8, 16, 32]) {
      const seen = new Set(ones.flatMap((id) => [laneOf(at('i', id), lanes), laneOf(at('d', id), lanes), laneOf(at('u', id), lanes)]));
      assert.equal(seen.size, 1, `${lanes} lanes: ${[...seen].join(',')}`);
    }
  });

  it('puts -0.0 and 0 (and Decimal128 "-0") in one lane', () => {
    for (const lanes of [2, 4, 8, 16, 32]) {
      const zeros = [new Double(-0), new Int32(0), Long.fromNumber(0), new Decimal128('-0'), 0];
      assert.equal(new Set(zeros.map((id) => laneOf(at('i', id), lanes))).size, 1, `${lanes} lanes`);
    }
  });

  it('still spreads different documents over lanes', () => {
    const used = new Set(Array.from({ length: 64 }, (_, n) => laneOf(at('i', new Int32(n)), 4)));
    assert.equal(used.size, 4);
  });

  it('puts every write of a serial namespace (a collation, capped) in one lane', () => {
    // With a case-insensitive collation "a" and "A" are one _id; capped inserts must keep order.
    const ids = ['a', 'A', 'b', 'B', new ObjectId(), new Int32(7), 'ä'];
    for (const lanes of [2, 4, 8]) {
      const seen = new Set(ids.flatMap((id) => [laneOf(at('i', id, 'shop.people'), lanes, true), laneOf(at('d', id, 'shop.people'), lanes, true)]));
      assert.equal(seen.size, 1, `${lanes} lanes`);
    }
  });

  it('keeps a serial namespace in one lane and in oplog order inside the Partitioner', async () => {
    const sent: Array<{ ns: string; ids: number[] }> = [];
    const lanes = new Partitioner(async (batch) => {
      await tick(Math.random() * 3);
      for (const entry of batch) if (entry.ns === 'shop.log') sent.push({ ns: entry.ns, ids: [Number(entry.o._id)] });
    }, { lanes: 4, batchOps: 3, isSerial: (ns) => ns === 'shop.log' });
    for (let n = 0; n < 60; n++) {
      await lanes.push(at('i', new Int32(n), 'shop.log'));
      await lanes.push(at('i', new Int32(n), 'shop.orders'));
    }
    await lanes.drain();
    assert.deepEqual(sent.flatMap((s) => s.ids), Array.from({ length: 60 }, (_, n) => n), 'capped inserts in insertion order');
  });
});
