// An encrypted base names nothing, whatever it holds: a mongodump folder (the real time-series
// dump of ../shared/fixtures/mongo-tools/timeseries/ts_dump_with_oplog, with a collection and a
// view added under distinctive names) imported into an encrypted folder store leaves no name in
// any key or in the manifest, and exported again with the identity gives byte for byte the
// folder a plain import exports: names, view, time-series buckets and metadata as mongodump
// writes them. Without the identity the export stops in one line (KeyError). An encrypted base
// in the layout written before (named keys, named manifest entry) still exports.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { BSON } from 'mongodb';
import { ManifestCommitter, readManifest } from '../../../src/backup/commit.ts';
import { serializeMetadata } from '../../../src/archive/collection-metadata.ts';
import { addChain } from '../../../src/archive/manifest.ts';
import { baseId, baseOplogKey, collectionDataKey, collectionMetadataKey, newRunId } from '../../../src/archive/object-keys.ts';
import { storeGzipped } from '../../../src/backup/store-object.ts';
import { writeOplogObject } from '../../../src/backup/write-oplog-object.ts';
import { AgeCipher } from '../../../src/crypt/age-cipher.ts';
import { attachCipher } from '../../../src/crypt/store-cipher.ts';
import { KeyError } from '../../../src/errors.ts';
import { exportDump } from '../../../src/interop/export-dump.ts';
import { importDump } from '../../../src/interop/import-dump.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const FIXTURE = join(SHARED_DIR, 'fixtures', 'mongo-tools', 'timeseries', 'ts_dump_with_oplog');
const SECRETS = ['secretdb_8f3a', 'hiddencoll_c41e', 'hiddenview_d93b', 'secretvalue_b7c2', 'timeseries_test', 'foo_ts'];

async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(relative(dir, join(entry.parentPath, entry.name)), await readFile(join(entry.parentPath, entry.name)));
  }
  return files;
}

describe('an encrypted import names nothing and exports like a plain one', () => {
  let work: string;
  let dump: string;
  let recipient: string;
  let identity: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'mongo-pitr-opaque-'));
    dump = join(work, 'dump');
    await cp(FIXTURE, dump, { recursive: true });
    const db = join(dump, 'secretdb_8f3a');
    await mkdir(db);
    const docs = Array.from({ length: 5 }, (_, n) => BSON.serialize({ _id: n, note: `secretvalue_b7c2 ${n}` }));
    await writeFile(join(db, 'hiddencoll_c41e.bson'), Buffer.concat(docs));
    await writeFile(join(db, 'hiddencoll_c41e.metadata.json'), JSON.stringify({ options: {}, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }], collectionName: 'hiddencoll_c41e', type: 'collection' }));
    await writeFile(join(db, 'hiddenview_d93b.metadata.json'), JSON.stringify({ options: { viewOn: 'hiddencoll_c41e', pipeline: [] }, indexes: [], collectionName: 'hiddenview_d93b', type: 'view' }));
    identity = await generateX25519Identity();
    recipient = await identityToRecipient(identity);
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('keys and manifest name nothing; the export with the identity equals the plain one', async () => {
    const source = { setName: 'rs', replicaSetId: null };
    const plain = new FolderStore(join(work, 'plain'));
    await importDump({ store: plain, path: dump, source });
    const sealedDir = join(work, 'sealed');
    const sealed = attachCipher(new FolderStore(sealedDir), new AgeCipher({ recipients: [recipient] }));
    await importDump({ store: sealed, path: dump, source });

    const { manifest } = await readManifest(sealed);
    const base = manifest.chains[0]?.base;
    assert.ok(base?.opaque);
    assert.deepEqual(base.collections, [], 'no named entry');
    assert.equal(base.opaque.collections.length, 3, 'the collection, the view, the time-series collection');
    const plainBase = (await readManifest(plain)).manifest.chains[0]?.base;
    assert.equal(base.opaque.documents, plainBase?.collections.reduce((sum, entry) => sum + entry.docs, 0), 'the total document count is kept');
    assert.equal(base.opaque.collections.filter((entry) => entry.data === null).length, 1, 'the view has no data object');
    for (const [path, bytes] of await filesUnder(sealedDir)) {
      for (const secret of SECRETS) {
        assert.ok(!path.includes(secret), `${path} names ${secret}`);
        if (!bytes.subarray(0, 21).equals(Buffer.from('age-encryption.org/v1'))) assert.ok(!bytes.includes(secret), `${path} holds ${secret}`);
      }
    }

    await assert.rejects(exportDump({ store: sealed, dir: join(work, 'no-key') }), (error: unknown) => error instanceof KeyError && /no identity was given/.test(error.message));
    const reader = attachCipher(new FolderStore(sealedDir), new AgeCipher({ identities: [identity] }));
    await exportDump({ store: reader, dir: join(work, 'out-sealed') });
    await exportDump({ store: plain, dir: join(work, 'out-plain') });
    const expected = await filesUnder(join(work, 'out-plain'));
    const actual = await filesUnder(join(work, 'out-sealed'));
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    assert.ok(expected.has(join('secretdb_8f3a', 'hiddenview_d93b.metadata.json')));
    assert.ok(expected.has(join('timeseries_test', 'system.buckets.foo_ts.bson')), 'time-series exported as its buckets');
    for (const [path, bytes] of expected) assert.ok(actual.get(path)?.equals(bytes), `${path} differs`);
  });

  test('an encrypted base written with names (before opaque bases) still exports with the identity', async () => {
    // The layout encrypted bases had before: named keys and a named manifest entry, age objects.
    const storeDir = join(work, 'named-encrypted');
    const store = attachCipher(new FolderStore(storeDir), new AgeCipher({ recipients: [recipient], identities: [identity] }));
    const id = baseId({ t: 1_700_000_000, i: 1 }, newRunId());
    const metadata = await storeGzipped(store, collectionMetadataKey(id, 'shop', 'orders'), serializeMetadata({ collectionName: 'orders', type: 'collection', options: {}, indexes: [], uuid: null }));
    const data = await storeGzipped(store, collectionDataKey(id, 'shop', 'orders'), Buffer.from(BSON.serialize({ _id: 1, note: 'old layout' })));
    const { object: oplog } = await writeOplogObject(store, baseOplogKey(id), (async function* () {})(), { t: 1_700_000_000, i: 1 });
    assert.equal(data.encryption, 'age');
    const committer = await ManifestCommitter.open(store);
    await committer.commit((manifest) => addChain(manifest, {
      id, source: { setName: 'rs', replicaSetId: null }, chunks: [],
      base: { id, startTs: oplog.firstTs, endTs: oplog.lastTs, startedAt: '', finishedAt: '', commitPoint: 'lastWritten', oplog,
        collections: [{ db: 'shop', coll: 'orders', type: 'collection', docs: 1, data, metadata }] },
    }));
    const out = join(work, 'out-named-encrypted');
    const result = await exportDump({ store, dir: out });
    assert.equal(result.documents, 1);
    assert.ok((await readFile(join(out, 'shop', 'orders.bson'))).includes('old layout'));
    assert.equal(JSON.parse(await readFile(join(out, 'shop', 'orders.metadata.json'), 'utf8')).collectionName, 'orders');
  });
});
