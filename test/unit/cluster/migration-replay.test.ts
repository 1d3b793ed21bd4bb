// A chunk migration during the window: what replay does with `fromMigrate` entries per shard,
// and how chunk ownership at the cutoff makes the shards add up to the collection.
//
// Shapes: the recipient clones the chunk's documents and then catches up on the donor's writes
// with inserts/updates logged `fromMigrate: true` (db/s/migration_destination_manager.cpp); the
// migration commits on the config server by moving the chunk in config.chunks
// (db/s/config/sharding_catalog_manager_chunk_operations.cpp commitChunkMigration); the donor's
// range deleter then removes its copy with deletes logged `fromMigrate: true`
// (db/s/range_deletion_util.cpp: DeleteStageParams.fromMigrate = true).
//
// Decision: replay applies `fromMigrate` entries on their shard like any other (they are that
// shard's data at the cutoff: during the clone both shards hold the documents, before the range
// deletion both do again), and config.chunks at the cutoff decides which copy counts: the other
// is an orphan the restore removes (chunk-ownership.ts), as the range deleter would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BSON, Long, MaxKey, MinKey, Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { ChunkOwnership, type ChunkRange } from '../../../src/cluster/chunk-ownership.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';
import { replay } from '../../../src/restore/replay.ts';
import type { Cutoff } from '../../../src/timestamp.ts';
import { RecordingApplier } from '../../support/recording-applier.ts';

const T0 = 1_764_583_200;
const UI = new UUID('5b4e5c6a-1f0e-4e8a-9a4b-0c1d2e3f4a5b');
const NS = 'shop.orders';
const base = (i: number) => ({ ns: NS, ui: UI, ts: new Timestamp({ t: T0, i }), t: Long.fromNumber(1), v: 2, wall: new Date(T0 * 1000 + i) });
const insert = (i: number, doc: Document, fromMigrate = false): OplogEntry => ({ ...base(i), op: 'i', o: doc, o2: { customer: doc.customer, _id: doc._id }, ...(fromMigrate ? { fromMigrate } : {}) });
const replace = (i: number, doc: Document, fromMigrate = false): OplogEntry => ({ ...base(i), op: 'u', o: doc, o2: { _id: doc._id }, ...(fromMigrate ? { fromMigrate } : {}) });
const remove = (i: number, id: number, fromMigrate = false): OplogEntry => ({ ...base(i), op: 'd', o: { _id: id }, ...(fromMigrate ? { fromMigrate } : {}) });

// Chunk [100, MaxKey) moves from s1 to s2; the config server commits the move at :7.
const donor = [
  insert(1, { _id: 1, customer: 150, qty: 1 }),
  insert(2, { _id: 2, customer: 50, qty: 1 }),
  replace(5, { _id: 1, customer: 150, qty: 2 }), // a user write on the donor during the clone
  remove(10, 1, true), // the range deleter, after the commit
];
const recipient = [
  insert(3, { _id: 1, customer: 150, qty: 1 }, true), // clone
  replace(6, { _id: 1, customer: 150, qty: 2 }, true), // catch-up on the donor's write
  replace(8, { _id: 1, customer: 150, qty: 3 }), // user write on the new owner
  insert(9, { _id: 3, customer: 200, qty: 1 }),
];
const COMMIT = 7;
/** config.chunks at the cutoff, as the config member's restore at C has it. */
function chunksAt(cutoff: number): ChunkRange[] {
  return [
    { min: { customer: new MinKey() }, max: { customer: 100 }, shard: 's1' },
    { min: { customer: 100 }, max: { customer: new MaxKey() }, shard: COMMIT < cutoff ? 's2' : 's1' },
  ];
}
/** The collection as a reader through the router saw it: the user writes before the cutoff. */
function truthAt(cutoff: number): Map<number, number> {
  const truth = new Map<number, number>();
  for (const entry of [...donor, ...recipient].filter((e) => !e.fromMigrate && e.ts.low < cutoff)) {
    if (entry.op === 'd') truth.delete(Number(entry.o._id));
    else truth.set(Number(entry.o._id), Number(entry.o.qty));
  }
  return truth;
}

let dir = '';
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'migration-replay-'))));
after(async () => rm(dir, { recursive: true, force: true }));

/** One shard's documents after replay to the cutoff (the recorder's writes applied in order). */
async function shardAt(name: string, entries: OplogEntry[], cutoff: number): Promise<{ docs: Map<number, Document>; applied: OplogEntry[] }> {
  const file = join(dir, `${name}-${cutoff}.bson`);
  await writeFile(file, Buffer.concat(entries.map((entry) => BSON.serialize(entry))));
  const applier = new RecordingApplier();
  const limit: Cutoff = { ts: { t: T0, i: cutoff }, input: `${T0}:${cutoff}` };
  await replay({ applier, files: [file], cutoff: limit, namespaces: compileNamespaceMapper({}), lanes: 1 });
  const docs = new Map<number, Document>();
  for (const entry of applier.crud) {
    const id = Number((entry.op === 'u' ? entry.o2 : entry.o)?._id);
    if (entry.op === 'd') docs.delete(id);
    else docs.set(id, { ...entry.o, _id: id, customer: Number(entry.o.customer), qty: Number(entry.o.qty) });
  }
  return { docs, applied: applier.crud };
}

describe('chunk migration entries', () => {
  it('replay applies fromMigrate inserts, updates and deletes on their shard', async () => {
    const { applied } = await shardAt('s2', recipient, 100);
    assert.deepEqual(applied.filter((entry) => entry.fromMigrate === true).map((entry) => `${entry.op}@${entry.ts.low}`), ['i@3', 'u@6']);
    const { applied: donorApplied } = await shardAt('s1', donor, 100);
    assert.deepEqual(donorApplied.filter((entry) => entry.fromMigrate === true).map((entry) => `${entry.op}@${entry.ts.low}`), ['d@10']);
  });

  for (let cutoff = 1; cutoff <= 11; cutoff++) {
    it(`at cutoff :${cutoff}, the owned documents of the shards are the collection, none twice or missing`, async () => {
      const ownership = new ChunkOwnership({ customer: 1 }, chunksAt(cutoff));
      const counted = new Map<number, number>();
      let copies = 0;
      for (const [name, entries] of [['s1', donor], ['s2', recipient]] as const) {
        for (const doc of (await shardAt(name, entries, cutoff)).docs.values()) {
          copies++;
          if (ownership.ownerOf(doc) !== name) continue; // an orphan: the restore removes it
          assert.ok(!counted.has(doc._id), `document ${doc._id} owned twice`);
          counted.set(doc._id, doc.qty);
        }
      }
      assert.deepEqual(counted, truthAt(cutoff));
      // During the clone and before the range deletion, both shards hold the moved document:
      // counting without ownership would count it twice.
      if (cutoff > 3 && cutoff <= 10) assert.equal(copies, counted.size + 1);
    });
  }
});
