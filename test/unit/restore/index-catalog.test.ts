// The indexes a restore ends with, tracked through replay instead of built before it, fed with
// the index commands real MongoDB logs (../shared/fixtures/mongo-tools oplogs, through
// planCommand as replay sends them), and the wrapper that keeps them off the target meanwhile.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BSON, Timestamp, type Document } from 'mongodb';
import { readBsonFile } from '../../../src/archive/bson-frames.ts';
import { decodeOplogEntry } from '../../../src/archive/bson-decode.ts';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { IndexCatalog } from '../../../src/restore/index-catalog.ts';
import { DeferredIndexApplier } from '../../../src/restore/deferred-index-applier.ts';
import { emptyApplyStats, type Applier, type CommandPlan } from '../../../src/target/applier.ts';
import { isSkippedCommand, planCommand } from '../../../src/target/command-ops.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const TOOLS = join(SHARED_DIR, 'fixtures', 'mongo-tools');

async function plans(path: string): Promise<CommandPlan[]> {
  const list: CommandPlan[] = [];
  for await (const raw of readBsonFile(join(TOOLS, path))) {
    const plan = planCommand(decodeOplogEntry(raw));
    if (!isSkippedCommand(plan)) list.push(plan);
  }
  return list;
}

function command(o: Document, db = 'test'): CommandPlan {
  const entry: OplogEntry = { op: 'c', ns: `${db}.$cmd`, o, ts: new Timestamp({ t: 1, i: 1 }) };
  const plan = planCommand(entry);
  if (isSkippedCommand(plan)) assert.fail(plan.skip);
  return plan;
}

/** Index specs by namespace and name, as relaxed EJSON (Int32(1), Long(1) and 1.0 all read 1). */
function state(catalog: IndexCatalog): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const { ns, specs } of catalog.collections()) {
    out[ns] = Object.fromEntries(specs.map((spec) => [String(spec.name), BSON.EJSON.serialize(spec, { relaxed: true })]));
  }
  return out;
}

describe('IndexCatalog: index commands of real oplogs', () => {
  it('createIndexes and commitIndexBuild add the logged specs; nothing of them reaches the target', async () => {
    for (const [path, ns] of [['create_indexes/oplog.bson', 'create_indexes.test'], ['commit_indexes_build/oplog.bson', 'commit_index.test']] as const) {
      const catalog = new IndexCatalog();
      const forwarded = (await plans(path)).map((plan) => catalog.absorb(plan)).filter((plan) => plan !== undefined);
      assert.deepEqual(forwarded.map((plan) => Object.keys(plan.command)[0]), ['create'], path);
      assert.deepEqual(state(catalog), {
        [ns]: {
          a_1: { v: 2, key: { a: 1 }, name: 'a_1' },
          b_1: { v: 2, key: { b: 1 }, partialFilterExpression: { a: 1 }, name: 'b_1' },
        },
      });
    }
  });

  it('collMod index options: prepareUnique, unique conversion, forceNonUnique, hidden and TTL (collMod_indexUniqueness)', async () => {
    const catalog = new IndexCatalog();
    for (const plan of await plans('oplogs/bson/collMod_indexUniqueness.bson')) assert.equal(catalog.absorb(plan)?.command.create, Object.keys(plan.command)[0] === 'create' ? 'coll1' : undefined);
    // Each index went prepareUnique → unique → forceNonUnique: back to its created options.
    assert.deepEqual(state(catalog), {
      'mongodump_test_db.coll1': {
        a_1: { v: 2, key: { a: 1 }, name: 'a_1' },
        b_1: { v: 2, hidden: true, key: { b: 1 }, name: 'b_1' },
        c_1: { v: 2, key: { c: 1 }, name: 'c_1', expireAfterSeconds: 100000 },
        d_1: { v: 2, hidden: true, key: { d: 1 }, name: 'd_1', expireAfterSeconds: 100000 },
      },
    });
  });

  it('collMod of a base index (collMod_with_hidden, collMod_ttl_index), then its drop (drop_index)', async () => {
    const catalog = new IndexCatalog();
    catalog.addCollection('test.foo', [{ v: 2, key: { _id: 1 }, name: '_id_' }, { v: 2, key: { f: 1 }, name: 'f_1', expireAfterSeconds: 1000 }]);
    for (const plan of await plans('oplogs/bson/collMod_with_hidden.bson')) assert.equal(catalog.absorb(plan), undefined);
    assert.deepEqual(state(catalog), { 'test.foo': { f_1: { v: 2, key: { f: 1 }, name: 'f_1', expireAfterSeconds: 3600, hidden: true } } });
    for (const plan of await plans('oplogs/bson/drop_index.bson')) assert.equal(catalog.absorb(plan), undefined);
    assert.deepEqual(state(catalog), {});

    const ttl = new IndexCatalog();
    ttl.addCollection('mongodump_test_db.coll1', [{ v: 2, key: { a: 1 }, name: 'a_1' }]);
    for (const plan of await plans('collMod_ttl_index/oplog.bson')) ttl.absorb(plan);
    assert.deepEqual(state(ttl), { 'mongodump_test_db.coll1': { a_1: { v: 2, key: { a: 1 }, name: 'a_1', expireAfterSeconds: 1000 } } });
  });

  it('a collMod that also changes the collection runs without its index part; by keyPattern too', () => {
    const catalog = new IndexCatalog();
    catalog.addCollection('test.c', [{ v: 2, key: { a: 1 }, name: 'a_1' }]);
    const rest = catalog.absorb(command({ collMod: 'c', validator: { a: { $type: 'int' } }, index: { keyPattern: { a: 1 }, hidden: true } }));
    assert.deepEqual(rest?.command, { collMod: 'c', validator: { a: { $type: 'int' } } });
    assert.deepEqual(state(catalog), { 'test.c': { a_1: { v: 2, key: { a: 1 }, name: 'a_1', hidden: true } } });
    catalog.absorb(command({ collMod: 'c', index: { name: 'a_1', hidden: false } }));
    assert.deepEqual(state(catalog), { 'test.c': { a_1: { v: 2, key: { a: 1 }, name: 'a_1' } } });
  });

  it('drop, dropDatabase, renameCollection (across databases, dropTarget) and convertToCapped move or remove the indexes, and still run', () => {
    const catalog = new IndexCatalog();
    catalog.addCollection('a.x', [{ key: { x: 1 }, name: 'x_1' }]);
    catalog.addCollection('a.y', [{ key: { y: 1 }, name: 'y_1' }]);
    catalog.addCollection('b.z', [{ key: { z: 1 }, name: 'z_1' }]);
    catalog.addCollection('c.w', [{ key: { w: 1 }, name: 'w_1' }]);
    const run = (plan: CommandPlan) => assert.equal(catalog.absorb(plan), plan);
    run(command({ renameCollection: 'a.x', to: 'b.z', dropTarget: true }, 'a'));
    assert.deepEqual(Object.keys(state(catalog)).sort(), ['a.y', 'b.z', 'c.w']);
    assert.deepEqual(Object.keys(state(catalog)['b.z'] ?? {}), ['x_1']);
    run(command({ drop: 'y' }, 'a'));
    run(command({ convertToCapped: 'w', size: 4096 }, 'c'));
    run(command({ dropDatabase: 1 }, 'b'));
    assert.deepEqual(state(catalog), {});
    // A collection created again after its drop starts with no index.
    run(command({ create: 'y' }, 'a'));
    catalog.absorb(command({ createIndexes: 'y', v: 2, key: { n: 1 }, name: 'n_1' }, 'a'));
    assert.deepEqual(state(catalog), { 'a.y': { n_1: { v: 2, key: { n: 1 }, name: 'n_1' } } });
    catalog.absorb(command({ dropIndexes: 'y', index: '*' }, 'a'));
    assert.deepEqual(state(catalog), {});
  });
});

describe('DeferredIndexApplier', () => {
  it('keeps index commands off the target, passes the rest and CRUD, counts both as applied', async () => {
    const seen: string[] = [];
    const inner: Applier = {
      mode: 'applyOps',
      stats: emptyApplyStats(),
      applyCrud: async (batch) => void seen.push(`crud ${batch.length}`),
      applyTransaction: async (entries) => void seen.push(`txn ${entries.length}`),
      applyCommand: async (plan) => {
        seen.push(`command ${Object.keys(plan.command)[0]}`);
        inner.stats.commands++;
      },
    };
    const catalog = new IndexCatalog();
    const applier = new DeferredIndexApplier(inner, catalog);
    await applier.applyCommand(command({ create: 'c' }));
    await applier.applyCommand(command({ createIndexes: 'c', v: 2, unique: true, key: { email: 1 }, name: 'email_1' }));
    await applier.applyCrud([{ op: 'i', ns: 'test.c', o: { _id: 1 }, ts: new Timestamp({ t: 1, i: 2 }) }]);
    await applier.applyCommand(command({ collMod: 'c', index: { name: 'email_1', hidden: true } }));
    assert.deepEqual(seen, ['command create', 'crud 1']);
    assert.equal(applier.stats.commands, 3);
    assert.equal(applier.mode, 'applyOps');
    assert.deepEqual(state(catalog), { 'test.c': { email_1: { v: 2, unique: true, key: { email: 1 }, name: 'email_1', hidden: true } } });
  });
});
