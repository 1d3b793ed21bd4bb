// The partitioner's memory bound: per lane one batch applying and one filling, each cut at
// batchOps entries or batchBytes of BSON; a document's entries stay in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Timestamp } from 'mongodb';
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
