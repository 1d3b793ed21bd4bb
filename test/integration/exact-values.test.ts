// Exact values on a real target (FerretDB here, a mongod when MONGOMS_SYSTEM_BINARY or
// TEST_MONGODB_URI is given): what a restore writes is read back as RAW BSON and compared byte
// for byte with what the source held, so field order and every value's type count.
//   - a base document whose field names look like integers ({b: 1, "10": 2}) keeps its order;
//   - replayed inserts, replacements and $v:2 updates (a number changing type, an `i` of an
//     integer-like name) land as the server would have them;
//   - the 872 time-series bucket updates of ../shared/fixtures/mongo-tools/timeseries
//     replayed onto its raw buckets give, bucket by bucket, the bytes the pure fold computes
//     (FerretDB has no time-series collections: the buckets go into a plain collection).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { BSON, Double, Int32, Long, MongoClient, Timestamp } from 'mongodb';
import type { Document } from 'mongodb';
import { readBsonFile } from '../../src/archive/bson-frames.ts';
import { decodeOplogEntry } from '../../src/archive/bson-decode.ts';
import { serializeMetadata } from '../../src/archive/collection-metadata.ts';
import type { Base } from '../../src/archive/manifest.ts';
import type { OplogEntry } from '../../src/oplog-entry.ts';
import { decodeOrdered } from '../../src/ordered-document.ts';
import { loadBase } from '../../src/restore/load-base.ts';
import { compileNamespaceMapper } from '../../src/restore/namespace-mapper.ts';
import { emptyApplyStats } from '../../src/target/applier.ts';
import { foldDocument, planDocuments } from '../../src/target/fold-batch.ts';
import { idKey } from '../../src/target/id-key.ts';
import { PortableApplier } from '../../src/target/portable-applier.ts';
import { NO_MONGO, SHARED_DIR, isFerretDB, testMongoUri, uniqueName } from '../support/test-env.ts';
import type { OrderedDoc } from '../../src/ordered-document.ts';

type Fields = Array<[string, unknown]>;
const doc = (...fields: Fields): Document => new Map(fields) as unknown as Document;
const bson = (...fields: Fields): Buffer => Buffer.from(BSON.serialize(doc(...fields)));

let clock = 0;
/** An entry as replay gets it: serialized in field order, then decoded from its bytes. */
function entry(op: OplogEntry['op'], ns: string, o: Document, o2?: Document): OplogEntry {
  clock++;
  const fields: Fields = [['ts', new Timestamp({ t: 1_700_000_000, i: clock })], ['op', op], ['ns', ns], ['o', o]];
  if (o2 !== undefined) fields.push(['o2', o2]);
  return decodeOplogEntry(bson(...fields));
}

/**
 * FerretDB 1.x moves an `_id` field to the front of EVERY embedded document it stores (measured:
 * {data: {ts: 1, _id: 2}} reads back as {data: {_id: 2, ts: 1}}); a mongod keeps it in place.
 * On FerretDB the expectation is reordered the same way, and only there.
 */
function asTargetStores(value: unknown, embedded = false): unknown {
  if (Array.isArray(value)) return value.map((item) => asTargetStores(item, true));
  if (!(value instanceof Map)) return value;
  const fields = [...(value as OrderedDoc)].map(([name, field]): [string, unknown] => [name, asTargetStores(field, true)]);
  if (embedded && isFerretDB()) fields.sort((a, b) => Number(b[0] === '_id') - Number(a[0] === '_id'));
  return new Map(fields);
}

async function rawDocuments(client: MongoClient, db: string, coll: string): Promise<Buffer[]> {
  const docs = await client.db(db).collection(coll).find({}, { raw: true, sort: { _id: 1 } }).toArray();
  return (docs as unknown as Uint8Array[]).map((raw) => Buffer.from(raw));
}

describe('exact values on the target, read back as raw BSON', { skip: NO_MONGO }, () => {
  let client: MongoClient;
  let dir: string;
  before(async () => {
    client = new MongoClient(testMongoUri() ?? '');
    await client.connect();
    dir = await mkdtemp(join(tmpdir(), 'exact-values-'));
  });
  after(async () => {
    await client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a base document with integer-like field names is inserted as its original bytes', async () => {
    const db = uniqueName('ev');
    const original = [
      bson(['_id', new Int32(1)], ['b', new Int32(1)], ['10', new Int32(2)]),
      bson(['_id', new Int32(2)], ['z', 'x'], ['0', new Double(1)], ['n', doc(['7', Long.fromNumber(7)], ['a', new Int32(1)])]),
    ];
    const files = new Map([['m', join(dir, `${db}.metadata.json.gz`)], ['d', join(dir, `${db}.bson.gz`)]]);
    await writeFile(files.get('m') ?? '', gzipSync(serializeMetadata({ collectionName: 'c', type: 'collection', options: {}, indexes: [], uuid: null })));
    await writeFile(files.get('d') ?? '', gzipSync(Buffer.concat(original)));
    const object = (key: string) => ({ key, rawBytes: 0, storedBytes: 0, sha256: '' });
    const base = { collections: [{ db, coll: 'c', type: 'collection', docs: 2, data: object('d'), metadata: object('m') }] } as unknown as Base;
    await loadBase({ client, base, files, namespaces: compileNamespaceMapper({}), drop: false });
    const stored = await rawDocuments(client, db, 'c');
    assert.deepEqual(stored.map((raw) => raw.toString('hex')), original.map((raw) => raw.toString('hex')));
  });

  it('replayed inserts, replacements and $v:2 updates keep field order and the new number types', async () => {
    const db = uniqueName('ev');
    const ns = `${db}.c`;
    const applier = new PortableApplier(client);
    // Two batches: the first inserts, the second reads the stored documents back and updates them.
    await applier.applyCrud([
      entry('i', ns, doc(['_id', new Int32(1)], ['b', new Int32(1)], ['10', new Int32(2)])),
      entry('i', ns, doc(['_id', new Int32(2)], ['n', new Int32(3)], ['m', new Int32(3)], ['9', 'nine'])),
      entry('i', ns, doc(['_id', new Int32(3)], ['old', true])),
      entry('i', ns, doc(['_id', doc(['b', new Int32(1)], ['10', new Int32(2)])], ['v', new Int32(1)])),
    ]);
    await applier.applyCrud([
      entry('u', ns, doc(['$v', new Int32(2)], ['diff', doc(['u', doc(['n', Long.fromNumber(3)], ['m', new Double(3)])], ['i', doc(['z', new Int32(0)], ['3', new Int32(9)])])]), doc(['_id', new Int32(2)])),
      entry('u', ns, doc(['_id', new Int32(3)], ['k', 'v'], ['5', new Int32(5)]), doc(['_id', new Int32(3)])),
      // An embedded-document _id is matched field by field, in order: {b, "10"} must stay so.
      entry('u', ns, doc(['$v', new Int32(2)], ['diff', doc(['u', doc(['v', new Int32(2)])])]), doc(['_id', doc(['b', new Int32(1)], ['10', new Int32(2)])])),
    ]);
    const expected = [
      bson(['_id', new Int32(1)], ['b', new Int32(1)], ['10', new Int32(2)]),
      bson(['_id', new Int32(2)], ['n', Long.fromNumber(3)], ['m', new Double(3)], ['9', 'nine'], ['z', new Int32(0)], ['3', new Int32(9)]),
      bson(['_id', new Int32(3)], ['k', 'v'], ['5', new Int32(5)]),
      bson(['_id', doc(['b', new Int32(1)], ['10', new Int32(2)])], ['v', new Int32(2)]),
    ];
    const stored = await rawDocuments(client, db, 'c');
    assert.deepEqual(stored.map((raw) => raw.toString('hex')), expected.map((raw) => raw.toString('hex')));
  });

  it('time-series data path: the 872 bucket updates replayed onto the raw buckets give the bytes the fold computes', async () => {
    const fixture = join(SHARED_DIR, 'fixtures/mongo-tools/timeseries/ts_dump_with_oplog');
    const db = uniqueName('ev');
    const ns = `${db}.buckets`;
    const buckets = [];
    for await (const raw of readBsonFile(join(fixture, 'timeseries_test/system.buckets.foo_ts.bson'))) buckets.push(decodeOrdered(raw));
    await client.db(db).collection('buckets').insertMany(buckets as unknown as Document[], { forceServerObjectId: true });
    const entries: OplogEntry[] = [];
    for await (const raw of readBsonFile(join(fixture, 'oplog.bson'))) entries.push({ ...decodeOplogEntry(raw), ns });
    const applier = new PortableApplier(client);
    for (let start = 0; start < entries.length; start += 100) await applier.applyCrud(entries.slice(start, start + 100));
    assert.equal(applier.stats.updated, 872);
    assert.equal(applier.stats.missing, 0);
    // The same fold in memory: what the target must now hold.
    const expected = new Map(buckets.map((bucket) => [idKey(bucket.get('_id')), bucket]));
    const stats = emptyApplyStats();
    for (const [key, plan] of planDocuments(entries)) expected.set(key, foldDocument(expected.get(key) ?? null, plan.entries, stats) ?? new Map());
    const stored = await rawDocuments(client, db, 'buckets');
    assert.equal(stored.length, 10);
    for (const raw of stored) {
      const key = idKey(decodeOrdered(raw).get('_id'));
      const want = Buffer.from(BSON.serialize(asTargetStores(expected.get(key)) as Document));
      if (!raw.equals(want)) {
        assert.equal(BSON.EJSON.stringify(BSON.deserialize(raw, { promoteValues: false }), { relaxed: false }),
          BSON.EJSON.stringify(BSON.deserialize(want, { promoteValues: false }), { relaxed: false }), `bucket ${key} differs`);
        assert.equal(raw.toString('hex'), want.toString('hex'), `bucket ${key} differs in bytes only`);
      }
    }
    // And one bucket against the fixture by hand: 217 measurements after the replay.
    const handChecked = stored.map((raw) => BSON.deserialize(raw)).find((bucket) => String(bucket._id) === '60c7df2bf4549c58ea9377ec');
    assert.equal(Object.keys(handChecked?.data.ts ?? {}).length, 217);
  });
});
