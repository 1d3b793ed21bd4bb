// mongo_pitr_bytes_written_total counts each base object once, when this process commits it
// (src/metrics/stored-bytes.ts), for collections dumped in pieces (backup/dump-pieces.ts) too.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CollectionEntry, PartialCollection, StoredObject } from '../../../src/archive/manifest.ts';
import { storedByCollection, storedByPiece } from '../../../src/metrics/stored-bytes.ts';

const object = (key: string, storedBytes: number): StoredObject => ({ key, rawBytes: storedBytes * 4, storedBytes, sha256: 'x' });
const metadata = object('b/db/big.metadata.json.gz', 100);
const [p1, p2, p3] = [object('b/db/big.bson.gz', 1000), object('b/db/big.pieces/1.bson.gz', 1000), object('b/db/big.pieces/2.bson.gz', 500)];
const part = (pieces: StoredObject[]): PartialCollection => ({ db: 'db', coll: 'big', uuid: null, metadata, pieces, docs: pieces.length, after: 'AA==' });
const whole = (data: StoredObject, moreData: StoredObject[] = []): CollectionEntry => ({ db: 'db', coll: 'big', type: 'collection', docs: 3, data, metadata, ...(moreData.length > 0 ? { moreData } : {}) });

describe('bytes a base stored in this process', () => {
  test('a collection in three pieces dumped by one run: every piece and the metadata, once', () => {
    // The hooks as take-base.ts calls them: each sealed piece but the last, then the whole collection.
    const total = storedByPiece(part([p1])) + storedByPiece(part([p1, p2])) + storedByCollection(whole(p1, [p2, p3]));
    assert.equal(total, 100 + 1000 + 1000 + 500);
  });

  test('a collection resumed from an earlier run: only what this run stored', () => {
    // The earlier run stored the metadata and the first piece; this one the second and the last.
    const total = storedByPiece(part([p1, p2])) + storedByCollection(whole(p1, [p2, p3]));
    assert.equal(total, 1000 + 500);
  });

  test('a collection in one piece: its data and metadata', () => {
    assert.equal(storedByCollection(whole(p1)), 1100);
  });
});
