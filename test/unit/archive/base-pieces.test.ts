// The manifest side of collections dumped in pieces (src/backup/dump-pieces.ts): a pending base
// records each sealed piece as it goes and forgets the partial record once the collection is
// whole; a finished collection's pieces are its documents, in order, for every reader that goes
// through dataObjectsOf / collectionObjectsOf (download, verify, prune); and which collections
// are cut into pieces at all.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addPendingCollection,
  addPendingPiece,
  collectionObjectsOf,
  dataObjectsOf,
  MANIFEST_FORMAT_VERSION,
  parseManifest,
  partialProgress,
  serializeManifest,
  pendingKeys,
  recordPendingRun,
  type Chain,
  type Manifest,
  type PartialCollection,
  type StoredObject,
} from '../../../src/archive/manifest.ts';
import { collectionDataKey, collectionPieceKey } from '../../../src/archive/object-keys.ts';
import { findOrphans } from '../../../src/archive/retention.ts';
import { dumpsInPieces } from '../../../src/backup/dump-pieces.ts';
import { summarizePending } from '../../../src/backup/run-due.ts';

const source = { setName: 'rs', replicaSetId: null };
const head = { id: '0000000000005-0000000000-aaaaaaaa', source, startTs: { t: 5, i: 0 }, startedAt: '2024-01-01T00:00:00.000Z' };
const RESUMED = '0000000000005-0000000000-bbbbbbbb';
const object = (key: string): StoredObject => ({ key, rawBytes: 10, storedBytes: 5, sha256: 'x' });
const metadata = object(collectionDataKey(head.id, 'db', 'big').replace('.bson.gz', '.metadata.json.gz'));
const first = object(collectionDataKey(head.id, 'db', 'big'));
const second = object(collectionPieceKey(head.id, 'db', 'big', 1));
const third = object(collectionPieceKey(RESUMED, 'db', 'big', 2));

function part(pieces: StoredObject[], docs: number): PartialCollection {
  return { db: 'db', coll: 'big', uuid: 'ab'.repeat(16), metadata, pieces, docs, after: 'AA==' };
}

describe('collections dumped in pieces: the manifest', () => {
  // A reader of format 2 ignores moreData and partial and would restore the first piece alone,
  // silently: a manifest holding pieces is written as a format such a reader refuses.
  test('is written as format 3 while it holds pieces, and as format 2 again once it holds none', () => {
    const formatOf = (manifest: Manifest) => parseManifest(serializeManifest(manifest)).formatVersion;
    let manifest: Manifest = recordPendingRun({ formatVersion: 2, chains: [] }, head, head.id);
    assert.equal(formatOf(manifest), MANIFEST_FORMAT_VERSION);
    manifest = addPendingPiece(manifest, head, part([first], 10));
    assert.ok(formatOf(manifest) > MANIFEST_FORMAT_VERSION, 'a pending base part way through a collection');
    manifest = addPendingCollection(manifest, head, { db: 'db', coll: 'big', type: 'collection', docs: 30, data: first, moreData: [second], metadata });
    assert.ok(formatOf(manifest) > MANIFEST_FORMAT_VERSION, 'a finished collection of two pieces');
    manifest = addPendingCollection(manifest, head, { db: 'db', coll: 'big', type: 'collection', docs: 30, data: first, metadata });
    assert.equal(formatOf(manifest), MANIFEST_FORMAT_VERSION, 'one piece: readable by every format-2 reader');
    assert.equal(formatOf({ formatVersion: 1, chains: [] }), 1, 'a format-1 manifest kept as it was (commit.ts keeps a copy)');
  });

  test('a pending base records each sealed piece, and forgets the partial record once the collection is whole', () => {
    let manifest: Manifest = recordPendingRun({ formatVersion: 2, chains: [] }, head, head.id);
    manifest = addPendingPiece(manifest, head, part([first], 10));
    manifest = addPendingPiece(manifest, head, part([first, second], 20));
    manifest = addPendingPiece(manifest, head, { ...part([object('bases/x/db/other.bson.gz')], 3), coll: 'other' });
    let pending = manifest.pendingBases?.[0];
    assert.ok(pending);
    assert.deepEqual(pending.partial?.map((each) => [each.coll, each.pieces.length]), [['big', 2], ['other', 1]], 'one record per collection, the newest');
    assert.deepEqual(pending.folders, [head.id], 'recording a piece keeps the run folders');
    assert.deepEqual(partialProgress(pending), { collections: 2, pieces: 3, documents: 23 });
    assert.deepEqual(summarizePending(pending).partial, { collections: 2, pieces: 3, documents: 23 });
    // Every piece is spoken for while the base is pending, whichever folder it is in.
    assert.ok(pendingKeys(pending).includes(second.key) && pendingKeys(pending).includes(metadata.key));

    manifest = addPendingCollection(manifest, head, { db: 'db', coll: 'big', type: 'collection', docs: 30, data: first, moreData: [second, third], metadata });
    pending = manifest.pendingBases?.[0];
    assert.ok(pending);
    assert.deepEqual(pending.partial?.map((each) => each.coll), ['other'], 'big is whole now');
    assert.equal(summarizePending(pending).partial?.pieces, 1);
    manifest = addPendingCollection(manifest, head, { db: 'db', coll: 'other', type: 'collection', docs: 3, data: null, metadata });
    pending = manifest.pendingBases?.[0];
    assert.ok(pending);
    assert.equal(pending.partial, undefined, 'no partial record left: the field is gone');
    assert.equal(summarizePending(pending).partial, undefined);
  });

  test('a finished collection reads as its pieces in order: restore downloads, verify and prune see all of them', () => {
    const entry = { db: 'db', coll: 'big', type: 'collection' as const, docs: 30, data: first, moreData: [second, third], metadata };
    assert.deepEqual(dataObjectsOf(entry).map((each) => each.key), [first.key, second.key, third.key]);
    assert.deepEqual(collectionObjectsOf({ collections: [entry] }).map((each) => each.key), [metadata.key, first.key, second.key, third.key]);
    assert.deepEqual(dataObjectsOf({ data: first }), [first], 'one piece: data alone, as before');
    assert.deepEqual(dataObjectsOf({ data: null }), [], 'a view');

    const oplog = { key: `bases/${head.id}/oplog.bson.gz`, rawBytes: 1, storedBytes: 1, sha256: 'x', firstTs: head.startTs, lastTs: head.startTs, firstWall: null, lastWall: null, count: 1 };
    const chain: Chain = { id: head.id, source, chunks: [], base: { id: head.id, startTs: head.startTs, endTs: head.startTs, startedAt: head.startedAt, finishedAt: head.startedAt, collections: [entry], oplog, commitPoint: 'lastWritten' } };
    const old = new Date('2024-01-01T00:00:00.000Z');
    const listing = [first, second, third, metadata, oplog, object(`bases/${RESUMED}/db/dropped.bson.gz`)].map((each) => ({ key: each.key, lastModified: old }));
    const scan = findOrphans(listing, [{ formatVersion: 2, chains: [chain] }], Date.parse('2024-01-02T00:00:00.000Z'), 60_000);
    assert.deepEqual(scan.orphans.map((each) => each.key), [`bases/${RESUMED}/db/dropped.bson.gz`], 'prune keeps every piece of a finished collection');
  });

  test('a later piece is named one folder deeper than any collection object, so no collection name can collide with it', () => {
    assert.equal(collectionPieceKey(head.id, 'db', 'big', 3), `bases/${head.id}/db/big.pieces/000003.bson.gz`);
    assert.notEqual(collectionPieceKey(head.id, 'db', 'a', 1), collectionDataKey(head.id, 'db', 'a.pieces/000001'), 'a "/" in a collection name is escaped');
  });
});

describe('which collections are dumped in pieces', () => {
  const idIndex = { v: 2, key: { _id: 1 }, name: '_id_' };
  const plain = { type: 'collection' as const, coll: 'c', options: {}, indexes: [idIndex] };

  test('an ordinary collection scanned by its plain _id index', () => {
    assert.equal(dumpsInPieces(plain), true);
  });

  test('not: views, time-series, capped, clustered, collated, system.*, or no _id index', () => {
    assert.equal(dumpsInPieces({ ...plain, type: 'view', indexes: [] }), false);
    assert.equal(dumpsInPieces({ ...plain, type: 'timeseries' }), false);
    // Capped: documents must stay in insertion order (restore/load-base.ts).
    assert.equal(dumpsInPieces({ ...plain, options: { capped: true, size: 4096 } }), false);
    assert.equal(dumpsInPieces({ ...plain, indexes: [] }), false, 'a capped collection created with autoIndexId: false has no _id index');
    // Clustered (listCollections options.clusteredIndex, as the server reports it): no _id index to hint.
    assert.equal(dumpsInPieces({ ...plain, options: { clusteredIndex: { key: { _id: 1 }, unique: true, v: 2 } }, indexes: [] }), false);
    // A collation orders strings otherwise than their bytes, which the resume skip compares by.
    assert.equal(dumpsInPieces({ ...plain, options: { collation: { locale: 'fr' } }, indexes: [{ ...idIndex, collation: { locale: 'fr' } }] }), false);
    assert.equal(dumpsInPieces({ ...plain, coll: 'system.users' }), false);
  });
});
