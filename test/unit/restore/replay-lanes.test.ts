// Replay's lanes against an applier that holds documents the way the `_id` index does: one
// document per idKey (numbers of every type equal by value: src/mongo/bson/bsonelement.cpp,
// compareElements; KeyString), lower-cased strings for a collection with a case-insensitive
// collation. Batches holding a delete are applied late, so entries of one document that lanes
// reorder come out in the wrong order. This is the pure routing decision: FerretDB cannot show
// it, as it neither logs commands nor applies writes with MongoDB's number equality.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BSON, Decimal128, Double, Int32, Long, Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';
import { replay } from '../../../src/restore/replay.ts';
import { SerialNamespaces, serialReason } from '../../../src/restore/serial-namespaces.ts';
import { emptyApplyStats, type Applier, type CommandPlan } from '../../../src/target/applier.ts';
import { idKey } from '../../../src/target/id-key.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A target whose collections key documents as MongoDB's `_id` index does. */
class IdIndexApplier implements Applier {
  readonly mode = 'portable' as const;
  readonly stats = emptyApplyStats();
  readonly collections = new Map<string, Map<string, Document>>();
  readonly caseInsensitive = new Set<string>();
  readonly inserted: Array<{ ns: string; n: number }> = [];

  key(ns: string, id: unknown): string {
    return this.caseInsensitive.has(ns) && typeof id === 'string' ? idKey(id.toLowerCase()) : idKey(id);
  }

  async applyCrud(batch: readonly OplogEntry[]): Promise<void> {
    // A batch with a delete is slow to apply: a lane holding one falls behind the others.
    await tick(batch.some((entry) => entry.op === 'd') ? 25 : 1);
    for (const entry of batch) this.#apply(entry);
  }

  async applyCommand(plan: CommandPlan): Promise<void> {
    const o = plan.command;
    if (typeof o.create === 'string' && Number((o.collation as Document | undefined)?.strength) === 2) this.caseInsensitive.add(`${plan.db}.${o.create}`);
  }

  async applyTransaction(entries: readonly OplogEntry[]): Promise<void> {
    for (const entry of entries) this.#apply(entry);
  }

  #apply(entry: OplogEntry): void {
    let docs = this.collections.get(entry.ns);
    if (!docs) this.collections.set(entry.ns, (docs = new Map()));
    const key = this.key(entry.ns, entry.o._id);
    if (entry.op === 'i') {
      docs.set(key, entry.o);
      this.inserted.push({ ns: entry.ns, n: Number(entry.o.n) });
    } else if (entry.op === 'd') docs.delete(key);
  }
}

let dir = '';
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'replay-lanes-'))));
after(async () => rm(dir, { recursive: true, force: true }));

async function oplogFile(name: string, entries: readonly OplogEntry[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, Buffer.concat(entries.map((entry) => BSON.serialize(entry))));
  return file;
}

let clock = 0;
const UI = new UUID();
function crud(op: 'i' | 'd', ns: string, id: unknown, n = 0): OplogEntry {
  clock++;
  const o: Document = op === 'i' ? { _id: id, n } : { _id: id };
  return { op, ns, ui: UI, o, ts: new Timestamp({ t: 1_760_000_000, i: clock }), t: Long.fromNumber(1), v: 2, wall: new Date(1_760_000_000_000) };
}
function command(o: Document, ns = 'shop.$cmd'): OplogEntry {
  clock++;
  return { op: 'c', ns, ui: new UUID(), o, ts: new Timestamp({ t: 1_760_000_000, i: clock }), t: Long.fromNumber(1), v: 2, wall: new Date(1_760_000_000_000) };
}

describe('replay lanes: one document, one lane', () => {
  it('insert Int32 n, delete Long n, re-insert Double n (and Decimal128) ends with every document present', async () => {
    const entries: OplogEntry[] = [];
    for (let n = 0; n < 40; n++) {
      entries.push(crud('i', 'shop.orders', new Int32(n), 1));
      entries.push(crud('d', 'shop.orders', Long.fromNumber(n)));
      entries.push(crud('i', 'shop.orders', n % 2 === 0 ? new Double(n) : new Decimal128(`${n}.0`), 2));
    }
    const applier = new IdIndexApplier();
    await replay({ applier, files: [await oplogFile('mixed.bson', entries)], namespaces: compileNamespaceMapper({}), lanes: 8, batchOps: 2 });
    const docs = applier.collections.get('shop.orders') ?? new Map();
    const missing = Array.from({ length: 40 }, (_, n) => n).filter((n) => Number(docs.get(idKey(n))?.n) !== 2);
    assert.deepEqual(missing, [], 'documents lost or left in their first version');
  });

  it('keeps "a" and "A" in order in a collection created with a case-insensitive collation', async () => {
    const entries: OplogEntry[] = [
      // The create as a 7.0 primary logs it (idIndex carries the collation too).
      command({ create: 'people', collation: { locale: 'en', strength: 2, caseLevel: false, version: '57.1' }, idIndex: { v: 2, key: { _id: 1 }, name: '_id_', collation: { locale: 'en', strength: 2 } } }),
    ];
    const names = ['ann', 'bob', 'cid', 'dee', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jo'];
    for (const name of names) {
      entries.push(crud('i', 'shop.people', name, 1));
      entries.push(crud('d', 'shop.people', name.toUpperCase()));
      entries.push(crud('i', 'shop.people', name[0]?.toUpperCase() + name.slice(1), 2));
    }
    const applier = new IdIndexApplier();
    await replay({ applier, files: [await oplogFile('collation.bson', entries)], namespaces: compileNamespaceMapper({}), lanes: 8, batchOps: 2 });
    const docs = applier.collections.get('shop.people') ?? new Map();
    assert.deepEqual(names.filter((name) => Number(docs.get(applier.key('shop.people', name))?.n) !== 2), []);
  });

  it('applies a capped collection\'s inserts in insertion order, the base\'s metadata marking it', async () => {
    const entries: OplogEntry[] = [];
    for (let n = 0; n < 60; n++) {
      entries.push(crud('i', 'shop.log', new Int32(n), n));
      if (n % 7 === 0) entries.push(crud('d', 'shop.log', new Int32(n)));
    }
    const serial = new SerialNamespaces();
    // The options of a capped collection's metadata file, as mongodump writes them.
    serial.noteOptions('shop.log', { capped: true, size: Long.fromNumber(4096), max: Long.fromNumber(100) });
    const applier = new IdIndexApplier();
    await replay({ applier, files: [await oplogFile('capped.bson', entries)], namespaces: compileNamespaceMapper({}), lanes: 4, batchOps: 3, serialNamespaces: serial });
    const order = applier.inserted.filter((insert) => insert.ns === 'shop.log').map((insert) => insert.n);
    assert.deepEqual(order, Array.from({ length: 60 }, (_, n) => n));
  });
});

describe('SerialNamespaces', () => {
  it('marks capped collections and non-simple default collations, not simple ones', () => {
    assert.equal(serialReason({ capped: true, size: 4096 }), 'capped');
    assert.equal(serialReason({ collation: { locale: 'fr', strength: 1 } }), 'collation');
    assert.equal(serialReason({ collation: { locale: 'simple' } }), undefined);
    assert.equal(serialReason({ validator: {} }), undefined);
    assert.equal(serialReason(undefined), undefined);
  });

  it('follows create, convertToCapped and renameCollection in their oplog shapes', () => {
    const serial = new SerialNamespaces();
    serial.noteCommand(command({ create: 'events', capped: true, size: Long.fromNumber(1 << 20), idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } }));
    serial.noteCommand(command({ create: 'plain', idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } }));
    serial.noteCommand(command({ convertToCapped: 'plain2', size: 1 << 20 }));
    serial.noteCommand(command({ renameCollection: 'shop.events', to: 'archive.events', stayTemp: false }, 'admin.$cmd'));
    assert.equal(serial.reason('shop.events'), 'capped');
    assert.equal(serial.has('shop.plain'), false);
    assert.equal(serial.reason('shop.plain2'), 'capped');
    assert.equal(serial.reason('archive.events'), 'capped');
  });
});
