// The pure part of encrypted bases (archive/opaque-base.ts): names come back from the metadata
// objects; a namespace stored twice keeps its newest copy; a metadata object without names is
// an IntegrityError; sealing drops the UUIDs and counts; a resumed run forgets exactly the
// entries it cannot match by UUID, with the document total following.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IntegrityError } from '../../../src/errors.ts';
import type { Base, OpaqueCollection, PendingBase, StoredObject } from '../../../src/archive/manifest.ts';
import { namedBase, parseCatalogNames, resumableOpaque, sealOpaque, serializeCatalogMetadata, withoutCatalogNames } from '../../../src/archive/opaque-base.ts';
import { serializeMetadata } from '../../../src/archive/collection-metadata.ts';

const object = (key: string): StoredObject => ({ key, rawBytes: 1, storedBytes: 1, sha256: key, encryption: 'age' });
const oplog = { ...object('bases/b/oplog.bson.gz'), firstTs: { t: 1, i: 1 }, lastTs: { t: 1, i: 1 }, firstWall: null, lastWall: null, count: 0 };
const metadataOf = (coll: string, type: 'collection' | 'view' = 'collection') => ({ collectionName: coll, type, options: type === 'view' ? { viewOn: 'a' } : {}, indexes: [], uuid: null });

describe('opaque bases', () => {
  test('names come back from the metadata objects; the newest copy of a namespace wins', async () => {
    const stored = new Map<string, Buffer>([
      ['bases/b/01.metadata.json.gz', serializeCatalogMetadata(metadataOf('orders'), { db: 'shop', docs: 3 })],
      ['bases/b/02.metadata.json.gz', serializeCatalogMetadata(metadataOf('recent', 'view'), { db: 'shop', docs: 0 })],
      ['bases/b/03.metadata.json.gz', serializeCatalogMetadata(metadataOf('orders'), { db: 'shop', docs: 5 })],
    ]);
    const entry = (n: string, data: boolean): OpaqueCollection => ({ data: data ? object(`bases/b/${n}.bson.gz`) : null, metadata: object(`bases/b/${n}.metadata.json.gz`) });
    const base: Base = {
      id: 'b', startTs: { t: 1, i: 1 }, endTs: { t: 1, i: 1 }, startedAt: '', finishedAt: '', collections: [], oplog, commitPoint: 'lastWritten',
      opaque: { collections: [entry('01', true), entry('02', false), entry('03', true)], documents: 8 },
    };
    const named = await namedBase(base, async (metadata) => stored.get(metadata.key) ?? Buffer.alloc(0));
    assert.equal(named.opaque, undefined);
    assert.deepEqual(named.collections.map((each) => [each.db, each.coll, each.type, each.docs, each.data?.key ?? null]), [
      ['shop', 'orders', 'collection', 5, 'bases/b/03.bson.gz'],
      ['shop', 'recent', 'view', 0, null],
    ]);
    const plain = { ...base, opaque: undefined };
    assert.equal(await namedBase(plain, async () => Buffer.alloc(0)), plain, 'a plain base as it is');
  });

  test('a metadata object without names is refused; export gets mongodump\'s bytes back', () => {
    assert.throws(() => parseCatalogNames(serializeMetadata(metadataOf('orders')), 'k'), IntegrityError);
    assert.throws(() => parseCatalogNames(Buffer.from('not json'), 'k'), IntegrityError);
    const metadata = metadataOf('orders');
    assert.deepEqual(withoutCatalogNames(serializeCatalogMetadata(metadata, { db: 'shop', docs: 1 })), serializeMetadata(metadata));
  });

  test('sealing drops UUIDs and counts; a resumed run forgets the unmatched entries', () => {
    const pending: PendingBase = {
      id: 'b', source: { setName: 'rs', replicaSetId: null }, startTs: { t: 1, i: 1 }, startedAt: '', collections: [],
      opaque: {
        collections: [
          { data: object('1'), metadata: object('1m'), uuid: 'aa', docs: 3 },
          { data: null, metadata: object('2m'), docs: 0 },
          { data: object('3'), metadata: object('3m'), docs: 4 },
        ],
        documents: 7,
      },
    };
    assert.deepEqual(sealOpaque(pending.opaque)?.collections.map((entry) => Object.keys(entry).sort()), [['data', 'metadata'], ['data', 'metadata'], ['data', 'metadata']]);
    const { uuids, pending: resumed } = resumableOpaque(pending);
    assert.deepEqual([...uuids], ['aa']);
    assert.deepEqual(resumed.opaque, { collections: [pending.opaque?.collections[0]], documents: 3 });
  });
});
