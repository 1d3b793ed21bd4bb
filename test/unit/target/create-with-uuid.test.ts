// planCreate: the applyOps create op that keeps a collection's source UUID (mongorestore
// --preserveUUID's way), and the plain create where there is no UUID to keep. Shapes from
// mongodb/mongo: the create op with `ui` (src/mongo/db/repl/oplog.cpp, the "create" command op
// handing `ui` to createCollectionForApplyOps in src/mongo/db/catalog/create_collection.cpp;
// jstests/replsets/apply_ops_create_with_uuid.js), listCollections options as mongodump stores them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Long, UUID } from 'mongodb';
import { planCreate } from '../../../src/target/create-with-uuid.ts';

const HEX = '0f1e2d3c4b5a49788796a5b4c3d2e1f0';
const ID_INDEX = { v: 2, key: { _id: 1 }, name: '_id_' };

test('a collection with a UUID: applyOps on admin with one create op carrying ui and the _id index spec', () => {
  const planned = planCreate({ db: 'app', coll: 'orders', options: {}, indexes: [ID_INDEX, { v: 2, key: { k: 1 }, name: 'k_1' }], uuid: HEX }, true);
  assert.equal(planned.db, 'admin');
  assert.equal(planned.preservesUuid, true);
  assert.deepEqual(planned.command, {
    applyOps: [{ op: 'c', ns: 'app.$cmd', ui: new UUID('0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0'), o: { create: 'orders', idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } } }],
  });
});

test('an old dump\'s _id index spec loses its ns field (4.4+ index specs carry none)', () => {
  const planned = planCreate({ db: 'app', coll: 'orders', options: {}, indexes: [{ ...ID_INDEX, ns: 'app.orders' }], uuid: HEX }, true);
  assert.deepEqual(planned.command.applyOps[0].o.idIndex, ID_INDEX);
});

test('a capped collection: its options in the create op, the metadata\'s uuid option dropped', () => {
  const planned = planCreate({ db: 'app', coll: 'log', options: { capped: true, size: Long.fromNumber(4096), max: 100, uuid: HEX }, indexes: [ID_INDEX], uuid: HEX }, true);
  assert.deepEqual(planned.command, {
    applyOps: [{ op: 'c', ns: 'app.$cmd', ui: new UUID(HEX), o: { create: 'log', capped: true, size: Long.fromNumber(4096), max: 100, idIndex: ID_INDEX } }],
  });
});

test('a clustered collection: clusteredIndex in the op and no idIndex (it has no separate _id index)', () => {
  const clusteredIndex = { key: { _id: 1 }, unique: true, v: 2, name: '_id_' };
  const planned = planCreate({ db: 'app', coll: 'events', options: { clusteredIndex, expireAfterSeconds: Long.fromNumber(60) }, indexes: [], uuid: HEX }, true);
  assert.deepEqual(planned.command, {
    applyOps: [{ op: 'c', ns: 'app.$cmd', ui: new UUID(HEX), o: { create: 'events', clusteredIndex, expireAfterSeconds: Long.fromNumber(60) } }],
  });
});

test('a time-series collection with a recorded UUID: the timeseries options travel in the op', () => {
  const timeseries = { timeField: 't', metaField: 'm', granularity: 'seconds', bucketMaxSpanSeconds: 3600 };
  const planned = planCreate({ db: 'iot', coll: 'temps', options: { timeseries }, indexes: [], uuid: HEX }, true);
  assert.deepEqual(planned.command, { applyOps: [{ op: 'c', ns: 'iot.$cmd', ui: new UUID(HEX), o: { create: 'temps', timeseries } }] });
});

test('a time-series collection listed without a UUID (a view over its buckets before 8.0): plain create', () => {
  const timeseries = { timeField: 't', granularity: 'seconds', bucketMaxSpanSeconds: 3600 };
  assert.deepEqual(planCreate({ db: 'iot', coll: 'temps', options: { timeseries }, uuid: null }, true), { db: 'iot', command: { create: 'temps', timeseries }, preservesUuid: false });
});

test('a view has no UUID: plain create on its database, even asked to preserve', () => {
  const options = { viewOn: 'orders', pipeline: [{ $match: { k: 1 } }] };
  assert.deepEqual(planCreate({ db: 'app', coll: 'some', options, uuid: HEX }, true), { db: 'app', command: { create: 'some', viewOn: 'orders', pipeline: [{ $match: { k: 1 } }] }, preservesUuid: false });
});

test('not asked to preserve: the plain create, the uuid option dropped', () => {
  assert.deepEqual(planCreate({ db: 'app', coll: 'orders', options: { uuid: HEX, validator: { k: { $type: 'int' } } }, indexes: [ID_INDEX], uuid: HEX }, false), {
    db: 'app',
    command: { create: 'orders', validator: { k: { $type: 'int' } } },
    preservesUuid: false,
  });
});
