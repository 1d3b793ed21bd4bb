// Importing mongodump's time-series layout (../shared/fixtures/mongo-tools/timeseries): the
// view's `<coll>.metadata.json` (type "timeseries", its options) and `system.buckets.<coll>.bson`
// (the raw buckets) become one base entry of type "timeseries" whose data is the buckets, byte
// for byte, stored where mongodump would write them (archive/timeseries-layout.ts). Before, the
// import refused time-series collections. Runs on a folder store: no server involved.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { writeFile } from 'node:fs/promises';
import { BSON, Int32, Long, type Document } from 'mongodb';
import { Crc64 } from '../../../src/interop/crc64.ts';
import { ARCHIVE_MAGIC } from '../../../src/interop/mongodump-archive.ts';
import { parseMetadata } from '../../../src/archive/collection-metadata.ts';
import { holdsBuckets } from '../../../src/archive/timeseries-layout.ts';
import { exportDump } from '../../../src/interop/export-dump.ts';
import { importDump } from '../../../src/interop/import-dump.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const FIXTURES = join(SHARED_DIR, 'fixtures/mongo-tools/timeseries');

describe('import: mongodump time-series layout', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'import-ts-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const name of ['ts_dump_with_oplog', 'ts_dump']) {
    it(`${name}: the buckets are kept, with the time-series options`, async () => {
      const store = new FolderStore(join(dir, name));
      try {
        const withOplog = name === 'ts_dump_with_oplog';
        const window = withOplog ? {} : { startTs: { t: 1, i: 1 }, endTs: { t: 1, i: 1 } };
        const result = await importDump({ store, path: join(FIXTURES, name), source: { setName: name, replicaSetId: null }, ...window });
        const collections = result.chain.base.collections;
        assert.deepEqual(collections.map((c) => `${c.db}.${c.coll}:${c.type}`), ['timeseries_test.foo_ts:timeseries']);
        const [entry] = collections;
        assert.ok(entry !== undefined && entry.data !== null);
        assert.equal(entry.docs, 10);
        assert.ok(holdsBuckets(entry), entry.data.key);
        const stored = gunzipSync(await buffer(await store.get(entry.data.key)));
        assert.ok(stored.equals(await readFile(join(FIXTURES, name, 'timeseries_test/system.buckets.foo_ts.bson'))));
        const metadata = parseMetadata(gunzipSync(await buffer(await store.get(entry.metadata.key))), 'foo_ts');
        assert.equal(metadata.type, 'timeseries');
        assert.equal((metadata.options.timeseries as { timeField?: string }).timeField, 'ts');
        assert.ok(result.skipped.includes('admin.system.version'));
      } finally {
        await store.close();
      }
    });
  }

  it('export writes it back in the same layout: system.buckets.<coll>.bson and a "timeseries" metadata', async () => {
    const store = new FolderStore(join(dir, 'roundtrip'));
    try {
      await importDump({ store, path: join(FIXTURES, 'ts_dump_with_oplog'), source: { setName: 'rt', replicaSetId: null } });
      const out = join(dir, 'exported');
      await exportDump({ store, dir: out });
      const buckets = await readFile(join(out, 'timeseries_test/system.buckets.foo_ts.bson'));
      assert.ok(buckets.equals(await readFile(join(FIXTURES, 'ts_dump_with_oplog/timeseries_test/system.buckets.foo_ts.bson'))));
      const metadata = parseMetadata(await readFile(join(out, 'timeseries_test/foo_ts.metadata.json')), 'foo_ts');
      assert.equal(metadata.type, 'timeseries');
    } finally {
      await store.close();
    }
  });

  // mongodump --archive (mongo-tools common/archive/spec.md): the prelude lists the time-series
  // collection (type "timeseries"); its data blocks come under system.buckets.<coll>, or under
  // <coll> itself for 8.3+ viewless time-series (mongo-tools intent.go DataCollection).
  for (const dataColl of ['system.buckets.foo_ts', 'foo_ts']) {
    it(`--archive with the buckets under ${dataColl}: the same base entry`, async () => {
      const buckets = await readFile(join(FIXTURES, 'ts_dump/timeseries_test/system.buckets.foo_ts.bson'));
      const metadataText = await readFile(join(FIXTURES, 'ts_dump/timeseries_test/foo_ts.metadata.json'), 'utf8');
      const file = join(dir, `archive-${dataColl}`);
      await writeFile(file, archive('timeseries_test', 'foo_ts', dataColl, metadataText, buckets));
      const store = new FolderStore(join(dir, `store-${dataColl}`));
      try {
        const result = await importDump({ store, path: file, source: { setName: dataColl, replicaSetId: null }, startTs: { t: 1, i: 1 }, endTs: { t: 1, i: 1 } });
        const [entry] = result.chain.base.collections;
        assert.equal(result.chain.base.collections.length, 1);
        assert.ok(entry !== undefined && entry.data !== null && holdsBuckets(entry));
        assert.equal(entry.docs, 10);
        assert.ok(gunzipSync(await buffer(await store.get(entry.data.key))).equals(buckets));
      } finally {
        await store.close();
      }
    });
  }
});

const TERMINATOR = Buffer.from([0xff, 0xff, 0xff, 0xff]);
const bson = (doc: Document): Buffer => Buffer.from(BSON.serialize(doc));

/** A one-collection archive: magic, header, prelude, terminator, one data block, its EOF block. */
function archive(db: string, coll: string, dataColl: string, metadata: string, data: Buffer): Buffer {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(ARCHIVE_MAGIC, 0);
  const docs: Buffer[] = [];
  for (let at = 0; at < data.length; at += data.readInt32LE(at)) docs.push(data.subarray(at, at + data.readInt32LE(at)));
  const crc = new Crc64();
  for (const doc of docs) crc.update(doc);
  return Buffer.concat([
    magic,
    bson({ concurrent_collections: new Int32(1), version: '0.1', server_version: '7.0.0', tool_version: 'test' }),
    bson({ db, collection: coll, metadata, size: new Int32(data.length), type: 'timeseries' }),
    TERMINATOR,
    bson({ db, collection: dataColl, EOF: false, CRC: Long.ZERO }), ...docs, TERMINATOR,
    bson({ db, collection: dataColl, EOF: true, CRC: Long.fromBigInt(BigInt.asIntN(64, crc.value())) }), TERMINATOR,
  ]);
}
