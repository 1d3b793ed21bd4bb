// One function turns an index spec into what createIndexes is sent, for the base's metadata and
// for the oplog's createIndexes / commitIndexBuild alike, on the fixtures real MongoDB and
// mongodump wrote (../shared/fixtures/mongo-tools). Server facts:
// - src/mongo/db/catalog/index_key_validate.cpp (isIndexVersionAllowedForCreation): v 1 and 2
//   are accepted for creation, so real MongoDB (applyOps mode) keeps the source's `v`;
// - FerretDB refuses `v`, so the portable form has none, whichever path the spec came by.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { readBsonFile } from '../../../src/archive/bson-frames.ts';
import { decodeOplogEntry } from '../../../src/archive/bson-decode.ts';
import { parseMetadata } from '../../../src/archive/collection-metadata.ts';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { isSkippedCommand, planCommand } from '../../../src/target/command-ops.ts';
import { createIndexSpec, isIdIndex } from '../../../src/target/index-spec.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const TOOLS = join(SHARED_DIR, 'fixtures', 'mongo-tools');

async function oplog(path: string): Promise<OplogEntry[]> {
  const entries: OplogEntry[] = [];
  for await (const raw of readBsonFile(join(TOOLS, path))) entries.push(decodeOplogEntry(raw));
  return entries;
}

/** The createIndexes specs planCommand sends for the index entries of a fixture. */
async function plannedSpecs(path: string, target: 'applyOps' | 'portable'): Promise<Document[]> {
  const specs: Document[] = [];
  for (const entry of await oplog(path)) {
    const plan = planCommand(entry, target);
    if (!isSkippedCommand(plan) && 'createIndexes' in plan.command) specs.push(...(plan.command.indexes as Document[]));
  }
  return specs;
}

async function metadataIndexes(path: string): Promise<Document[]> {
  return parseMetadata(await readFile(join(TOOLS, path)), 'x').indexes.filter((spec) => spec.name !== '_id_');
}

/** Plain values, so that Int32(1) and Double(1) compare by number. */
const plain = (spec: Document | undefined) => JSON.parse(JSON.stringify(spec ?? null)) as unknown;

describe('createIndexSpec: one spec for the base and the oplog', () => {
  const fixtures = ['oplogs/bson/create_index.bson', 'oplogs/bson/commit_index.bson', 'create_indexes/oplog.bson', 'commit_indexes_build/oplog.bson'];

  it('portable: oplog specs lose `v` like the base\'s (FerretDB refuses it)', async () => {
    for (const path of fixtures) {
      const specs = await plannedSpecs(path, 'portable');
      assert.ok(specs.length > 0, path);
      for (const spec of specs) assert.equal('v' in spec, false, `${path}: ${JSON.stringify(spec)}`);
    }
    for (const path of ['duplicate_index_key_with_oplog/test/foo.metadata.json', 'collMod_ttl_index/mongodump_test_db/coll1.metadata.json']) {
      for (const raw of await metadataIndexes(path)) assert.equal('v' in (createIndexSpec(raw, { target: 'portable' }) ?? {}), false, path);
    }
  });

  it('applyOps (real MongoDB): `v` is kept on both paths, every other field as logged', async () => {
    assert.deepEqual(plain((await plannedSpecs('create_indexes/oplog.bson', 'applyOps'))[1]), {
      v: 2, key: { b: 1 }, partialFilterExpression: { a: 1 }, name: 'b_1',
    });
    assert.deepEqual(plain((await plannedSpecs('oplogs/bson/commit_index.bson', 'applyOps'))[0]), { v: 2, key: { a: 1 }, name: 'a_1' });
    const [ttl] = await metadataIndexes('collMod_ttl_index/mongodump_test_db/coll1.metadata.json');
    assert.deepEqual(plain(createIndexSpec(ttl ?? {}, { target: 'applyOps' })), { v: 2, key: { a: 1 }, name: 'a_1', expireAfterSeconds: 1000 });
  });

  it('the same index recorded in a dump and logged in the oplog is sent alike', async () => {
    // a_1 of duplicate_index_key_with_oplog's metadata, and the oplog entry that would have made it.
    const [recorded] = await metadataIndexes('duplicate_index_key_with_oplog/test/foo.metadata.json');
    const [logged] = (await oplog('create_indexes/oplog.bson')).filter((entry) => 'createIndexes' in entry.o);
    assert.ok(recorded && logged);
    const fromOplog = { ...logged, o: { createIndexes: 'foo', v: recorded.v, unique: true, key: recorded.key, name: 'a_1' } };
    for (const target of ['applyOps', 'portable'] as const) {
      const plan = planCommand(fromOplog, target);
      assert.ok(!isSkippedCommand(plan));
      assert.deepEqual((plan.command.indexes as Document[])[0], createIndexSpec(recorded, { target }));
    }
  });

  it('drops ns and background, refuses specs without key or name, keeps a version the server accepts only', () => {
    const raw = { v: 2, key: { a: 1 }, name: 'a_1', ns: 'test.foo', background: true, sparse: true };
    assert.deepEqual(createIndexSpec(raw, { target: 'applyOps' }), { v: 2, key: { a: 1 }, name: 'a_1', sparse: true });
    assert.deepEqual(createIndexSpec({ ...raw, v: 0 }, { target: 'applyOps' }), { key: { a: 1 }, name: 'a_1', sparse: true });
    assert.equal(createIndexSpec({ key: { a: 1 } }, { target: 'applyOps' }), undefined);
    assert.equal(createIndexSpec({ name: 'a_1' }, { target: 'portable' }), undefined);
  });

  it('on a collection with a default collation, an index listed without one gets the simple collation', () => {
    // listIndexes writes no collation for a simple-collation index; createIndexes would give it the
    // collection's (mongo-tools common/idx/index_catalog.go GetIndexes adds it the same way).
    const fr = { locale: 'fr', strength: 2 };
    assert.deepEqual(createIndexSpec({ key: { a: 1 }, name: 'a_1' }, { target: 'applyOps', collectionCollation: fr }), {
      key: { a: 1 }, name: 'a_1', collation: { locale: 'simple' },
    });
    const own = { key: { a: 1 }, name: 'a_1', collation: fr };
    assert.deepEqual(createIndexSpec(own, { target: 'applyOps', collectionCollation: fr }), own);
    assert.deepEqual(createIndexSpec({ key: { a: 1 }, name: 'a_1' }, { target: 'applyOps', collectionCollation: { locale: 'simple' } }), { key: { a: 1 }, name: 'a_1' });
  });

  it('the _id index and a clustered collection\'s index come with the collection', () => {
    assert.equal(isIdIndex({ v: 2, key: { _id: 1 }, name: '_id_' }), true);
    assert.equal(isIdIndex({ v: 2, key: { _id: 1 }, name: 'by_id', unique: true, clustered: true }), true);
    assert.equal(isIdIndex({ v: 2, key: { _id: 1, a: 1 }, name: '_id_1_a_1' }), false);
  });
});
