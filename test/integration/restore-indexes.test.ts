// Restores of hand-built chains (a mongodump folder with --oplog, written here in the shapes
// MongoDB writes, imported as a base) on the MongoDB-wire test server:
// - a unique index never aborts a valid history: the base oplog replayed over newer document
//   states passes through states a unique index refuses, so indexes are built after replay;
// - index commands of the oplog (createIndexes with `v`, commitIndexBuild, collMod, dropIndexes)
//   end as the source's indexes, sent like the base's (FerretDB refuses `v`);
// - a collection written to and dropped before the catalog read (absent from the base) restores;
// - a capped collection loaded past its cap keeps the newest documents of the dump's order.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BSON, Long, MongoClient, Timestamp, UUID, type Document } from 'mongodb';
import { importDump } from '../../src/interop/import-dump.ts';
import { restore } from '../../src/restore/restore.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { waitFor } from '../support/wait-for.ts';
import { NO_MONGO, testMongoUri, uniqueName } from '../support/test-env.ts';

const FOLDER = STORE_KINDS[0];

interface DumpCollection {
  readonly coll: string;
  readonly docs: readonly Document[];
  readonly options?: Document;
  readonly indexes?: readonly Document[];
}

let tick = 0;
/** An oplog entry as a 6.0+ primary writes it. */
function op(fields: Document): Document {
  tick++;
  return { ...fields, ts: new Timestamp({ t: 1_760_000_000 + tick, i: 1 }), t: Long.fromNumber(1), v: Long.fromNumber(2), wall: new Date(1_760_000_000_000 + tick * 1000) };
}

/** Writes `<dir>/<db>/<coll>.bson|.metadata.json` and `<dir>/oplog.bson`, as mongodump --oplog does. */
async function writeDump(db: string, collections: readonly DumpCollection[], oplog: readonly Document[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-idx-'));
  await mkdir(join(dir, db));
  for (const { coll, docs, options = {}, indexes = [] } of collections) {
    await writeFile(join(dir, db, `${coll}.bson`), Buffer.concat(docs.map((doc) => BSON.serialize(doc))));
    const metadata = { options, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }, ...indexes], uuid: new UUID().toHexString(false), collectionName: coll, type: 'collection' };
    await writeFile(join(dir, db, `${coll}.metadata.json`), BSON.EJSON.stringify(metadata, { relaxed: false }));
  }
  await writeFile(join(dir, 'oplog.bson'), Buffer.concat(oplog.map((entry) => BSON.serialize(entry))));
  return dir;
}

async function restoreDumpTo(uri: string, dirs: string[], db: string, collections: readonly DumpCollection[], oplog: readonly Document[]) {
  const dir = await writeDump(db, collections, oplog);
  dirs.push(dir);
  const { store } = await FOLDER.open();
  try {
    await importDump({ store, path: dir, source: { setName: uniqueName('set'), replicaSetId: null } });
    return await restore({ store, targetUri: uri, drop: true });
  } finally {
    await store.close();
  }
}

describe('restore: indexes after replay, missing and capped collections', { skip: NO_MONGO || FOLDER?.skip }, () => {
  const uri = testMongoUri() ?? '';
  const client = new MongoClient(uri);
  const dirs: string[] = [];
  before(() => client.connect());
  after(async () => {
    await client.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const restoreDump = (db: string, collections: readonly DumpCollection[], oplog: readonly Document[]) => restoreDumpTo(uri, dirs, db, collections, oplog);

  const documents = (db: string, coll: string) => client.db(db).collection<Document>(coll).find({}, { sort: { _id: 1 } }).toArray();
  const indexNames = async (db: string, coll: string) => (await client.db(db).collection(coll).listIndexes().toArray()).map((spec) => String(spec.name)).sort();

  test('a unique index over a fuzzy base: B takes A\'s email and gives it back before A takes it', async () => {
    // Source: A{e:'a1'}, B{e:'b1'} at T0; then B.e = 'a2', B.e = 'b2', A.e = 'a2' (always unique).
    // The dump read both after the last op: A{a2}, B{b2}. Replaying B.e = 'a2' over A{a2} is a
    // state the source never had; a unique index built before replay refuses it.
    const db = uniqueName('idx_fuzzy');
    const ns = `${db}.users`;
    const ui = new UUID();
    const result = await restoreDump(
      db,
      [{ coll: 'users', docs: [{ _id: 1, e: 'a2' }, { _id: 2, e: 'b2' }], indexes: [{ v: 2, key: { e: 1 }, name: 'e_1', unique: true }] }],
      [
        op({ op: 'u', ns, ui, o: { $v: 2, diff: { u: { e: 'a2' } } }, o2: { _id: 2 } }),
        // A command between the two updates of B: a barrier, so that replay applies the first
        // on its own instead of folding both into B's final state.
        op({ op: 'c', ns: `${db}.$cmd`, ui: new UUID(), o: { create: 'other', idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } } }),
        op({ op: 'u', ns, ui, o: { $v: 2, diff: { u: { e: 'b2' } } }, o2: { _id: 2 } }),
        op({ op: 'u', ns, ui, o: { $v: 2, diff: { u: { e: 'a2' } } }, o2: { _id: 1 } }),
      ],
    );
    assert.deepEqual(await documents(db, 'users'), [{ _id: 1, e: 'a2' }, { _id: 2, e: 'b2' }]);
    assert.deepEqual(await indexNames(db, 'users'), ['_id_', 'e_1']);
    const e1 = (await client.db(db).collection('users').listIndexes().toArray()).find((spec) => spec.name === 'e_1');
    assert.equal(e1?.unique, true);
    assert.equal(result.indexes, 1);
    await assert.rejects(client.db(db).collection<{ _id: number; e: string }>('users').insertOne({ _id: 3, e: 'a2' }), /duplicate key/i);
  });

  test('index commands of the oplog end as the source\'s indexes, `v` and all, like the base\'s', async () => {
    const db = uniqueName('idx_oplog');
    const cmd = `${db}.$cmd`;
    const ui = new UUID();
    const buildId = new UUID();
    await restoreDump(
      db,
      [{ coll: 'c', docs: [{ _id: 1, a: 1, b: 1, d: 1 }], indexes: [{ v: 2, key: { d: 1 }, name: 'd_1' }] }],
      [
        // create_index.bson / commit_indexes_build/oplog.bson / drop_index.bson shapes.
        op({ op: 'c', ns: cmd, ui, o: { createIndexes: 'c', v: 2, key: { a: 1 }, name: 'a_1' } }),
        op({ op: 'c', ns: cmd, ui, o: { startIndexBuild: 'c', indexBuildUUID: buildId, indexes: [{ v: 2, key: { b: 1 }, name: 'b_1' }] } }),
        op({ op: 'c', ns: cmd, ui, o: { commitIndexBuild: 'c', indexBuildUUID: buildId, indexes: [{ v: 2, key: { b: 1 }, name: 'b_1' }] } }),
        op({ op: 'i', ns: `${db}.c`, ui, o: { _id: 2, a: 2, b: 2, d: 2 } }),
        op({ op: 'c', ns: cmd, ui, o: { dropIndexes: 'c', index: 'd_1' }, o2: { v: 2, key: { d: 1 }, name: 'd_1' } }),
      ],
    );
    assert.deepEqual(await indexNames(db, 'c'), ['_id_', 'a_1', 'b_1']);
    assert.equal((await documents(db, 'c')).length, 2);
  });

  test('a collection written to and dropped before the catalog read is not in the base: its ops replay, its drop removes it', async () => {
    const db = uniqueName('idx_gone');
    const ui = new UUID();
    await restoreDump(
      db,
      [{ coll: 'kept', docs: [{ _id: 1 }] }],
      [
        op({ op: 'i', ns: `${db}.tmp`, ui, o: { _id: 1, n: 1 } }),
        op({ op: 'u', ns: `${db}.tmp`, ui, o: { $v: 2, diff: { u: { n: 2 } } }, o2: { _id: 1 } }),
        op({ op: 'd', ns: `${db}.tmp`, ui, o: { _id: 9 } }),
        op({ op: 'i', ns: `${db}.kept`, ui: new UUID(), o: { _id: 2 } }),
        op({ op: 'c', ns: `${db}.$cmd`, ui, o: { drop: 'tmp' }, o2: { numRecords: 1 } }),
      ],
    );
    const names = (await client.db(db).listCollections({}, { nameOnly: true }).toArray()).map((info) => info.name);
    assert.deepEqual(names, ['kept']);
    assert.deepEqual(await documents(db, 'kept'), [{ _id: 1 }, { _id: 2 }]);
  });
});

describe('restore: a capped collection past its cap', { skip: NO_MONGO || FOLDER?.skip }, () => {
  // FerretDB trims capped collections on a timer: its own server, started with a 1 s interval
  // (a small oplog asks for it). A real mongod evicts on insert.
  const server = useDedicatedMongo({ oplogBytes: 64 * 1024 * 1024 });
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test('keeps the newest documents of the dump\'s order', async () => {
    const client = server.client();
    const db = uniqueName('idx_capped');
    // _ids descending, so that an order by _id is not the dump's order; 3 insert batches.
    const docs = Array.from({ length: 3000 }, (_, n) => ({ _id: 10_000 - n, n, pad: 'x'.repeat(100) }));
    await restoreDumpTo(server.mongo().uri, dirs, db, [{ coll: 'log', docs, options: { capped: true, size: 1 << 24, max: 1000 } }], [op({ op: 'n', ns: '', o: { msg: 'periodic noop' } })]);
    const log = client.db(db).collection('log');
    await waitFor('the capped collection trimmed to its max', async () => (await log.estimatedDocumentCount()) <= 1000, 60_000);
    const kept = (await log.find({}, { sort: { $natural: 1 }, projection: { n: 1 } }).toArray()).map((doc) => Number(doc.n));
    // The survivors are the last ones of the dump, in its order (FerretDB trims by a percentage,
    // so it may keep fewer than max; mongod keeps exactly max).
    assert.ok(kept.length > 0 && kept.length <= 1000, `${kept.length} kept`);
    assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => 3000 - kept.length + i));
  });
});
