// loadBase's memory bound, against a fake target that records what is in flight: at most
// `concurrency` collections at once, at most BATCHES_IN_FLIGHT insert batches per collection,
// batches cut by documents and by bytes.
import { toPlain } from '../../../src/ordered-document.ts';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BSON, Int32, Long, MongoBulkWriteError } from 'mongodb';
import type { Document, MongoClient } from 'mongodb';
import type { Base, CollectionEntry } from '../../../src/archive/manifest.ts';
import { serializeMetadata } from '../../../src/archive/collection-metadata.ts';
import { BATCHES_IN_FLIGHT, DEFAULT_INSERT_BATCH_DOCS, batchFrames, loadBase } from '../../../src/restore/load-base.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';
import { TaskWindow } from '../../../src/restore/task-window.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A target that counts what runs at once. With `documents` (each collection's size), an
 * insertMany that is not its collection's last holds until the next insertMany of the same
 * collection arrives: the loader then had a second batch in flight whatever the machine's speed
 * (a fixed few-ms insert let a loaded machine decode the next batch too late, and the peak
 * was 1). The last batch goes after a short tick.
 */
function fakeClient(options: { failOn?: string; documents?: ReadonlyMap<string, number> } = {}) {
  const inserted = new Map<string, Document[]>();
  const commands: Document[] = [];
  const insertOptions: Document[] = [];
  const peakByNs = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const sent = new Map<string, number>();
  const arrivals = new Map<string, () => void>();
  const peak = { collections: 0, perCollection: 0, total: 0 };
  const loading = new Set<string>();
  let total = 0;
  const client = {
    db: (db: string) => ({
      command: async (command: Document) => {
        commands.push(command);
        if ('create' in command) loading.add(`${db}.${String(command.create)}`);
        peak.collections = Math.max(peak.collections, loading.size);
        return { ok: 1 };
      },
      collection: (coll: string) => ({
        drop: async () => true,
        insertMany: async (sentDocs: Document[], insertOptionsOfCall: Document) => {
          // Documents arrive as field-ordered Maps (ordered-document.ts).
          const docs = sentDocs.map((doc) => toPlain(doc) as Document);
          const ns = `${db}.${coll}`;
          insertOptions.push({ ns, ...insertOptionsOfCall });
          arrivals.get(ns)?.();
          const now = (inFlight.get(ns) ?? 0) + 1;
          inFlight.set(ns, now);
          total++;
          peak.perCollection = Math.max(peak.perCollection, now);
          peakByNs.set(ns, Math.max(peakByNs.get(ns) ?? 0, now));
          peak.total = Math.max(peak.total, total);
          const through = (sent.get(ns) ?? 0) + docs.length;
          sent.set(ns, through);
          const size = options.documents?.get(ns);
          if (size !== undefined && through < size) await new Promise<void>((resolve) => arrivals.set(ns, resolve));
          else await tick(1);
          inFlight.set(ns, (inFlight.get(ns) ?? 1) - 1);
          total--;
          if (ns === options.failOn) throw new Error('refused');
          inserted.set(ns, [...(inserted.get(ns) ?? []), ...docs]);
          return { insertedCount: docs.length };
        },
      }),
    }),
  };
  /** loadBase's onCollection: the collection is loaded. */
  const loaded = (ns: string) => void loading.delete(ns);
  return { client: client as unknown as MongoClient, inserted, peak, loaded, commands, insertOptions, peakByNs };
}

let dir: string;
const files = new Map<string, string>();

async function collection(name: string, docs: number, options: Document = {}): Promise<CollectionEntry> {
  const metadataKey = `base/${name}.metadata.json.gz`;
  const dataKey = `base/${name}.bson.gz`;
  const indexes = [{ v: 2, key: { _id: 1 }, name: '_id_' }, { v: 2, key: { n: 1 }, name: 'n_1', unique: true }];
  const metadata = serializeMetadata({ collectionName: name, type: 'collection', options, indexes, uuid: null });
  // _ids not in insertion order, so that an order by _id is not the dump's order.
  const data = Buffer.concat(Array.from({ length: docs }, (_, n) => BSON.serialize({ _id: `${name}-${(n * 7919) % docs}`, n: new Int32(n), big: Long.fromNumber(n) })));
  files.set(metadataKey, join(dir, `${name}.metadata.json.gz`));
  files.set(dataKey, join(dir, `${name}.bson.gz`));
  await writeFile(files.get(metadataKey) ?? '', gzipSync(metadata));
  await writeFile(files.get(dataKey) ?? '', gzipSync(data));
  const object = (key: string) => ({ key, rawBytes: 0, storedBytes: 0, sha256: '' });
  return { db: 'shop', coll: name, type: 'collection', docs, data: object(dataKey), metadata: object(metadataKey) };
}

describe('loadBase', () => {
  let base: Base;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'load-base-test-'));
    const collections = [];
    for (let i = 0; i < 6; i++) collections.push(await collection(`c${i}`, 2500 + i));
    base = { collections } as unknown as Base;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads every document, with `concurrency` collections and two batches each in flight at most', async () => {
    const fake = fakeClient({ documents: new Map(base.collections.map((c) => [`${c.db}.${c.coll}`, c.docs])) });
    const result = await loadBase({ client: fake.client, base, files, namespaces: compileNamespaceMapper({}), drop: false, concurrency: 2, onCollection: fake.loaded });
    assert.equal(result.collections, 6);
    assert.equal(result.documents, 6 * 2500 + 15);
    assert.equal(fake.peak.collections, 2);
    // Written down, not read from the module: two batches per collection, two collections.
    assert.equal(BATCHES_IN_FLIGHT, 2);
    assert.equal(fake.peak.perCollection, 2);
    assert.ok(fake.peak.total <= 4, `peak ${fake.peak.total}`);
    // Decoded exactly: an int64 stays an int64.
    const first = fake.inserted.get('shop.c0')?.[1];
    assert.ok(first?.big instanceof Long);
    assert.equal(fake.inserted.get('shop.c5')?.length, 2505);
  });

  it('builds no secondary index: it hands every collection\'s specs back for the build after replay', async () => {
    // A unique index built before replay sees the fuzzy base and the lanes' reordered writes
    // (restore/index-catalog.ts): the base must reach replay without one.
    const fake = fakeClient();
    const result = await loadBase({ client: fake.client, base, files, namespaces: compileNamespaceMapper({}), drop: false, concurrency: 2 });
    assert.deepEqual(fake.commands.filter((command) => 'createIndexes' in command), []);
    assert.deepEqual(result.indexes.map(({ ns }) => ns).sort(), base.collections.map(({ coll }) => `shop.${coll}`).sort());
    assert.deepEqual(result.indexes[0]?.specs.map((spec) => spec.name), ['_id_', 'n_1']);
  });

  it('loads a capped collection in dump order: ordered inserts, one batch at a time', async () => {
    // Eviction keeps the newest inserts: parallel unordered batches would keep the wrong ones.
    const capped = await collection('capped', 2 * DEFAULT_INSERT_BATCH_DOCS + 500, { capped: true, size: 1 << 20, max: 1000 });
    const plain = await collection('plain', 2 * DEFAULT_INSERT_BATCH_DOCS + 500);
    const fake = fakeClient();
    await loadBase({ client: fake.client, base: { collections: [capped, plain] } as unknown as Base, files, namespaces: compileNamespaceMapper({}), drop: false, concurrency: 1 });
    const cappedCalls = fake.insertOptions.filter(({ ns }) => ns === 'shop.capped');
    assert.equal(cappedCalls.length, 3);
    assert.ok(cappedCalls.every(({ ordered }) => ordered === true));
    assert.ok(fake.insertOptions.filter(({ ns }) => ns === 'shop.plain').every(({ ordered }) => ordered === false));
    assert.deepEqual(fake.inserted.get('shop.capped')?.map((doc) => Number(doc.n)), Array.from({ length: 2500 }, (_, n) => n));
    assert.equal(fake.peakByNs.get('shop.capped'), 1);
  });

  it('a capped collection already partly there: an ordered insert stops at a duplicate, the rest is sent again', async () => {
    const capped = await collection('again', 10, { capped: true, size: 4096 });
    const present = new Set(['again-3', 'again-4']);
    const stored: unknown[] = [];
    const client = {
      db: () => ({
        command: async () => ({ ok: 1 }),
        collection: () => ({
          drop: async () => true,
          // As the server answers an ordered insert: stops at the first duplicate _id.
          insertMany: async (sentDocs: Document[], insertOptions: { ordered: boolean }) => {
            // Documents arrive as field-ordered Maps (ordered-document.ts).
            const docs = sentDocs.map((doc) => toPlain(doc) as Document);
            assert.equal(insertOptions.ordered, true);
            const at = docs.findIndex((doc) => present.has(String(doc._id)));
            const accepted = at < 0 ? docs : docs.slice(0, at);
            for (const doc of accepted) stored.push(doc._id);
            if (at < 0) return { insertedCount: docs.length };
            throw new MongoBulkWriteError(
              { message: 'E11000 duplicate key error', code: 11000, writeErrors: [{ index: at, code: 11000, errmsg: 'E11000' }] } as never,
              { insertedCount: at } as never,
            );
          },
        }),
      }),
    } as unknown as MongoClient;
    const result = await loadBase({ client, base: { collections: [capped] } as unknown as Base, files, namespaces: compileNamespaceMapper({}), drop: false });
    const order = Array.from({ length: 10 }, (_, n) => `again-${(n * 7919) % 10}`);
    assert.deepEqual(stored, order.filter((id) => !present.has(id)));
    assert.equal(result.documents, 8);
    assert.equal(result.duplicates, 2);
  });

  it('stops at the first failure, and starts no collection after it', async () => {
    const fake = fakeClient({ failOn: 'shop.c0' });
    await assert.rejects(
      loadBase({ client: fake.client, base, files, namespaces: compileNamespaceMapper({}), drop: false, concurrency: 1 }),
      /inserting into shop.c0 failed: refused/,
    );
    assert.equal(fake.inserted.size, 0);
  });
});

describe('batchFrames', () => {
  async function* frames(sizes: number[]): AsyncGenerator<Buffer> {
    for (const size of sizes) yield Buffer.alloc(size);
  }
  const shape = async (sizes: number[], limits: { docs?: number; bytes?: number }) => {
    const out: number[][] = [];
    for await (const batch of batchFrames(frames(sizes), limits)) out.push(batch.map((b) => b.length));
    return out;
  };

  it('cuts by documents and by bytes; a document bigger than the limit goes alone', async () => {
    assert.deepEqual(await shape([1, 1, 1, 1, 1], { docs: 2 }), [[1, 1], [1, 1], [1]]);
    assert.deepEqual(await shape([4, 4, 4, 9, 1], { bytes: 8 }), [[4, 4], [4], [9], [1]]);
    // 1,000 documents per insert by default (load-base.ts), written down here.
    assert.deepEqual((await shape(Array(2500).fill(1), {})).map((batch) => batch.length), [1000, 1000, 500]);
    assert.equal(DEFAULT_INSERT_BATCH_DOCS, 1000);
  });
});

describe('TaskWindow', () => {
  it('runs at most `size` tasks, makes the producer wait, and throws the first failure', async () => {
    const window = new TaskWindow(2);
    let running = 0;
    let peak = 0;
    const task = (fail = false) => async () => {
      running++;
      peak = Math.max(peak, running);
      await tick(2);
      running--;
      if (fail) throw new Error('first');
    };
    for (let i = 0; i < 5; i++) {
      await window.run(task());
      assert.ok(window.running <= 2);
    }
    await window.drain();
    assert.equal(peak, 2);
    await window.run(task(true));
    await window.run(task());
    await assert.rejects(window.drain(), /first/);
  });
});
