import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Int32, Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import type { CommandPlan } from '../../../src/target/applier.ts';
import { KNOWN_COMMANDS, ServerErrorCode, isSkippedCommand, planCommand, refusedCommand } from '../../../src/target/command-ops.ts';

const { NamespaceNotFound, IndexNotFound, NamespaceExists, IndexAlreadyExists, IndexOptionsConflict, IndexKeySpecsConflict } =
  ServerErrorCode;

function command(o: Document, extra: Partial<OplogEntry> = {}): OplogEntry {
  return {
    op: 'c',
    ns: 'shop.$cmd',
    ui: new UUID(),
    o,
    ts: new Timestamp({ t: 1_700_000_000, i: 1 }),
    ...extra,
  };
}

function planned(entry: OplogEntry): CommandPlan {
  const result = planCommand(entry);
  if (isSkippedCommand(result)) assert.fail(`skipped: ${result.skip}`);
  assert.equal(result.entry, entry);
  return result;
}

function skipped(entry: OplogEntry): string {
  const result = planCommand(entry);
  if (!isSkippedCommand(result)) assert.fail(`planned: ${JSON.stringify(result.command)}`);
  return result.skip;
}

describe('planCommand: error codes', () => {
  it('uses the server codes of error_codes.yml', () => {
    assert.deepEqual(
      [NamespaceNotFound, IndexNotFound, NamespaceExists, IndexAlreadyExists, IndexOptionsConflict, IndexKeySpecsConflict],
      [26, 27, 48, 68, 85, 86],
    );
  });
});

describe('planCommand: create', () => {
  it('keeps every collection option and the idIndex, without its ns', () => {
    const o = {
      create: 'orders',
      capped: true,
      size: 4096,
      max: 10,
      validator: { $jsonSchema: { required: ['a'] } },
      validationLevel: 'moderate',
      validationAction: 'warn',
      collation: { locale: 'fr', strength: 2 },
      storageEngine: { wiredTiger: { configString: 'block_compressor=zstd' } },
      indexOptionDefaults: { storageEngine: {} },
      changeStreamPreAndPostImages: { enabled: true },
      idIndex: { v: 2, key: { _id: 1 }, name: '_id_', ns: 'shop.orders', collation: { locale: 'fr', strength: 2 } },
    };
    const plan = planned(command(o));
    assert.equal(plan.db, 'shop');
    const { idIndex, ...rest } = o;
    const { ns: _ns, ...cleanIdIndex } = idIndex;
    assert.deepEqual(plan.command, { ...rest, idIndex: cleanIdIndex });
    assert.equal(Object.keys(plan.command)[0], 'create');
    assert.deepEqual(plan.ignoreCodes, [NamespaceExists]);
  });

  it('keeps clustered-collection, view and encrypted-field options', () => {
    const clustered = { create: 'events', clusteredIndex: { v: 2, key: { _id: 1 }, name: 'c', unique: true }, expireAfterSeconds: 60 };
    assert.deepEqual(planned(command(clustered)).command, clustered);
    const view = { create: 'v', viewOn: 'orders', pipeline: [{ $match: { a: 1 } }], collation: { locale: 'simple' } };
    assert.deepEqual(planned(command(view)).command, view);
  });

  it('drops the fields the create command rejects', () => {
    const plan = planned(
      command({ create: 'tmp.agg_out.1', temp: true, autoIndexId: true, flags: 1, recordPreImages: true, recordIdsReplicated: true }),
    );
    assert.deepEqual(plan.command, { create: 'tmp.agg_out.1' });
  });

  it('creates a time-series collection by its own name from the create of its buckets', () => {
    const o = {
      create: 'system.buckets.weather',
      validator: { $jsonSchema: { bsonType: 'object' } },
      clusteredIndex: true,
      timeseries: { timeField: 'ts', metaField: 'm', granularity: 'hours', bucketMaxSpanSeconds: 2592000 },
      expireAfterSeconds: 3600,
    };
    assert.deepEqual(planned(command(o)).command, {
      create: 'weather',
      timeseries: { timeField: 'ts', metaField: 'm', granularity: 'hours' },
      expireAfterSeconds: 3600,
    });
  });

  it('keeps custom bucketing (no granularity) as it is', () => {
    const timeseries = { timeField: 'ts', bucketMaxSpanSeconds: 600, bucketRoundingSeconds: 600 };
    assert.deepEqual(planned(command({ create: 'm', timeseries })).command, { create: 'm', timeseries });
  });

  it('skips the view a time-series collection is read through', () => {
    const o = { create: 'weather', viewOn: 'system.buckets.weather', pipeline: [{ $_internalUnpackBucket: {} }] };
    assert.match(skipped(command(o)), /time-series view/);
  });

  it('skips internal namespaces', () => {
    assert.equal(skipped(command({ create: 'cache.test' }, { ns: 'config.$cmd' })), 'create: internal namespace');
    assert.equal(skipped(command({ create: 'system.views' })), 'create: internal namespace');
    assert.equal(skipped(command({ create: 'system.profile', capped: true })), 'create: internal namespace');
  });
});

describe('planCommand: drops and renames', () => {
  it('plans drop, ignoring a missing collection', () => {
    const plan = planned(command({ drop: 'orders' }, { o2: { numRecords: 3 } }));
    assert.deepEqual(plan.command, { drop: 'orders' });
    assert.deepEqual(plan.ignoreCodes, [NamespaceNotFound]);
  });

  it('drops a time-series collection by its own name', () => {
    assert.deepEqual(planned(command({ drop: 'system.buckets.weather' })).command, { drop: 'weather' });
  });

  it('plans dropDatabase on its database', () => {
    const plan = planned(command({ dropDatabase: new Int32(1) }, { ns: 'test.$cmd' }));
    assert.equal(plan.db, 'test');
    assert.deepEqual(plan.command, { dropDatabase: 1 });
    assert.deepEqual(plan.ignoreCodes, []);
    assert.match(skipped(command({ dropDatabase: 1 }, { ns: 'local.$cmd' })), /internal namespace/);
  });

  it('plans renameCollection on admin, across databases, dropTarget as a boolean', () => {
    const plan = planned(
      command({ renameCollection: 'shop.a', to: 'archive.b', stayTemp: false, dropTarget: new UUID() }),
    );
    assert.equal(plan.db, 'admin');
    assert.deepEqual(plan.command, { renameCollection: 'shop.a', to: 'archive.b', dropTarget: true, stayTemp: false });
    assert.deepEqual(plan.ignoreCodes, [NamespaceNotFound, NamespaceExists]);
    const plain = planned(command({ renameCollection: 'shop.a', to: 'shop.b' }));
    assert.deepEqual(plain.command, { renameCollection: 'shop.a', to: 'shop.b', dropTarget: false });
    const legacy = planned(command({ renameCollection: 'shop.a', to: 'shop.b', dropTarget: new Int32(0) }));
    assert.equal(legacy.command.dropTarget, false);
  });

  it('skips renames from or into internal namespaces', () => {
    assert.match(skipped(command({ renameCollection: 'config.x', to: 'shop.b' })), /internal/);
  });
});

describe('planCommand: indexes', () => {
  const INDEX_IGNORES = [IndexAlreadyExists, IndexOptionsConflict, IndexKeySpecsConflict];

  it('turns the oplog form of createIndexes into the command', () => {
    const o = { createIndexes: 'orders', v: 2, key: { sku: 1 }, name: 'sku_1', unique: true, partialFilterExpression: { a: { $gt: 1 } }, ns: 'shop.orders' };
    const plan = planned(command(o));
    assert.deepEqual(plan.command, {
      createIndexes: 'orders',
      indexes: [{ v: 2, key: { sku: 1 }, name: 'sku_1', unique: true, partialFilterExpression: { a: { $gt: 1 } } }],
    });
    assert.deepEqual(plan.ignoreCodes, INDEX_IGNORES);
  });

  it('keeps hidden, TTL and collation options', () => {
    const o = { createIndexes: 'c', v: 2, hidden: true, key: { d: 1 }, name: 'd_1', expireAfterSeconds: 100, collation: { locale: 'en' } };
    const { createIndexes: _c, ...spec } = o;
    assert.deepEqual(planned(command(o)).command, { createIndexes: 'c', indexes: [spec] });
  });

  it('turns commitIndexBuild into one createIndexes with all its indexes', () => {
    const indexes = [
      { v: 2, key: { a: 1 }, name: 'a_1' },
      { v: 2, key: { b: 1 }, name: 'b_1', partialFilterExpression: { a: 1 }, ns: 'shop.orders' },
    ];
    const plan = planned(command({ commitIndexBuild: 'orders', indexBuildUUID: new UUID(), indexes }));
    assert.deepEqual(plan.command, {
      createIndexes: 'orders',
      indexes: [indexes[0], { v: 2, key: { b: 1 }, name: 'b_1', partialFilterExpression: { a: 1 } }],
    });
    assert.deepEqual(plan.ignoreCodes, INDEX_IGNORES);
  });

  it('skips startIndexBuild and abortIndexBuild', () => {
    const indexes = [{ v: 2, key: { a: 1 }, name: 'a_1' }];
    assert.match(skipped(command({ startIndexBuild: 'o', indexBuildUUID: new UUID(), indexes })), /commitIndexBuild entry carries/);
    assert.match(skipped(command({ abortIndexBuild: 'o', indexBuildUUID: new UUID(), indexes })), /never committed/);
  });

  it('refuses index specs without key or name', () => {
    assert.equal(skipped(command({ createIndexes: 'o', v: 2, name: 'x' })), 'createIndexes: malformed entry');
    assert.equal(skipped(command({ commitIndexBuild: 'o', indexes: [{ key: { a: 1 } }] })), 'commitIndexBuild: malformed entry');
    assert.equal(skipped(command({ commitIndexBuild: 'o', indexes: [] })), 'commitIndexBuild: malformed entry');
  });

  it('plans dropIndexes and its aliases by index name, from o or from o2', () => {
    const expected = { dropIndexes: 'orders', index: 'sku_1' };
    for (const verb of ['dropIndexes', 'deleteIndexes', 'dropIndex', 'deleteIndex']) {
      const plan = planned(command({ [verb]: 'orders', index: 'sku_1' }, { o2: { v: 2, key: { sku: 1 }, name: 'sku_1' } }));
      assert.deepEqual(plan.command, expected, verb);
      assert.deepEqual(plan.ignoreCodes, [IndexNotFound, NamespaceNotFound]);
    }
    const fromO2 = planned(command({ dropIndexes: 'orders' }, { o2: { v: 2, key: { sku: 1 }, name: 'sku_1' } }));
    assert.deepEqual(fromO2.command, expected);
    assert.equal(skipped(command({ dropIndexes: 'orders' })), 'dropIndexes: malformed entry');
  });
});

describe('planCommand: collMod and capped collections', () => {
  it('keeps index options and collection options', () => {
    const o = { collMod: 'c', index: { name: 'f_1', hidden: true } };
    const plan = planned(command(o, { o2: { collectionOptions_old: {}, hidden_old: false } }));
    assert.deepEqual(plan.command, o);
    assert.deepEqual(plan.ignoreCodes, [IndexNotFound, NamespaceNotFound]);
    const validator = { collMod: 'c', validator: { a: { $type: 'int' } }, validationLevel: 'strict', expireAfterSeconds: 'off' };
    assert.deepEqual(planned(command(validator)).command, validator);
    for (const index of [{ name: 'a_1', prepareUnique: true }, { name: 'a_1', unique: true }, { name: 'a_1', expireAfterSeconds: 5 }]) {
      assert.deepEqual(planned(command({ collMod: 'c', index })).command, { collMod: 'c', index });
    }
  });

  it('drops the fields collMod rejects, and keyPattern next to a name', () => {
    const o = { collMod: 'c', noPadding: true, usePowerOf2Sizes: true, recordPreImages: false, index: { name: 'a_1', keyPattern: { a: 1 }, hidden: false } };
    assert.deepEqual(planned(command(o)).command, { collMod: 'c', index: { name: 'a_1', hidden: false } });
  });

  it('runs collMod on a time-series collection by its own name', () => {
    assert.deepEqual(planned(command({ collMod: 'system.buckets.w', expireAfterSeconds: 60 })).command, {
      collMod: 'w',
      expireAfterSeconds: 60,
    });
  });

  it('empties a capped collection with a delete (emptycapped is a test-only command)', () => {
    const plan = planned(command({ emptycapped: 'log' }));
    assert.deepEqual(plan.command, { delete: 'log', deletes: [{ q: {}, limit: 0 }] });
    assert.deepEqual(plan.ignoreCodes, []);
  });

  it('plans convertToCapped with its size', () => {
    const plan = planned(command({ convertToCapped: 'log', size: 1 << 20 }));
    assert.deepEqual(plan.command, { convertToCapped: 'log', size: 1 << 20 });
    assert.deepEqual(plan.ignoreCodes, [NamespaceNotFound]);
    assert.equal(skipped(command({ convertToCapped: 'log' })), 'convertToCapped: malformed entry');
  });
});

describe('planCommand: what it does not plan', () => {
  it('leaves transactions and applyOps to the transaction buffer', () => {
    assert.match(skipped(command({ applyOps: [] }, { ns: 'admin.$cmd' })), /^applyOps: .*transaction buffer/);
    assert.match(skipped(command({ commitTransaction: 1, commitTimestamp: new Timestamp({ t: 1, i: 1 }) })), /transaction buffer/);
    assert.match(skipped(command({ abortTransaction: 1 })), /transaction buffer/);
  });

  it('refuses unknown and unreplayable commands, for replay to fail on unless told to skip', () => {
    const refused = (o: Document) => refusedCommand(command(o));
    assert.equal(refused({ reshardCollection: 'x' }), 'unknown command "reshardCollection"');
    assert.equal(refused({ constructor: 'x' }), 'unknown command "constructor"');
    assert.match(refused({ importCollection: 'shop.x', importUUID: new UUID() }) ?? '', /^importCollection: .*not in the oplog/);
    assert.match(refused({ upgradeDowngradeViewlessTimeseries: 'x' }) ?? '', /cannot be replayed/);
    for (const o of [{ create: 'x' }, { dbCheck: 'x' }, { applyOps: [] }, {}]) assert.equal(refused(o), undefined, JSON.stringify(o));
    assert.equal(refusedCommand({ ...command({}), op: 'i', o: { _id: 1 } }), undefined);
    // planCommand still says why, for the receipt when they are skipped knowingly.
    assert.equal(skipped(command({ reshardCollection: 'x' })), 'unknown command "reshardCollection"');
    assert.match(skipped(command({ importCollection: 'shop.x' })), /^importCollection: /);
  });

  it('skips the commands that change nothing a restore keeps, with a reason, without refusing them', () => {
    const noOps = ['dbCheck', 'startIndexBuild', 'abortIndexBuild', 'modifyCollectionShardingIndexCatalog', 'createGlobalIndex', 'dropGlobalIndex'];
    // CommandType values of src/mongo/db/repl/oplog_entry.idl (master) beyond kOpsMap's keys.
    noOps.push('createDatabaseMetadata', 'dropDatabaseMetadata');
    for (const name of noOps) {
      assert.match(skipped(command({ [name]: 'x' })), new RegExp(`^${name}: `));
      assert.equal(refusedCommand(command({ [name]: 'x' })), undefined, name);
    }
  });

  it('knows every command the server applies from the oplog', () => {
    // The keys of kOpsMap in mongodb/mongo src/mongo/db/repl/oplog.cpp (master, 2025), where
    // kShardingIndexCatalogOplogEntryName is "modifyCollectionShardingIndexCatalog".
    const kOpsMap = [
      'create', 'createIndexes', 'startIndexBuild', 'commitIndexBuild', 'abortIndexBuild', 'collMod', 'dbCheck',
      'dropDatabase', 'drop', 'deleteIndex', 'deleteIndexes', 'dropIndex', 'dropIndexes', 'renameCollection',
      'importCollection', 'applyOps', 'convertToCapped', 'emptycapped', 'commitTransaction', 'abortTransaction',
      'modifyCollectionShardingIndexCatalog', 'createGlobalIndex', 'dropGlobalIndex',
    ];
    for (const name of kOpsMap) assert.ok(KNOWN_COMMANDS.has(name), name);
  });

  it('skips non-command and malformed entries', () => {
    assert.match(skipped({ ...command({}), op: 'i', o: { _id: 1 } }), /not a command entry/);
    assert.equal(skipped(command({})), 'malformed command entry: empty o');
    assert.equal(skipped(command({ create: 5 })), 'create: malformed entry');
    assert.equal(skipped(command({ drop: '' })), 'drop: malformed entry');
    assert.equal(skipped(command({ renameCollection: 'a.b' })), 'renameCollection: malformed entry');
  });
});
