// Documents decoded in field order (src/ordered-document.ts) and written back by the driver's
// serializer are the same bytes: checked on every document of the real fixtures (mongodump
// collection files and oplogs written by MongoDB), and on the shapes a JS object reorders.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Binary, BSON, BSONRegExp, Code, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'mongodb';
import type { Document } from 'mongodb';
import { readBsonFile } from '../../src/archive/bson-frames.ts';
import { decodeOplogEntry } from '../../src/archive/bson-decode.ts';
import { decodeOrdered, orderedOf, toPlain, type OrderedDoc } from '../../src/ordered-document.ts';
import { SHARED_DIR } from '../support/test-env.ts';

const FIXTURES = join(SHARED_DIR, 'fixtures');

function reserialized(raw: Uint8Array): Buffer {
  return Buffer.from(BSON.serialize(decodeOrdered(raw) as unknown as Document));
}

/** `{b: 1, "10": 2}` written field by field, as a server or another driver holds it. */
function integerNamedDocument(): Buffer {
  return Buffer.from(BSON.serialize(new Map<string, unknown>([['_id', new Int32(1)], ['b', new Int32(1)], ['10', new Int32(2)]]) as unknown as Document));
}

describe('decodeOrdered', () => {
  it('round-trips every BSON document of the fixtures byte for byte', async () => {
    const files = (await readdir(FIXTURES, { recursive: true })).filter((name) => name.endsWith('.bson'));
    let documents = 0;
    for (const name of files) {
      for await (const raw of readBsonFile(join(FIXTURES, name))) {
        assert.ok(reserialized(raw).equals(raw), `${name}: document ${documents} changed`);
        documents++;
      }
    }
    // 872 time-series bucket updates and their buckets among them.
    assert.ok(documents > 900, `only ${documents} documents read`);
  });

  it('round-trips every BSON type byte for byte', () => {
    const doc = new Map<string, unknown>([
      ['double', new Double(1)], ['negZero', new Double(-0)], ['string', 'héllo'], ['doc', new Map([['9', 1], ['a', 2]])],
      ['array', [new Int32(1), 'x', [new Long(5)]]], ['binary', new Binary(Buffer.from('abc'), 7)],
      ['uuid', new Binary(Buffer.alloc(16, 1), 4)], ['oid', new ObjectId()], ['bool', true], ['date', new Date(1_700_000_000_123)],
      ['null', null], ['regex', new BSONRegExp('a.c', 'im')], ['code', new Code('f()')], ['codeScope', new Code('g()', { x: 1 })],
      ['int', new Int32(-7)], ['ts', new Timestamp({ t: 1, i: 2 })], ['long', Long.fromString('-9007199254740993')],
      ['decimal', Decimal128.fromString('1.50')], ['min', new MinKey()], ['max', new MaxKey()],
    ]);
    const raw = Buffer.from(BSON.serialize(doc as unknown as Document));
    assert.ok(reserialized(raw).equals(raw));
  });

  it('keeps integer-like field names where they are, which a JS object does not', () => {
    const raw = integerNamedDocument();
    assert.deepEqual([...decodeOrdered(raw).keys()], ['_id', 'b', '10']);
    assert.deepEqual(Object.keys(BSON.deserialize(raw)), ['10', '_id', 'b'], 'the reordering this module exists for');
    assert.ok(reserialized(raw).equals(raw));
  });
});

describe('decodeOplogEntry: o and o2 keep their bytes', () => {
  const ts = new Timestamp({ t: 1_700_000_000, i: 1 });

  it('an insert\'s o comes back in field order', () => {
    const o = BSON.deserialize(integerNamedDocument());
    const raw = BSON.serialize(new Map<string, unknown>([['ts', ts], ['op', 'i'], ['ns', 'db.c'], ['o', decodeOrdered(integerNamedDocument())]]) as unknown as Document);
    const entry = decodeOplogEntry(raw);
    assert.deepEqual(Object.keys(entry.o), Object.keys(o), 'the object itself is reordered');
    assert.deepEqual([...orderedOf(entry.o).keys()], ['_id', 'b', '10']);
    // A spread copy of the entry (namespace rules rename entries so) keeps the same o.
    assert.deepEqual([...orderedOf({ ...entry, ns: 'other.c' }.o).keys()], ['_id', 'b', '10']);
  });

  it('the ops inside an applyOps (a transaction) keep their bytes too', () => {
    const op = new Map<string, unknown>([['op', 'i'], ['ns', 'db.c'], ['o', decodeOrdered(integerNamedDocument())]]);
    const raw = BSON.serialize(new Map<string, unknown>([
      ['ts', ts], ['op', 'c'], ['ns', 'admin.$cmd'], ['o', new Map<string, unknown>([['applyOps', [op]]])],
    ]) as unknown as Document);
    const entry = decodeOplogEntry(raw);
    const inner = (entry.o.applyOps as Document[])[0];
    assert.ok(inner !== undefined);
    assert.deepEqual([...orderedOf(inner.o as Document).keys()], ['_id', 'b', '10']);
  });

  it('toPlain gives back an object for code that reads fields', () => {
    const doc = decodeOrdered(integerNamedDocument()) as OrderedDoc;
    assert.deepEqual(toPlain(doc), { _id: new Int32(1), b: new Int32(1), 10: new Int32(2) });
  });
});
