// Base oplog validation over command entries in the shapes the server writes:
// - renameCollection: mongodb/mongo src/mongo/db/op_observer/op_observer_impl.cpp
//   preRenameCollection ({renameCollection, to, stayTemp, dropTarget?: UUID}, o2 {numRecords}
//   with dropTarget, ns '<db>.$cmd', ui = the source's UUID);
// - cross-database rename: src/mongo/db/catalog/rename_collection.cpp renameBetweenDBs (create
//   tmpXXXXX.renameCollection in the target db, inserts, rename within the db, drop the source);
// - $out: src/mongo/db/pipeline/process_interface (tmp.agg_out.<uuid> created, filled, renamed
//   over the target with dropTarget);
// - importCollection: op_observer_impl.cpp onImportCollection + ImportCollectionOplogEntry
//   ({importCollection, importUUID, numRecords, dataSize, catalogEntry, storageMetadata, dryRun});
// - create/drop: ../shared/fixtures/pbm/ops_cmd_create_drop.json (recorded from MongoDB 7/8).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Binary, Long, Timestamp, UUID, type Document } from 'mongodb';
import { BaseOplogCheck, UnsafeBaseOplog } from '../../../src/backup/base-oplog-check.ts';

let clock = 1_732_706_704;
function command(ns: string, o: Document, extra: Document = {}): Document {
  return { op: 'c', ns, ui: new UUID().toBinary(), o, ...extra, ts: new Timestamp({ t: clock++, i: 1 }), t: Long.fromNumber(2), v: Long.fromNumber(2), wall: new Date() };
}
function insert(ns: string, _id: number): Document {
  return { op: 'i', ns, ui: new UUID().toBinary(), o: { _id }, o2: { _id }, ts: new Timestamp({ t: clock++, i: 1 }), t: Long.fromNumber(2), v: Long.fromNumber(2), wall: new Date() };
}
function check(entries: Document[]): BaseOplogCheck {
  const result = new BaseOplogCheck();
  for (const entry of entries) result.observe(entry);
  return result;
}
const create = (db: string, coll: string): Document =>
  command(`${db}.$cmd`, { create: coll, idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } });
const rename = (from: string, to: string, dropTarget?: Binary): Document =>
  command(`${from.split('.')[0]}.$cmd`, { renameCollection: from, to, stayTemp: false, ...(dropTarget ? { dropTarget } : {}) }, dropTarget ? { o2: { numRecords: 12 } } : {});

test('$out that began before T0 and renamed its tmp collection over the target during the dump fails the base', () => {
  const result = check([
    insert('shop.tmp.agg_out.6f1c', 900), // written before the rename, after T0: the earlier ones are not here
    rename('shop.tmp.agg_out.6f1c', 'shop.report', new UUID().toBinary()),
    insert('shop.report', 901),
  ]);
  assert.equal(result.problems.length, 1);
  assert.equal(result.problems[0]?.command, 'renameCollection');
  assert.deepEqual(result.problems[0]?.namespaces, ['shop.tmp.agg_out.6f1c', 'shop.report']);
  assert.ok(new UnsafeBaseOplog(result.problems).message.includes('shop.report'));
});

test('$out that began after T0 is replayable: its tmp collection was created in the window', () => {
  const result = check([
    create('shop', 'tmp.agg_out.77aa'),
    insert('shop.tmp.agg_out.77aa', 1),
    rename('shop.tmp.agg_out.77aa', 'shop.report', new UUID().toBinary()),
  ]);
  assert.deepEqual(result.problems, []);
});

test('a cross-database rename started after T0 is replayable; a plain rename of an old collection is not', () => {
  const crossDb = check([
    create('archive', 'tmpAbc12.renameCollection'),
    insert('archive.tmpAbc12.renameCollection', 1),
    rename('archive.tmpAbc12.renameCollection', 'archive.orders'),
    command('shop.$cmd', { drop: 'orders' }, { o2: { numRecords: 1 } }),
  ]);
  assert.deepEqual(crossDb.problems, []);
  const old = check([rename('shop.orders', 'shop.orders_2024')]);
  assert.deepEqual(old.problems.map((p) => p.namespaces), [['shop.orders', 'shop.orders_2024']]);
});

test('a collection renamed twice in the window stays replayable; dropped and renamed from again, it does not', () => {
  assert.deepEqual(check([create('db', 'a'), rename('db.a', 'db.b'), rename('db.b', 'db.c')]).problems, []);
  const dropped = check([create('db', 'a'), command('db.$cmd', { drop: 'a' }), rename('db.a', 'db.b')]);
  assert.equal(dropped.problems.length, 1);
});

test("resharding's final rename fails the base even if its collection was created in the window", () => {
  const result = check([create('db', 'system.resharding.0d1f'), rename('db.system.resharding.0d1f', 'db.items', new UUID().toBinary())]);
  assert.equal(result.problems.length, 1);
});

test('importCollection fails the base unless it is a dry run', () => {
  const entry = (dryRun: boolean): Document =>
    command('shop.$cmd', { importCollection: 'shop.imported', importUUID: new UUID().toBinary(), numRecords: Long.fromNumber(10), dataSize: Long.fromNumber(400), catalogEntry: {}, storageMetadata: {}, dryRun });
  assert.deepEqual(check([entry(true)]).problems, []);
  assert.deepEqual(check([entry(false)]).problems.map((p) => [p.command, p.namespaces]), [['importCollection', ['shop.imported']]]);
});

test('a rename inside an applyOps command is seen too; CRUD entries are ignored', () => {
  const applyOps = command('admin.$cmd', { applyOps: [{ op: 'c', ns: 'db.$cmd', o: { renameCollection: 'db.x', to: 'db.y', stayTemp: false } }] });
  assert.equal(check([insert('db.x', 1), applyOps]).problems.length, 1);
});
