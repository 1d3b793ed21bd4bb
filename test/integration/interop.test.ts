// No lock-in, both ways. In: every mongodump folder among the mongo-tools fixtures imports as a
// base (plain, --gzip, and as an --archive built here to mongo-tools' common/archive/spec.md),
// byte for byte, and restores under a new database name with the documents, indexes and
// options its metadata describes. Every oplog fixture replays through replay(). Out: a chain
// backed up from FerretDB exports as a mongodump folder holding the base's documents exactly,
// its metadata, and an oplog.bson of exactly the entries before the cutoff; importing that
// folder again restores the same state, and `oplog` runs then extend the imported chain.
// (Name escaping and the CRC-64 alone: test/unit/interop/.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip, gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Binary, BSON, BSONRegExp, Double, Int32, Long, MongoClient, ObjectId, Timestamp, type Document } from 'mongodb';
import { readBsonFile, readBsonFrames } from '../../src/archive/bson-frames.ts';
import { decodeDocument } from '../../src/archive/bson-decode.ts';
import { parseMetadata, type CollectionMetadata } from '../../src/archive/collection-metadata.ts';
import type { Chain, OplogObject } from '../../src/archive/manifest.ts';
import { readOplogHeader } from '../../src/archive/oplog-header.ts';
import { readManifest } from '../../src/backup/commit.ts';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { IntegrityError, TargetError, UsageError } from '../../src/errors.ts';
import { exportDump } from '../../src/interop/export-dump.ts';
import { Crc64 } from '../../src/interop/crc64.ts';
import { escapeDumpName } from '../../src/interop/dump-folder.ts';
import { importDump } from '../../src/interop/import-dump.ts';
import { ARCHIVE_MAGIC } from '../../src/interop/mongodump-archive.ts';
import { isInternalNs } from '../../src/namespace.ts';
import { compileNamespaceMapper } from '../../src/restore/namespace-mapper.ts';
import { replay } from '../../src/restore/replay.ts';
import { restore } from '../../src/restore/restore.ts';
import { connectSource } from '../../src/source/connect-source.ts';
import type { Store } from '../../src/store/store.ts';
import { openTarget } from '../../src/target/open-target.ts';
import { compareTs, formatTs, tsFromBson, type Ts } from '../../src/timestamp.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { runCli } from '../support/cli.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, SHARED_DIR, isFerretDB, testMongoKind, testMongoUri, uniqueName } from '../support/test-env.ts';

const FIXTURES = join(SHARED_DIR, 'fixtures', 'mongo-tools');
const FOLDER = STORE_KINDS[0];
const SKIP_NO_FIXTURES = (await stat(FIXTURES).catch(() => undefined)) ? false : `no fixtures at ${FIXTURES}`;

// ---- the fixtures, read independently of the code under test ------------------------------

interface FixtureCollection {
  readonly db: string;
  readonly coll: string;
  readonly bson: Buffer;
  readonly documents: number;
  readonly metadata: CollectionMetadata;
  /** The metadata.json text, as mongodump also embeds it in an archive's prelude. */
  readonly metadataText: string;
}

interface FixtureDump {
  readonly name: string;
  readonly dir: string;
  readonly collections: FixtureCollection[];
  readonly oplog: Buffer[];
}

async function frames(file: string): Promise<Buffer[]> {
  const list: Buffer[] = [];
  for await (const frame of readBsonFile(file)) list.push(frame);
  return list;
}

/** A mongodump folder: its sub-folders are databases; `<coll>.bson` + `<coll>.metadata.json`. */
async function readFixtureDump(name: string): Promise<FixtureDump> {
  const dir = join(FIXTURES, name);
  const collections: FixtureCollection[] = [];
  for (const db of (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory())) {
    for (const file of (await readdir(join(dir, db.name))).filter((file) => file.endsWith('.bson')).sort()) {
      const stem = file.slice(0, -'.bson'.length);
      const bson = await readFile(join(dir, db.name, file));
      const metadataText = await readFile(join(dir, db.name, `${stem}.metadata.json`), 'utf8');
      const metadata = parseMetadata(metadataText, stem);
      collections.push({ db: db.name, coll: stem, bson, documents: (await frames(join(dir, db.name, file))).length, metadata, metadataText });
    }
  }
  return { name, dir, collections, oplog: await frames(join(dir, 'oplog.bson')) };
}

/** The fixture folders that hold collections (`<db>/<coll>.bson`), at any depth. */
async function dumpFixtureNames(): Promise<string[]> {
  const names = new Set<string>();
  for (const file of await readdir(FIXTURES, { recursive: true })) {
    const parts = file.split('/');
    if (parts[0] !== 'oplogs' && parts.length >= 3 && file.endsWith('.bson') && parts.at(-1) !== 'oplog.bson') names.add(parts.slice(0, -2).join('/'));
  }
  return [...names].sort();
}

/** Time-series dumps: their import and restore are the time-series work's tests, not this file's. */
const TIMESERIES_DUMPS = ['timeseries/ts_dump', 'timeseries/ts_dump_with_oplog'];

/** Every raw oplog file: each fixture folder's oplog.bson and oplogs/bson/*.bson. */
async function oplogFixtureFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const file of await readdir(FIXTURES, { recursive: true })) {
    if (file.endsWith('/oplog.bson') || /^oplogs\/bson\/[^/]+\.bson$/.test(file)) files.push(file);
  }
  return files.sort();
}

const tsOf = (raw: Buffer): Ts => readOplogHeader(raw).ts;

async function storedBytes(store: Store, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await store.get(key)).pipe(createGunzip())) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function storedFrames(store: Store, object: OplogObject): Promise<Buffer[]> {
  const list: Buffer[] = [];
  for await (const frame of readBsonFrames((await store.get(object.key)).pipe(createGunzip()))) list.push(frame);
  return list;
}

// ---- what the dumps restore to --------------------------------------------------------------

interface RestoredCollection {
  /** mongo-tools' own tests of these dumps (mongorestore oplog tests) say 10, 1 and 10. */
  readonly docs: number;
  /** Every index, name, key and the INDEX_OPTIONS it has: the dump's metadata.json, read by hand. */
  readonly indexes: readonly ReadBackIndex[];
}

interface DumpExpectation {
  /** What each user collection holds after restore (admin.system.version is not restored). */
  readonly restored: Readonly<Record<string, RestoredCollection>>;
  /** Oplog entries replay applies (an applyOps counts its inner ops). */
  readonly applied: number;
  /** What FerretDB lacks to build what the dump describes: skipped there, run on a real mongod. */
  readonly ferretdbLacks?: string;
}

interface ReadBackIndex {
  readonly name: string;
  readonly key: Document;
  readonly [option: string]: unknown;
}

const DUMPS: Readonly<Record<string, DumpExpectation>> = {
  // coll1.metadata.json: a_1 with expireAfterSeconds 1000; the oplog's collMod sets the same TTL.
  collMod_ttl_index: {
    restored: {
      'mongodump_test_db.coll1': { docs: 10, indexes: [{ name: '_id_', key: { _id: 1 } }, { name: 'a_1', key: { a: 1 }, expireAfterSeconds: 1000 }] },
    },
    applied: 2,
    ferretdbLacks: 'TTL indexes (expireAfterSeconds) and collMod',
  },
  // The dump holds two documents with a: 1 under a unique index; the oplog deletes one.
  duplicate_index_key_with_oplog: {
    restored: { 'test.foo': { docs: 1, indexes: [{ name: '_id_', key: { _id: 1 } }, { name: 'a_1', key: { a: 1 }, unique: true }] } },
    applied: 2,
  },
  // Its oplog: an insert, an applyOps of 3 inserts, an insert. The 3.6 metadata's `ns` is not an option.
  oplogdump: { restored: { 'db1.c1': { docs: 10, indexes: [{ name: '_id_', key: { _id: 1 } }] } }, applied: 5 },
};

/** Index spec fields compared with what the target reports (v and ns are bookkeeping). */
const INDEX_OPTIONS = ['unique', 'sparse', 'expireAfterSeconds', 'partialFilterExpression', 'hidden', 'collation'];

function numbers(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const bsontype = (value as { _bsontype?: string })._bsontype;
  if (bsontype === 'Int32' || bsontype === 'Double' || bsontype === 'Long') return Number(value);
  if (Array.isArray(value)) return value.map(numbers);
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, numbers(inner)]));
}

/** Every index of a collection in ReadBackIndex's shape, _id_ first then by name. */
async function indexesOf(client: MongoClient, db: string, coll: string): Promise<ReadBackIndex[]> {
  return (await client.db(db).collection(coll).listIndexes().toArray())
    .map((index): ReadBackIndex => {
      const options = Object.fromEntries(INDEX_OPTIONS.filter((option) => index[option] !== undefined && index[option] !== false)
        .map((option) => [option, numbers(index[option])]));
      return { name: String(index.name), key: numbers(index.key) as Document, ...options };
    })
    .sort((a, b) => (a.name === '_id_' ? -1 : b.name === '_id_' ? 1 : a.name < b.name ? -1 : 1));
}

/** The restored collection holds the documents and exactly the indexes written down for it, and no collection options. */
async function assertRestoredAsDescribed(client: MongoClient, target: string, expected: RestoredCollection): Promise<void> {
  const [db = '', ...rest] = target.split('.');
  const coll = rest.join('.');
  assert.equal(await client.db(db).collection(coll).countDocuments(), expected.docs, `${target}: documents`);
  assert.deepEqual(await indexesOf(client, db, coll), expected.indexes, `${target}: indexes`);
  const [info] = (await client.db(db).listCollections({ name: coll }, { nameOnly: false }).toArray()) as Document[];
  const { uuid: _uuid, ...options } = (info?.options ?? {}) as Document;
  assert.deepEqual(options, {}, `${target}: no collection options (none of the three dumps has any)`);
}

/** The chain import made from a fixture matches the fixture byte for byte. */
async function assertImported(store: Store, chain: Chain, fixture: FixtureDump): Promise<void> {
  const kept = fixture.collections.filter((collection) => !isInternalNs(`${collection.db}.${collection.coll}`));
  assert.deepEqual(chain.base.collections.map((entry) => `${entry.db}.${entry.coll}`), kept.map((c) => `${c.db}.${c.coll}`));
  for (const expected of kept) {
    const entry = chain.base.collections.find((candidate) => candidate.db === expected.db && candidate.coll === expected.coll);
    assert.ok(entry?.data, `${expected.db}.${expected.coll} stored`);
    assert.equal(entry.docs, expected.documents);
    assert.ok((await storedBytes(store, entry.data.key)).equals(expected.bson), 'documents stored byte for byte');
    // The stored metadata.json is the fixture's, read as extended JSON on both sides (not through
    // the product's parser, which would hide a field both lose); options ({}), collectionName and type (which
    // mongodump 4.4+ writes) are added when absent.
    const stored = BSON.EJSON.parse((await storedBytes(store, entry.metadata.key)).toString('utf8'), { relaxed: false }) as Document;
    const original = BSON.EJSON.parse(expected.metadataText, { relaxed: false }) as Document;
    assert.deepEqual(stored, { options: {}, type: 'collection', ...original, collectionName: expected.coll });
  }
  const oplog = chain.base.oplog;
  assert.equal(oplog.count, fixture.oplog.length);
  assert.deepEqual(oplog.firstTs, tsOf(fixture.oplog[0] ?? Buffer.alloc(0)));
  assert.deepEqual(oplog.lastTs, tsOf(fixture.oplog.at(-1) ?? Buffer.alloc(0)));
  assert.deepEqual(chain.base.startTs, oplog.firstTs);
  assert.deepEqual(chain.base.endTs, oplog.lastTs);
  assert.ok(Buffer.concat(await storedFrames(store, oplog)).equals(Buffer.concat(fixture.oplog)), 'oplog stored byte for byte');
}

// ---- layouts made from a fixture folder -----------------------------------------------------

/** The folder `mongodump --gzip` would have written: every file gzip'ed, with a .gz suffix. */
async function gzipCopy(fixture: FixtureDump): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mongo-pitr-gzip-${fixture.name}-`));
  await writeFile(join(dir, 'oplog.bson.gz'), gzipSync(await readFile(join(fixture.dir, 'oplog.bson'))));
  for (const db of (await readdir(fixture.dir, { withFileTypes: true })).filter((entry) => entry.isDirectory())) {
    await mkdir(join(dir, db.name));
    for (const file of await readdir(join(fixture.dir, db.name))) {
      await writeFile(join(dir, db.name, `${file}.gz`), gzipSync(await readFile(join(fixture.dir, db.name, file))));
    }
  }
  return dir;
}

const TERMINATOR = Buffer.from([0xff, 0xff, 0xff, 0xff]);
const bson = (document: Document): Buffer => Buffer.from(BSON.serialize(document));

/**
 * An --archive of the fixture, written to mongo-tools common/archive/spec.md: magic, header,
 * one metadata document per collection, terminator; then namespace blocks of `perBlock`
 * documents taken round-robin (interleaved, as concurrent dumping writes them); each namespace
 * ends with an EOF block carrying the CRC-64 of its documents.
 */
function archiveOf(fixture: FixtureDump, options: { perBlock: number; oplogInPrelude: boolean }): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]?.writeUInt32LE(ARCHIVE_MAGIC, 0);
  parts.push(bson({ concurrent_collections: new Int32(2), version: '0.1', server_version: '7.0.0', tool_version: 'interop.test' }));
  const streams = fixture.collections.map((collection) => ({
    db: collection.db,
    coll: collection.coll,
    docs: [] as Buffer[],
    metadataText: collection.metadataText,
    bson: collection.bson,
  }));
  for (const stream of streams) {
    let offset = 0;
    while (offset < stream.bson.length) {
      const size = stream.bson.readInt32LE(offset);
      stream.docs.push(stream.bson.subarray(offset, offset + size));
      offset += size;
    }
    parts.push(bson({ db: stream.db, collection: stream.coll, metadata: stream.metadataText, size: new Int32(stream.bson.length), type: 'collection' }));
  }
  const oplog = { db: '', coll: 'oplog', docs: [...fixture.oplog] };
  if (options.oplogInPrelude) parts.push(bson({ db: '', collection: 'oplog', metadata: '', size: new Int32(0), type: '' }));
  parts.push(TERMINATOR);
  const all = [...streams, oplog].map((stream) => ({ ...stream, crc: new Crc64(), done: false }));
  while (all.some((stream) => !stream.done)) {
    for (const stream of all.filter((candidate) => !candidate.done)) {
      const block = stream.docs.splice(0, options.perBlock);
      if (block.length > 0) {
        parts.push(bson({ db: stream.db, collection: stream.coll, EOF: false, CRC: Long.ZERO }), ...block, TERMINATOR);
        for (const doc of block) stream.crc.update(doc);
      }
      if (stream.docs.length === 0) {
        const crc = Long.fromBigInt(BigInt.asIntN(64, stream.crc.value()));
        parts.push(bson({ db: stream.db, collection: stream.coll, EOF: true, CRC: crc }), TERMINATOR);
        stream.done = true;
      }
    }
  }
  return Buffer.concat(parts);
}

async function writeTemp(name: string, bytes: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-archive-'));
  await writeFile(join(dir, name), bytes);
  return join(dir, name);
}

/** Documents with any _id (the driver's default typing wants ObjectId). */
type AnyDoc = Document & { _id: number | string };

const identity = () => ({ setName: uniqueName('set'), replicaSetId: null });

// ---- import -------------------------------------------------------------------------------

for (const kind of STORE_KINDS) {
  describe(`import the mongodump fixtures into the ${kind.name} store`, { skip: SKIP_NO_FIXTURES || kind.skip }, () => {
    test('the fixture folders with collections are the three known ones and the two time-series dumps', async () => {
      assert.deepEqual(await dumpFixtureNames(), [...Object.keys(DUMPS), ...TIMESERIES_DUMPS].sort());
    });

    for (const name of Object.keys(DUMPS)) {
      test(`${name}: imports byte for byte, admin.system.version left out`, async () => {
        const fixture = await readFixtureDump(name);
        const { store } = await kind.open();
        try {
          const source = identity();
          const result = await importDump({ store, path: fixture.dir, source });
          assert.equal(result.format, 'directory');
          const internal = fixture.collections.map((c) => `${c.db}.${c.coll}`).filter((ns) => isInternalNs(ns));
          assert.deepEqual(result.skipped, internal);
          assert.deepEqual(internal, name === 'duplicate_index_key_with_oplog' ? [] : ['admin.system.version']);
          assert.deepEqual(result.warnings, []);
          await assertImported(store, result.chain, fixture);
          const { manifest } = await readManifest(store);
          assert.equal(manifest.chains.length, 1);
          assert.deepEqual(manifest.chains[0]?.source, source);
          assert.deepEqual(manifest.chains[0]?.chunks, []);
        } finally {
          await store.close();
        }
      });
    }
  });
}

describe('import layouts: --gzip folders, --archive files, dumps without oplog', { skip: SKIP_NO_FIXTURES || FOLDER?.skip }, () => {
  for (const name of Object.keys(DUMPS)) {
    test(`${name}: the --gzip folder imports to the same bytes as the plain one`, async () => {
      const fixture = await readFixtureDump(name);
      const dir = await gzipCopy(fixture);
      const { store } = await FOLDER.open();
      try {
        const { chain } = await importDump({ store, path: dir, source: identity() });
        await assertImported(store, chain, fixture);
      } finally {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      }
    });

    for (const variant of [
      { label: 'plain, 1 document per block, oplog in the prelude', perBlock: 1, oplogInPrelude: true, gzip: false },
      { label: 'gzip, 3 documents per block', perBlock: 3, oplogInPrelude: false, gzip: true },
    ]) {
      test(`${name}: an --archive (${variant.label}) imports to the same bytes`, async () => {
        const fixture = await readFixtureDump(name);
        const archive = archiveOf(fixture, variant);
        const file = await writeTemp('dump.archive', variant.gzip ? gzipSync(archive) : archive);
        const { store } = await FOLDER.open();
        try {
          const result = await importDump({ store, path: file, source: identity() });
          assert.equal(result.format, 'archive');
          assert.deepEqual(result.skipped, fixture.collections.map((c) => `${c.db}.${c.coll}`).filter((ns) => isInternalNs(ns)));
          await assertImported(store, result.chain, fixture);
        } finally {
          await store.close();
        }
      });
    }
  }

  test('a damaged archive is refused and nothing is committed: CRC mismatch, truncation, not an archive', async () => {
    const fixture = await readFixtureDump('oplogdump');
    const archive = archiveOf(fixture, { perBlock: 2, oplogInPrelude: false });
    const flipped = Buffer.from(archive);
    const [c1] = fixture.collections.filter((collection) => collection.db === 'db1');
    const at = flipped.indexOf(c1?.bson.subarray(0, 20) ?? Buffer.alloc(1));
    assert.ok(at > 0);
    flipped[at + 12] = (flipped[at + 12] ?? 0) ^ 0x01; // a byte of the first document's ObjectId
    const { store } = await FOLDER.open();
    try {
      await assert.rejects(importDump({ store, path: await writeTemp('a', flipped), source: identity() }), (error: unknown) =>
        error instanceof IntegrityError && /CRC mismatch for db1\.c1/.test(error.message));
      await assert.rejects(importDump({ store, path: await writeTemp('b', archive.subarray(0, archive.length - 30)), source: identity() }), IntegrityError);
      await assert.rejects(importDump({ store, path: join(fixture.dir, 'oplog.bson'), source: identity() }), (error: unknown) =>
        error instanceof UsageError && /not a mongodump archive/.test(error.message));
      assert.equal((await readManifest(store)).manifest.chains.length, 0);
    } finally {
      await store.close();
    }
  });

  test('export checks every object\'s sha256 as it streams: a tampered one fails it and leaves no folder behind', async () => {
    const fixture = await readFixtureDump('oplogdump');
    const { store, url } = await FOLDER.open();
    const parent = await mkdtemp(join(tmpdir(), 'mongo-pitr-tampered-'));
    try {
      const { chain } = await importDump({ store, path: fixture.dir, source: identity() });
      const data = chain.base.collections[0]?.data;
      assert.ok(data);
      // Same size, other bytes: gzip'ed documents with one byte changed.
      const tampered = Buffer.from(fixture.collections.find((c) => c.db === 'db1')?.bson ?? Buffer.alloc(0));
      tampered[tampered.length - 2] = (tampered[tampered.length - 2] ?? 0) ^ 0x01;
      await writeFile(join(url, ...data.key.split('/')), gzipSync(tampered));
      await assert.rejects(exportDump({ store, dir: join(parent, 'dump') }), (error: unknown) =>
        error instanceof IntegrityError && error.message.includes(data.key));
      assert.deepEqual(await readdir(parent), [], 'neither the folder nor its work folder is left');
    } finally {
      await store.close();
      await rm(parent, { recursive: true, force: true });
    }
  });

  test('without an oplog: the window comes from startTs/endTs, which are refused when the dump has one', async () => {
    const fixture = await readFixtureDump('duplicate_index_key_with_oplog');
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-nooplog-'));
    await mkdir(join(dir, 'test'));
    for (const file of ['foo.bson', 'foo.metadata.json']) await writeFile(join(dir, 'test', file), await readFile(join(fixture.dir, 'test', file)));
    const { store } = await FOLDER.open();
    try {
      await assert.rejects(importDump({ store, path: dir, source: identity() }), (error: unknown) => error instanceof UsageError && /no oplog/.test(error.message));
      const window = { startTs: { t: 1614088890, i: 1 }, endTs: { t: 1614088899, i: 3 } };
      await assert.rejects(importDump({ store, path: fixture.dir, source: identity(), ...window }), UsageError);
      const { chain } = await importDump({ store, path: dir, source: identity(), ...window });
      assert.deepEqual([chain.base.startTs, chain.base.endTs], [window.startTs, window.endTs]);
      assert.deepEqual([chain.base.oplog.firstTs, chain.base.oplog.lastTs, chain.base.oplog.count], [window.startTs, window.endTs, 0]);
      assert.equal(chain.base.collections[0]?.docs, 2);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('imported dumps restore like any base', { skip: NO_MONGO || SKIP_NO_FIXTURES }, () => {
  let client: MongoClient;
  before(async () => {
    client = new MongoClient(testMongoUri() ?? '');
    await client.connect();
  });
  after(async () => client?.close());

  for (const [name, expected] of Object.entries(DUMPS)) {
    const lacks = isFerretDB() ? expected.ferretdbLacks : undefined;
    const skip = lacks ? `FerretDB lacks ${lacks}: the import is asserted byte for byte above; the restore runs against a real mongod (TEST_MONGODB_KIND=mongod)` : false;
    test(`${name}: restores under a new database name with its documents, indexes and options`, { skip }, async () => {
      const fixture = await readFixtureDump(name);
      const { store } = await FOLDER.open();
      const prefix = uniqueName('imp');
      try {
        await importDump({ store, path: fixture.dir, source: identity() });
        const result = await restore({ store, targetUri: testMongoUri() ?? '', namespaces: { from: ['*.*'], to: [`${prefix}_*.*`] } });
        assert.equal(result.receipt?.applied, expected.applied);
        for (const [ns, collection] of Object.entries(expected.restored)) await assertRestoredAsDescribed(client, `${prefix}_${ns}`, collection);
        const restoredDbs = (await client.db('admin').command({ listDatabases: 1, nameOnly: true })).databases as { name: string }[];
        assert.deepEqual(restoredDbs.filter((db) => db.name.startsWith(`${prefix}_`)).map((db) => db.name).sort(),
          Object.keys(expected.restored).map((ns) => `${prefix}_${ns.split('.')[0]}`).sort(), 'only the user databases: admin.system.version is not restored');
      } finally {
        await store.close();
      }
    });
  }

  test('oplogdump from its --gzip folder restores the same 10 documents', async () => {
    const fixture = await readFixtureDump('oplogdump');
    const dir = await gzipCopy(fixture);
    const { store } = await FOLDER.open();
    const prefix = uniqueName('gz');
    try {
      await importDump({ store, path: dir, source: identity() });
      await restore({ store, targetUri: testMongoUri() ?? '', namespaces: { from: ['*.*'], to: [`${prefix}_*.*`] } });
      await assertRestoredAsDescribed(client, `${prefix}_db1.c1`, { docs: 10, indexes: [{ name: '_id_', key: { _id: 1 } }] });
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---- replay of every oplog fixture --------------------------------------------------------
// What replay sends for each file (commands with their BSON types, folded writes) is asserted
// without a server in test/unit/fixtures/fixture-plans.test.ts. Here each file runs through
// replay() onto a server, and what it left is read back: documents, index names, keys and
// options, collection options. A file whose commands FerretDB does not implement is skipped there
// (with what it lacks); it runs, and is read back, against a real mongod.

interface ReadBack {
  /** Documents by _id order, compared as relaxed EJSON (numbers as numbers: FerretDB and mongod agree on those). */
  readonly docs: readonly Document[];
  /** Every index of the collection, name, key and the INDEX_OPTIONS it has. */
  readonly indexes: readonly ReadBackIndex[];
  /** Collection options compared (listCollections), when the fixture sets any. */
  readonly options?: Document;
}

interface ReplayExpectation {
  /** Entries applied and skipped (by reason), counted from the file's entries. */
  readonly applied: number;
  readonly skipped: Readonly<Record<string, number>>;
  /** What FerretDB lacks to apply the file: skipped on FerretDB, run on a real mongod. */
  readonly ferretdbLacks?: string;
  /** Collections (source names) read back from the target under the new database name; no other is created. */
  readonly state: Readonly<Record<string, ReadBack>>;
}

const START_INDEX_BUILD = 'command: startIndexBuild: the commitIndexBuild entry carries the indexes';
const LACKS_COLLMOD = '`collMod` (not implemented in FerretDB 1.24)';
// Portable targets get index specs without `v` (target/index-spec.ts), so plain index fixtures
// replay on FerretDB; what it still lacks are these index options.
const LACKS_PARTIAL_INDEX = 'partial indexes (FerretDB 1.24: Index option "partialFilterExpression" is not implemented)';
const LACKS_HIDDEN_INDEX = 'hidden indexes (FerretDB 1.24: Index option "hidden" is not implemented)';
const ID_ONLY: readonly ReadBackIndex[] = [{ name: '_id_', key: { _id: 1 } }];
const oidDoc = (hex: string, rest: Document): Document => ({ _id: { $oid: hex }, ...rest });

const REPLAYS: Readonly<Record<string, ReplayExpectation>> = {
  // A retryable insert, then collMod of the a_1 index (absent here: IndexNotFound is "already so").
  'collMod_ttl_index/oplog.bson': {
    applied: 2, skipped: {}, ferretdbLacks: LACKS_COLLMOD,
    state: { 'mongodump_test_db.coll1': { docs: [oidDoc('699c68438c811fd9356c0f7c', { a: 9 })], indexes: ID_ONLY } },
  },
  // create, insert, two commitIndexBuild; 11 no-ops and 2 startIndexBuild skipped.
  'commit_indexes_build/oplog.bson': {
    applied: 4, skipped: { noop: 11, [START_INDEX_BUILD]: 2 }, ferretdbLacks: LACKS_PARTIAL_INDEX,
    state: {
      'commit_index.test': {
        docs: [oidDoc('5ea8b2fca5fd2094399b496a', { a: 1 })],
        indexes: [...ID_ONLY, { name: 'a_1', key: { a: 1 } }, { name: 'b_1', key: { b: 1 }, partialFilterExpression: { a: 1 } }],
      },
    },
  },
  // create and two createIndexes; 13 no-ops.
  'create_indexes/oplog.bson': {
    applied: 3, skipped: { noop: 13 }, ferretdbLacks: LACKS_PARTIAL_INDEX,
    state: {
      'create_indexes.test': {
        docs: [],
        indexes: [...ID_ONLY, { name: 'a_1', key: { a: 1 } }, { name: 'b_1', key: { b: 1 }, partialFilterExpression: { a: 1 } }],
      },
    },
  },
  'dump_with_noop_in_oplog/oplog.bson': {
    applied: 2, skipped: { noop: 2 },
    state: { 'test.data': { docs: [oidDoc('5473b75c8e32da600b686ed7', { a: 1 })], indexes: ID_ONLY } },
  },
  // The delete finds nothing on an empty target; the insert lands.
  'duplicate_index_key_with_oplog/oplog.bson': {
    applied: 2, skipped: {},
    state: { 'test.foo': { docs: [oidDoc('60350ac1415a2fc63f3195ab', { a: 1 })], indexes: ID_ONLY } },
  },
  // config.* is the server's: 13 CRUD entries and 2 creates skipped, even under --nsFrom/--nsTo.
  'oplog_partial_skips/oplog.bson': {
    applied: 6, skipped: { 'internal namespace': 15 },
    state: {
      'db3.c1': {
        docs: ['5e596a742c980617877124e9', '5e596a792c980617877124ea', '5e596a882c980617877124eb', '5e596abb8fb0dfa67688a114', '5e596abc8fb0dfa67688a115']
          .map((hex) => oidDoc(hex, { a: 17, b: 32 })),
        indexes: ID_ONLY,
      },
    },
  },
  // An insert, an applyOps of 3 inserts (not a transaction: expanded), an insert.
  'oplogdump/oplog.bson': {
    applied: 5, skipped: {},
    state: {
      'db1.c1': {
        docs: [['5a1101e6a8feb0cc944981c0', 1456], ['5a1101e6a8feb0cc944981c5', 1457], ['5a1101e6a8feb0cc944981c9', 1458],
          ['5a1101e6a8feb0cc944981ca', 1459], ['5a1101e6a8feb0cc944981cf', 1460]].map(([hex, x]) => oidDoc(String(hex), { x })),
        indexes: ID_ONLY,
      },
    },
  },
  // create with a validator, 3 inserts, 2 of which the validator rejects (restore bypasses validation).
  'oplogs/bson/bypassDocumentValidation.bson': {
    applied: 4, skipped: { noop: 2 }, ferretdbLacks: 'validators (create with `validator` is not implemented in FerretDB 1.24)',
    state: {
      'mongodump_test_db.coll1': {
        docs: [['69971dae4522979744225826', 'valid'], ['69971dae4522979744225827', 'invalid'], ['69971dae4522979744225828', 'also_invalid']]
          .map(([hex, testField]) => oidDoc(String(hex), { testField })),
        indexes: ID_ONLY,
        options: { validator: { $jsonSchema: { bsonType: 'object', title: 'Test validator', properties: { testField: { enum: ['valid'] } } } } },
      },
    },
  },
  // collMod of a collection the target does not have: NamespaceNotFound is "already so"; nothing is created.
  'oplogs/bson/collMod.bson': { applied: 1, skipped: {}, ferretdbLacks: LACKS_COLLMOD, state: {} },
  // create, 4 createIndexes (hidden, TTL), 20 collMod toggling prepareUnique/unique/forceNonUnique:
  // each index ends non-unique (forceNonUnique last).
  'oplogs/bson/collMod_indexUniqueness.bson': {
    applied: 25, skipped: {}, ferretdbLacks: LACKS_HIDDEN_INDEX,
    state: {
      'mongodump_test_db.coll1': {
        docs: [],
        indexes: [
          ...ID_ONLY,
          { name: 'a_1', key: { a: 1 } },
          { name: 'b_1', key: { b: 1 }, hidden: true },
          { name: 'c_1', key: { c: 1 }, expireAfterSeconds: 100000 },
          { name: 'd_1', key: { d: 1 }, expireAfterSeconds: 100000, hidden: true },
        ],
      },
    },
  },
  'oplogs/bson/collMod_with_hidden.bson': { applied: 2, skipped: {}, ferretdbLacks: LACKS_COLLMOD, state: {} },
  // createIndexes creates the collection it names.
  'oplogs/bson/commit_index.bson': {
    applied: 1, skipped: { [START_INDEX_BUILD]: 1 },
    state: { 'test.foo': { docs: [], indexes: [...ID_ONLY, { name: 'a_1', key: { a: 1 } }] } },
  },
  'oplogs/bson/create_index.bson': {
    applied: 1, skipped: {},
    state: { 'test.foo': { docs: [], indexes: [...ID_ONLY, { name: 'f_1', key: { f: 1 } }] } },
  },
  // Dropping a collection the target does not have is "already so".
  'oplogs/bson/drop_collection.bson': { applied: 1, skipped: {}, state: {} },
  // Under renaming rules a dropDatabase drops the collections it knows of in that database: none.
  'oplogs/bson/drop_db.bson': { applied: 0, skipped: { 'excluded by --nsInclude/--nsExclude': 1 }, state: {} },
  'oplogs/bson/drop_index.bson': { applied: 1, skipped: {}, state: {} },
  // Retryable vectored inserts: applyOps entries applied op by op (5 across 2 linked entries; 2).
  'oplogs/bson/linked_vectored_inserts.bson': {
    applied: 5, skipped: {},
    state: { 'mongodump_test_db.coll1': { docs: [3, 4, 5, 6, 7].map((n) => ({ _id: n * 100, a: n })), indexes: ID_ONLY } },
  },
  'oplogs/bson/vectored_insert.bson': {
    applied: 2, skipped: {},
    state: { 'mongodump_test_db.coll1': { docs: [1, 2].map((n) => ({ _id: n * 100, a: n })), indexes: ID_ONLY } },
  },
};

/** What a collection holds, in ReadBack's shape. */
async function readBack(client: MongoClient, db: string, coll: string, withOptions: boolean): Promise<ReadBack> {
  const collection = client.db(db).collection(coll);
  const docs = (await collection.find({}, { sort: { _id: 1 } }).toArray()).map((doc) => BSON.EJSON.serialize(doc, { relaxed: true }));
  const indexes = await indexesOf(client, db, coll);
  if (!withOptions) return { docs, indexes };
  const [info] = (await client.db(db).listCollections({ name: coll }, { nameOnly: false }).toArray()) as Document[];
  const { uuid: _uuid, ...options } = (info?.options ?? {}) as Document;
  return { docs, indexes, options: BSON.EJSON.serialize(options, { relaxed: true }) };
}

describe('every oplog fixture replays through replay() onto its own database', { skip: NO_MONGO || SKIP_NO_FIXTURES }, () => {
  test('the expectations cover every oplog fixture file (the time-series one: fixture-plans.test.ts, it needs its dump)', async () => {
    assert.deepEqual(await oplogFixtureFiles(), [...Object.keys(REPLAYS), 'timeseries/ts_dump_with_oplog/oplog.bson'].sort());
  });

  let client: MongoClient;
  before(async () => {
    client = new MongoClient(testMongoUri() ?? '');
    await client.connect();
  });
  after(async () => client?.close());

  for (const [file, expected] of Object.entries(REPLAYS)) {
    const lacks = isFerretDB() ? expected.ferretdbLacks : undefined;
    const skip = lacks ? `FerretDB lacks ${lacks}: what replay sends is asserted in test/unit/fixtures/fixture-plans.test.ts; this runs against a real mongod (TEST_MONGODB_KIND=mongod)` : false;
    test(`${file}: ${expected.applied} applied, skipped ${JSON.stringify(expected.skipped)}, then read back`, { skip }, async () => {
      const target = await openTarget(testMongoUri() ?? '');
      const prefix = uniqueName('rp');
      try {
        const receipt = await replay({
          applier: target.applier,
          files: [join(FIXTURES, file)],
          namespaces: compileNamespaceMapper({ from: ['*.*'], to: [`${prefix}_*.*`] }),
        });
        assert.equal(receipt.applied, expected.applied);
        assert.deepEqual(receipt.skipped, expected.skipped);
        assert.equal(receipt.pendingTransactions, 0);
        for (const ns of Object.keys(receipt.appliedByNs)) assert.ok(ns.startsWith(`${prefix}_`), `${ns} is under the new database name`);
        const created: string[] = [];
        const { databases } = await client.db('admin').command({ listDatabases: 1, nameOnly: true }) as { databases: { name: string }[] };
        for (const { name } of databases.filter((db) => db.name.startsWith(`${prefix}_`))) {
          for (const { name: coll } of await client.db(name).listCollections({}, { nameOnly: true }).toArray()) {
            created.push(`${name.slice(prefix.length + 1)}.${coll}`);
          }
        }
        assert.deepEqual(created.sort(), Object.keys(expected.state).sort(), 'collections created, under the new database name');
        for (const [ns, state] of Object.entries(expected.state)) {
          const [db, ...rest] = ns.split('.');
          assert.deepEqual(await readBack(client, `${prefix}_${db}`, rest.join('.'), state.options !== undefined), state, ns);
        }
      } finally {
        await target.client.close();
      }
    });
  }
});

// ---- export -------------------------------------------------------------------------------

describe('export: a chain backed up from FerretDB as a mongodump folder', { skip: NO_MONGO || FOLDER?.skip }, () => {
  const suite = useBackupSuite();
  const db = uniqueName('exp');
  const weird = 'we/ird %name';

  /** Every collection's documents, decoded with exact types, by _id. */
  async function snapshot(database: string): Promise<Record<string, Document[]>> {
    const result: Record<string, Document[]> = {};
    for (const coll of ['c1', 'c2', weird]) {
      const docs = await suite.client.db(database).collection<AnyDoc>(coll).find({}, { promoteValues: false, bsonRegExp: true }).toArray();
      result[coll] = sortById(docs);
    }
    return result;
  }

  function sortById(docs: Document[]): Document[] {
    const key = (doc: Document) => JSON.stringify(BSON.EJSON.serialize(doc._id, { relaxed: false }));
    return [...docs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  const typed = (n: number): AnyDoc => ({
    _id: n,
    i32: new Int32(n),
    i64: Long.fromNumber(n * 1_000_000_007),
    dbl: new Double(n + 0.5),
    whole: new Double(2),
    text: `document ${n}`,
    when: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    oid: ObjectId.createFromHexString(n.toString(16).padStart(24, '0')),
    bin: new Binary(Buffer.from([n, 1, 2])),
    re: new BSONRegExp(`^d${n}`, 'i'),
    ts: new Timestamp({ t: n, i: 1 }),
    nested: { list: [new Int32(1), 'two', { three: new Double(3) }], none: null, yes: true },
  });

  test('documents, metadata and oplog.bson before the cutoff; importing it restores the same state, and oplog runs extend the imported chain', async () => {
    const { mongo, client, source } = suite;
    const { store } = await FOLDER.open();
    const second = await FOLDER.open();
    const out = join(await mkdtemp(join(tmpdir(), 'mongo-pitr-export-')), 'dump');
    try {
      const database = client.db(db);
      await database.collection<AnyDoc>('c1').insertMany([1, 2, 3, 4, 5].map(typed));
      await database.collection<AnyDoc>('c1').createIndex({ text: 1 }, { name: 'text_1', unique: true });
      await database.collection<AnyDoc>('c2').insertMany([{ _id: 'a', v: new Int32(1) }, { _id: 'b', v: new Int32(2) }]);
      await database.collection<AnyDoc>('c2').createIndex({ v: 1, _id: -1 }, { name: 'v_1__id_-1' });
      await database.collection<AnyDoc>(weird).insertOne({ _id: 1, odd: true });
      const atBase = await snapshot(db);
      await backupBase({ source, store });

      // A, then B, archived together in one chunk; the cutoff falls between them, inside it.
      await database.collection<AnyDoc>('c1').insertMany([6, 7].map(typed));
      await database.collection<AnyDoc>('c1').updateOne({ _id: 2 }, { $set: { text: 'changed 2', i64: Long.fromNumber(-5) } });
      await database.collection<AnyDoc>('c1').deleteOne({ _id: 3 });
      await database.collection<AnyDoc>('c2').insertOne({ _id: 'c', v: new Int32(3) });
      const atCutoff = await snapshot(db);
      await database.collection<AnyDoc>('c1').insertOne(typed(8));
      await database.collection<AnyDoc>('c2').deleteOne({ _id: 'a' });
      await database.collection<AnyDoc>(weird).updateOne({ _id: 1 }, { $set: { odd: false } });
      await backupOplog({ source, store });
      // C: a chunk of its own, wholly after the cutoff.
      await database.collection<AnyDoc>('c2').insertOne({ _id: 'd', v: new Int32(4) });
      await backupOplog({ source, store });

      const { manifest } = await readManifest(store);
      const [chain] = manifest.chains;
      assert.ok(chain && chain.chunks.length === 2, 'a base and two chunks');
      const [firstChunk] = chain.chunks;
      assert.ok(firstChunk);
      const firstB = (await storedFrames(store, firstChunk)).find((raw) => {
        const entry = decodeDocument(raw);
        return entry.ns === `${db}.c1` && entry.op === 'i' && Number(entry.o._id) === 8;
      });
      assert.ok(firstB, 'the first op after the cutoff is in the first chunk');
      const cutoffTs = tsOf(firstB);
      assert.ok(compareTs(cutoffTs, firstChunk.firstTs) > 0, 'the cutoff falls inside the chunk');
      const result = await exportDump({ store, dir: out, cutoff: { ts: cutoffTs, input: formatTs(cutoffTs) } });
      assert.equal(result.chainId, chain.id);
      assert.equal(result.firstLeftOut, formatTs(cutoffTs));

      // Documents: exactly the base, with exact types; metadata: what the base recorded.
      for (const coll of ['c1', 'c2', weird]) {
        const file = join(out, db, `${escapeDumpName(coll)}.bson`);
        const docs: Document[] = [];
        for await (const raw of readBsonFile(file)) docs.push(decodeDocument(raw));
        assert.deepEqual(sortById(docs), atBase[coll], `${coll}: the base's documents`);
        const text = await readFile(join(out, db, `${escapeDumpName(coll)}.metadata.json`), 'utf8');
        const metadata = parseMetadata(text, coll);
        const entry = chain.base.collections.find((candidate) => candidate.db === db && candidate.coll === coll);
        assert.ok(entry);
        // The exported file is the stored one, as extended JSON (not as the product's parser reads both).
        assert.deepEqual(BSON.EJSON.parse(text, { relaxed: false }), BSON.EJSON.parse((await storedBytes(store, entry.metadata.key)).toString('utf8'), { relaxed: false }));
        const live = await database.collection<AnyDoc>(coll).listIndexes().toArray();
        assert.deepEqual(metadata.indexes.map((index) => [index.name, numbers(index.key)]).sort(), live.map((index) => [index.name, numbers(index.key)]).sort());
        assert.equal(metadata.collectionName, coll);
      }
      assert.deepEqual((await readdir(out)).sort(), [db, 'oplog.bson'].sort());

      // oplog.bson: the base's oplog and the first chunk whole, the last one up to the cutoff.
      const written = await frames(join(out, 'oplog.bson'));
      const archived = [...(await storedFrames(store, chain.base.oplog))];
      for (const chunk of chain.chunks) archived.push(...(await storedFrames(store, chunk)));
      const before = archived.filter((raw) => compareTs(tsOf(raw), cutoffTs) < 0);
      assert.ok(before.length < archived.length, 'the cutoff leaves entries out');
      assert.equal(written.length, before.length);
      assert.ok(written.every((raw, index) => raw.equals(before[index] ?? Buffer.alloc(0))), 'entries byte for byte, in order');
      assert.equal(result.oplogEntries, written.length);
      assert.equal(result.lastEntry, formatTs(tsOf(written.at(-1) ?? Buffer.alloc(0))));

      // Back in: the export, imported as the same source's chain, restores to the cutoff's state.
      const imported = await importDump({ store: second.store, path: out, source: source.identity });
      assert.deepEqual(imported.chain.base.endTs, tsOf(written.at(-1) ?? Buffer.alloc(0)));
      await restore({ store: second.store, targetUri: mongo.uri, namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${db}_rt.*`] } });
      assert.deepEqual(await snapshot(`${db}_rt`), atCutoff);

      // And `oplog` against the same set continues the imported chain from its end.
      const continued = await backupOplog({ source, store: second.store });
      assert.equal(continued.chainId, imported.chain.id);
      const extended = (await readManifest(second.store)).manifest.chains.find((candidate) => candidate.id === imported.chain.id);
      const ours = (extended?.chunks ?? []).flatMap((chunk) => Object.entries(chunk.stats.byNs))
        .filter(([ns]) => ns.startsWith(`${db}.`))
        .reduce((sum, [, ops]) => sum + Object.values(ops).reduce((a, b) => a + b, 0), 0);
      assert.equal(ours, 4, 'B and C: the source ops after the cutoff (the restores above wrote the others)');
      await restore({ store: second.store, targetUri: mongo.uri, namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${db}_rt2.*`] } });
      assert.deepEqual(await snapshot(`${db}_rt2`), await snapshot(db));

      await assert.rejects(exportDump({ store, dir: out }), (error: unknown) => error instanceof UsageError && /not an empty folder/.test(error.message));
    } finally {
      await store.close();
      await second.store.close();
      await rm(join(out, '..'), { recursive: true, force: true });
    }
  });

  const mongorestore = process.env.MONGORESTORE_BIN;
  const skipMongorestore = !mongorestore
    ? 'MONGORESTORE_BIN is not set: no mongorestore to restore the export with'
    : isFerretDB()
      ? 'mongorestore --oplogReplay applies the oplog with applyOps, which FerretDB lacks: needs a real mongod'
      : false;
  test('mongorestore --oplogReplay restores the export document by document', { skip: skipMongorestore }, async () => {
    const { mongo, client, source } = suite;
    const { store } = await FOLDER.open();
    const out = join(await mkdtemp(join(tmpdir(), 'mongo-pitr-mongorestore-')), 'dump');
    const mdb = uniqueName('mr');
    try {
      const database = client.db(mdb);
      await database.collection<AnyDoc>('c1').insertMany([1, 2, 3].map(typed));
      await database.collection<AnyDoc>('c1').createIndex({ text: 1 }, { name: 'text_1', unique: true });
      await backupBase({ source, store });
      await database.collection<AnyDoc>('c1').insertOne(typed(4));
      await database.collection<AnyDoc>('c1').updateOne({ _id: 1 }, { $set: { text: 'changed' } });
      await database.collection<AnyDoc>('c1').deleteOne({ _id: 2 });
      await backupOplog({ source, store });
      const expected = sortById(await database.collection<AnyDoc>('c1').find({}, { promoteValues: false, bsonRegExp: true }).toArray());
      await exportDump({ store, dir: out });
      await database.dropDatabase();
      await promisify(execFile)(mongorestore ?? '', [`--uri=${mongo.uri}`, '--oplogReplay', `--nsInclude=${mdb}.*`, out]);
      const restored = sortById(await database.collection<AnyDoc>('c1').find({}, { promoteValues: false, bsonRegExp: true }).toArray());
      assert.deepEqual(restored, expected);
      const names = (await database.collection<AnyDoc>('c1').listIndexes().toArray()).map((index) => index.name).sort();
      assert.deepEqual(names, ['_id_', 'text_1']);
    } finally {
      await store.close();
      await rm(join(out, '..'), { recursive: true, force: true });
    }
  });
});

// ---- the command line ---------------------------------------------------------------------

describe('CLI: import, export, replay', { skip: SKIP_NO_FIXTURES || FOLDER?.skip }, () => {
  function oneUsageLine(result: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', /^mongo-pitr: usage error: /);
    assert.match(lines[0] ?? '', pattern);
  }

  test('import of a missing folder, of a folder without .bson, or without --set-name: one usage line, exit 2', async () => {
    const { url, store } = await FOLDER.open();
    await store.close();
    const empty = await mkdtemp(join(tmpdir(), 'mongo-pitr-empty-'));
    await writeFile(join(empty, 'notes.txt'), 'not a dump');
    await mkdir(join(empty, 'db'));
    await writeFile(join(empty, 'db', 'readme.json'), '{}');
    try {
      oneUsageLine(await runCli(['--store', url, 'import', join(empty, 'missing'), '--set-name', 'rs0']), /does not exist/);
      oneUsageLine(await runCli(['--store', url, 'import', empty, '--set-name', 'rs0']), /holds no \.bson file/);
      oneUsageLine(await runCli(['--store', url, 'import', join(FIXTURES, 'oplogdump')]), /needs --set-name/);
      oneUsageLine(await runCli(['--store', url, 'import', join(FIXTURES, 'oplogdump'), '--set-name', 'rs0', '--start-ts', 'yesterday']), /--start-ts yesterday/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  test('import then export from the command line; the export\'s oplog.bson is the fixture\'s', async () => {
    const { url, store } = await FOLDER.open();
    await store.close();
    const out = join(await mkdtemp(join(tmpdir(), 'mongo-pitr-cli-export-')), 'dump');
    try {
      const imported = await runCli(['--store', url, '--json', 'import', join(FIXTURES, 'oplogdump'), '--set-name', 'rs-cli']);
      assert.equal(imported.code, 0, imported.stderr);
      const summary = JSON.parse(imported.stdout) as { chainId: string; documents: number; oplogEntries: number; skipped: string[] };
      assert.deepEqual([summary.documents, summary.oplogEntries, summary.skipped], [5, 3, ['admin.system.version']]);
      const exported = await runCli(['--store', url, 'export', out]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stdout, /5 documents in 1 collections, 3 oplog entries/);
      assert.ok((await readFile(join(out, 'oplog.bson'))).equals(await readFile(join(FIXTURES, 'oplogdump', 'oplog.bson'))));
      assert.ok((await readFile(join(out, 'db1', 'c1.bson'))).equals(await readFile(join(FIXTURES, 'oplogdump', 'db1', 'c1.bson'))));
      oneUsageLine(await runCli(['--store', url, 'export', out]), /not an empty folder/);
    } finally {
      await rm(join(out, '..'), { recursive: true, force: true });
    }
  });

  test('import --uri takes the chain\'s source identity from the replica set itself', { skip: NO_MONGO }, async () => {
    const { url, store } = await FOLDER.open();
    try {
      const result = await runCli(['--store', url, '--json', 'import', join(FIXTURES, 'duplicate_index_key_with_oplog'), '--uri', testMongoUri() ?? '']);
      assert.equal(result.code, 0, result.stderr);
      // Asked of the server here, not through connectSource: hello's setName, and
      // replSetGetConfig's settings.replicaSetId (an ObjectId; FerretDB has no such command).
      const client = new MongoClient(testMongoUri() ?? '', { directConnection: true });
      let expected: { setName: unknown; replicaSetId: string | null };
      try {
        const hello = await client.db('admin').command({ hello: 1 });
        const config = isFerretDB() ? undefined : await client.db('admin').command({ replSetGetConfig: 1 });
        expected = { setName: hello.setName, replicaSetId: config ? (config.config.settings.replicaSetId as ObjectId).toHexString() : null };
      } finally {
        await client.close();
      }
      if (testMongoKind() !== 'given') assert.equal(expected.setName, 'rs0', 'the set test/run.ts starts');
      assert.deepEqual((JSON.parse(result.stdout) as { source: unknown }).source, expected);
      assert.deepEqual((await readManifest(store)).manifest.chains[0]?.source, expected);
      oneUsageLine(await runCli(['--store', url, 'import', join(FIXTURES, 'oplogdump'), '--uri', testMongoUri() ?? '', '--set-name', 'x']), /not both/);
    } finally {
      await store.close();
    }
  });

  test('replay --oplogFile prints the receipt restore prints', { skip: NO_MONGO }, async () => {
    const prefix = uniqueName('cli');
    const file = join(FIXTURES, 'oplogdump', 'oplog.bson');
    const result = await runCli(['replay', '--to', testMongoUri() ?? '', '--oplogFile', file, '--nsFrom', '*.*', '--nsTo', `${prefix}_*.*`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^oplog: 5 entries applied \((portable|applyOps)\)$/m);
    assert.match(result.stdout, new RegExp(`^  ${prefix}_db1\\.c1: 5$`, 'm'));
    assert.match(result.stdout, /^last applied: 1511064038:32 i /m);
    const client = new MongoClient(testMongoUri() ?? '');
    try {
      assert.equal(await client.db(`${prefix}_db1`).collection('c1').countDocuments(), 5);
    } finally {
      await client.close();
    }
    oneUsageLine(await runCli(['replay', '--to', testMongoUri() ?? '', '--oplogFile', join(FIXTURES, 'missing.bson')]), /no such file/);
  });
});
