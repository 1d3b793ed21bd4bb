// The $v:2 diff applier against the server's own cases. Each `checkDiff` mirrors the helper of
// mongodb/mongo src/mongo/db/update/document_diff_applier_test.cpp: the post-image must be
// BINARY equal to the expected one (field order and every value's BSON type included), and
// applying the diff again to the post-image must give the same bytes (idempotence).
// Documents are built as BSON (js-bson writes a JS integer as int32, other numbers as double,
// like the server's BSON() macro) and decoded into OrderedDocs, as replay decodes the oplog.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Binary, BSON, Double, Int32, Long, ObjectId } from 'mongodb';
import type { Document } from 'mongodb';
import { TargetError } from '../../../src/errors.ts';
import { decodeOrdered, type OrderedDoc } from '../../../src/ordered-document.ts';
import { applyDeltaV2 } from '../../../src/target/delta-v2.ts';

/** A document as the server would hold it: serialized, then decoded in field order. */
function bson(value: Document | OrderedDoc): OrderedDoc {
  return decodeOrdered(BSON.serialize(value as Document));
}

/** An OrderedDoc from [name, value] pairs, for field orders a JS object cannot express. */
function fields(...pairs: Array<[string, unknown]>): OrderedDoc {
  return new Map(pairs);
}

function bytes(doc: OrderedDoc | Document): string {
  return Buffer.from(BSON.serialize(doc as Document)).toString('hex');
}

/** document_diff_applier_test.cpp checkDiff: binary equality, once and applied twice. */
function checkDiff(pre: Document | OrderedDoc, expected: Document | OrderedDoc, diff: Document | OrderedDoc): void {
  const post = applyDeltaV2(bson(pre), bson(diff));
  assert.equal(bytes(post), bytes(bson(expected)), 'post-image differs from the expected bytes');
  const again = applyDeltaV2(post, bson(diff));
  assert.equal(bytes(again), bytes(bson(expected)), 'applying the diff twice changed the result');
}

function malformed(text: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof TargetError, `expected a TargetError, got ${String(error)}`);
    assert.ok(error.message.includes(text), `"${error.message}" does not mention ${text}`);
    return true;
  };
}

const apply = (pre: Document | OrderedDoc, diff: Document | OrderedDoc): OrderedDoc => applyDeltaV2(bson(pre), bson(diff));

const bin = (text: string, subtype: number = Binary.SUBTYPE_DEFAULT): Binary => new Binary(Buffer.from(text), subtype);
const COLUMN = 7; // BinDataType::Column

describe('applyDeltaV2: document_diff_applier_test.cpp', () => {
  it('DeleteSimple', () => {
    checkDiff({ f1: 1, foo: 2, f2: 3 }, { foo: 2 }, { d: { f1: false, f2: false, f3: false } });
  });

  it('InsertSimple: an insert of an existing field moves it to the end', () => {
    checkDiff({ f1: 1, foo: 2, f2: 3 }, { foo: 2, f2: 3, f1: 1, newField: 2 }, { i: { f1: 1, newField: 2 } });
  });

  it('BinaryAppendSimple', () => {
    checkDiff({ b1: bin('abc', COLUMN) }, { b1: bin('abcdef', COLUMN) }, { b: { b1: { o: 3, d: bin('def') } } });
  });

  it('BinaryOverwriteSimple', () => {
    checkDiff({ b1: bin('abc', COLUMN) }, { b1: bin('abdef', COLUMN) }, { b: { b1: { o: 2, d: bin('def') } } });
  });

  it('BinaryIsIdempotentMultipleWithShrink: an offset past the end is a no-op', () => {
    const append = { b: { b1: { o: 3, d: bin('def') } } };
    const shrink = { b: { b1: { o: 1, d: bin('x') } } };
    checkDiff({ b1: bin('abc', COLUMN) }, { b1: bin('abcdef', COLUMN) }, append);
    checkDiff({ b1: bin('abcdef', COLUMN) }, { b1: bin('ax', COLUMN) }, shrink);
    checkDiff({ b1: bin('ax', COLUMN) }, { b1: bin('ax', COLUMN) }, append);
    checkDiff({ b1: bin('ax', COLUMN) }, { b1: bin('ax', COLUMN) }, shrink);
  });

  it('BinaryAppendNonColumnSubtype / BinaryOverwriteNonColumnSubtype: the subtype is kept', () => {
    checkDiff({ b1: bin('abc') }, { b1: bin('abcdef') }, { b: { b1: { o: 3, d: bin('def') } } });
    checkDiff({ b1: bin('abc', 4) }, { b1: bin('abdef', 4) }, { b: { b1: { o: 2, d: bin('def') } } });
  });

  it('UpdateSimple: an update of a missing field appends it', () => {
    checkDiff({ f1: 0, foo: 2, f2: 3 }, { f1: 1, foo: 2, f2: 3, newField: 2 }, { u: { f1: 1, newField: 2 } });
  });

  it('SubObjDiffSimple', () => {
    checkDiff(
      { obj: { dField: 0, iField: 0, uField: 0 }, otherField: 0 },
      { obj: { uField: 2, iField: 1 }, otherField: 0 },
      { sobj: { d: { dField: false }, u: { uField: 2 }, i: { iField: 1 } } },
    );
  });

  it('SubArrayDiffSimpleWithAppend / WithTruncate / WithNullPadding', () => {
    checkDiff({ arr: [999, 999, 999, 999] }, { arr: [999, 1, 999, 999, 2] }, { sarr: { a: true, u1: 1, u4: 2 } });
    checkDiff({ arr: [999, 999, 999, 999] }, { arr: [999, 1, 999] }, { sarr: { a: true, l: 3, u1: 1 } });
    checkDiff({ arr: [0] }, { arr: [0, null, null, 1] }, { sarr: { a: true, u3: 1 } });
  });

  it('NestedSubObjUpdateScalar: missing paths are no-ops, scalars in the way become null in place', () => {
    const diff = { ssubObj: { ssubObj: { u: { a: 1 } } } };
    checkDiff({ subObj: { subObj: { a: 0 } } }, { subObj: { subObj: { a: 1 } } }, diff);
    checkDiff({ someOtherField: 1 }, { someOtherField: 1 }, diff);
    checkDiff(
      { dummyA: 1, dummyB: 2, subObj: 'scalar!', dummyC: 3, dummyD: 4 },
      { dummyA: 1, dummyB: 2, subObj: null, dummyC: 3, dummyD: 4 },
      diff,
    );
    checkDiff(
      { dummyA: 1, dummyB: 2, subObj: { subDummyA: 1, subObj: 'scalar!', subDummyB: 2 }, dummyC: 3 },
      { dummyA: 1, dummyB: 2, subObj: { subDummyA: 1, subObj: null, subDummyB: 2 }, dummyC: 3 },
      diff,
    );
  });

  it('UpdateArrayOfObjectsSubDiff', () => {
    const diff = {
      d: { dFieldA: false, dFieldB: false },
      u: { uField: 999 },
      sarr: { a: true, s1: { u: { a: 1 } }, s2: { u: { b: 2 } }, s3: { u: { c: 3 } }, u4: { x: 1 } },
    };
    checkDiff({ uField: 1, dFieldA: 1, arr: [null, { a: 0 }, { b: 0 }, { c: 0 }], dFieldB: 1 },
      { uField: 999, arr: [null, { a: 1 }, { b: 2 }, { c: 3 }, { x: 1 }] }, diff);
    checkDiff({ uField: 1, dFieldA: 1, arr: [{ a: 0 }, { b: 0 }, { c: 0 }, {}], dFieldB: 1 },
      { uField: 999, arr: [{ a: 0 }, { b: 0, a: 1 }, { c: 0, b: 2 }, { c: 3 }, { x: 1 }] }, diff);
    checkDiff({ arr: [null, { a: 1 }, { b: 2 }, { c: 3 }, { x: 1 }], uField: 999 },
      { arr: [null, { a: 1 }, { b: 2 }, { c: 3 }, { x: 1 }], uField: 999 }, diff);
    checkDiff({ arr: [0, 0, 0, 0, { x: 2 }], uField: 1 }, { arr: [0, null, null, null, { x: 1 }], uField: 999 }, diff);
    checkDiff({ arr: [], uField: 1 }, { arr: [null, null, null, null, { x: 1 }], uField: 999 }, diff);
    checkDiff({ arr: [0, {}, {}, {}, 4, 5, 6], uField: 1 }, { arr: [0, { a: 1 }, { b: 2 }, { c: 3 }, { x: 1 }, 5, 6], uField: 999 }, diff);
    checkDiff({ dummyA: 1, arr: { foo: 1 }, dummyB: 1 }, { dummyA: 1, arr: null, dummyB: 1, uField: 999 }, diff);
    checkDiff({ dummyA: 1, arr: 1, dummyB: 1 }, { dummyA: 1, arr: null, dummyB: 1, uField: 999 }, diff);
  });

  it('UpdateArrayOfObjectsWithUpdateOperationNonContiguous', () => {
    const diff = { sarr: { a: true, u1: 997, u2: { newVal: 998 }, u5: 999 } };
    checkDiff({ arr: [null, {}, {}, {}, {}, {}] }, { arr: [null, 997, { newVal: 998 }, {}, {}, 999] }, diff);
    checkDiff({ arr: [{}, {}, {}, {}] }, { arr: [{}, 997, { newVal: 998 }, {}, null, 999] }, diff);
    checkDiff({ arr: [0, 1, 2, 3, 4, 5, 6] }, { arr: [0, 997, { newVal: 998 }, 3, 4, 999, 6] }, diff);
    checkDiff({ arr: [0, 1, [], [], ['a', 'b'], 5, 6] }, { arr: [0, 997, { newVal: 998 }, [], ['a', 'b'], 999, 6] }, diff);
    checkDiff({ arr: { x: 1 } }, { arr: null }, diff);
    checkDiff({ arr: 'scalar!' }, { arr: null }, diff);
  });

  it('BinaryMalformedDiffNotObject / BinaryNegativeDiffOffset / BinaryMalformedDiffFieldNotBinData', () => {
    const pre = { b1: bin('abc', COLUMN) };
    assert.throws(() => apply(pre, { b: { b1: 'not_an_object' } }), malformed('not an object'));
    assert.throws(() => apply(pre, { b: { b1: { o: -1, d: bin('def') } } }), malformed('non-negative'));
    assert.throws(() => apply(pre, { b: { b1: { o: 3, d: 'not_bindata' } } }), malformed('not binary data'));
  });

  it('DiffWithDuplicateFields / DuplicateFieldNames: a field in two sections is refused', () => {
    assert.throws(() => apply({}, { d: { dupField: false }, u: { dupField: 'new value' } }), malformed('duplicate field name'));
    assert.throws(() => apply({}, { d: { b: false }, i: { a: {}, b: null } }), malformed('duplicate field name'));
    assert.throws(() => apply({}, { u: { b: false }, i: { a: {}, b: null } }), malformed('duplicate field name'));
    assert.throws(() => apply({}, { u: { a: {} }, sa: { d: { k: false } } }), malformed('duplicate field name'));
  });

  it('DuplicateFieldNames within one section, and a sub-diff twice', () => {
    // Raw BSON, as a JS object cannot name a field twice: {u: {f1: 3, f1: 4}}, {sa: {...}, sa: {...}}.
    const twice = (outer: string, inner: string, a: Document, b: Document): OrderedDoc => {
      const first = Buffer.from(BSON.serialize({ [inner]: a })).subarray(4, -1);
      const second = Buffer.from(BSON.serialize({ [inner]: b })).subarray(4, -1);
      const body = Buffer.concat([first, second]);
      const section = Buffer.concat([Buffer.alloc(4), body, Buffer.from([0])]);
      section.writeInt32LE(section.length, 0);
      const element = Buffer.concat([Buffer.from([0x03]), Buffer.from(`${outer}\0`), section]);
      const doc = Buffer.concat([Buffer.alloc(4), element, Buffer.from([0])]);
      doc.writeInt32LE(doc.length, 0);
      return decodeOrdered(doc);
    };
    const u = twice('u', 'f1', { v: 3 }, { v: 4 });
    assert.throws(() => applyDeltaV2(bson({}), u), malformed('duplicate field name'));
    // {sa: {d: {p: false}}, sa: {a: true, ...}}: the diff itself names the sub-diff twice.
    const raw = Buffer.concat([
      Buffer.from(BSON.serialize({ sa: { d: { p: false } } })).subarray(4, -1),
      Buffer.from(BSON.serialize({ sa: { a: true, l: 0 } })).subarray(4, -1),
    ]);
    const diff = Buffer.concat([Buffer.alloc(4), raw, Buffer.from([0])]);
    diff.writeInt32LE(diff.length, 0);
    assert.throws(() => applyDeltaV2(bson({}), decodeOrdered(diff)), malformed('duplicate'));
  });

  it('EmptyDiff', () => {
    assert.throws(() => apply({}, {}), malformed('empty'));
  });

  it('ArrayDiffAtTop', () => {
    assert.throws(() => apply({}, fields(['a', true], ['l', new Int32(5)], ['d0', false])), malformed('unexpected section "a"'));
  });
});

describe('applyDeltaV2: exact values', () => {
  it('a u that changes a number\'s type leaves the new type (int 3 → long 3, int 3 → double 3.0)', () => {
    const pre = fields(['_id', new Int32(1)], ['n', new Int32(3)], ['m', new Int32(3)]);
    const post = applyDeltaV2(pre, fields(['u', fields(['n', Long.fromNumber(3)], ['m', new Double(3)])]));
    assert.ok(post.get('n') instanceof Long, 'n is an int64');
    assert.ok(post.get('m') instanceof Double, 'm is a double');
    // The BSON type bytes themselves: 0x12 int64, 0x01 double.
    const raw = Buffer.from(BSON.serialize(post as unknown as Document));
    assert.equal(raw[raw.indexOf(Buffer.from('n\0')) - 1], 0x12);
    assert.equal(raw[raw.indexOf(Buffer.from('m\0')) - 1], 0x01);
  });

  it('keeps the field order of integer-like names ({b: 1, "10": 2}), in the document and in i', () => {
    const pre = fields(['_id', new Int32(1)], ['b', new Int32(1)], ['10', new Int32(2)]);
    const post = applyDeltaV2(pre, fields(['u', fields(['b', new Int32(5)])], ['i', fields(['z', new Int32(0)], ['3', new Int32(9)])]));
    assert.deepEqual([...post.keys()], ['_id', 'b', '10', 'z', '3']);
  });

  it('a bucket update as MongoDB 5.0 logs it (mongo-tools timeseries fixture shape)', () => {
    // ts_dump_with_oplog/oplog.bson: control.max updated, a new measurement "129" inserted per column.
    const pre = bson(fields(
      ['_id', new ObjectId('60c7df2bf4549c58ea9377ec')],
      ['control', { version: 1, min: { ts: new Date(0), measurement: 0 }, max: { ts: new Date(1), measurement: 0 } }],
      ['data', fields(['ts', fields(['0', new Date(0)], ['128', new Date(1)])], ['measurement', fields(['0', 0], ['128', 0])])],
    ));
    const diff = bson({ scontrol: { smax: { u: { ts: new Date(2), measurement: 292 } } },
      sdata: { sts: { i: { 129: new Date(2) } }, smeasurement: { i: { 129: 292 } } } });
    const post = applyDeltaV2(pre, diff);
    const data = post.get('data') as OrderedDoc;
    assert.deepEqual([...(data.get('ts') as OrderedDoc).keys()], ['0', '128', '129']);
    assert.deepEqual(((post.get('control') as OrderedDoc).get('max') as OrderedDoc).get('measurement'), new Int32(292));
  });
});

describe('applyDeltaV2: the rest of the format (document_diff_serialization.cpp readers)', () => {
  it('sections must come in the order d, u, i, b, s<field>, each once', () => {
    assert.throws(() => apply({ a: 1 }, { i: { y: 2 }, u: { x: 1 } }), malformed('unexpected section "u"'));
    assert.throws(() => apply({ a: 1 }, { sa: { u: { x: 1 } }, u: { x: 1 } }), malformed('unexpected section "u"'));
    assert.throws(() => apply({ a: 1 }, { x: { a: 1 } }), malformed('unexpected section "x"'));
  });

  it('a bare "s" is the sub-diff of the field named ""', () => {
    checkDiff(fields(['', { n: 1 }], ['s', { n: 1 }]), fields(['', { n: 3 }], ['s', { n: 4 }]), { s: { u: { n: 3 } }, ss: { u: { n: 4 } } });
  });

  it('l must be an int32 directly after a: true', () => {
    assert.throws(() => apply({ arr: [1] }, { sarr: { a: true, l: Long.fromNumber(1) } }), malformed('"l"'));
    assert.throws(() => apply({ arr: [1] }, { sarr: { a: true, u0: 1, l: 1 } }), malformed('"l"'));
    assert.throws(() => apply({ arr: [1] }, { sarr: { a: false, u0: 1 } }), malformed('"a"'));
  });

  it('a modification past l is refused (the server asserts the walk ends at l)', () => {
    assert.throws(() => apply({ arr: [1, 2, 3] }, { sarr: { a: true, l: 1, u2: 9 } }), malformed('past its length'));
  });

  it('array modifications out of index order are refused', () => {
    assert.throws(() => apply({ arr: [1, 2, 3] }, { sarr: { a: true, u2: 1, u1: 1 } }), malformed('"u1"'));
  });

  it('a binary diff of a field the document lacks does nothing; of a non-binary field is an error', () => {
    checkDiff({ a: 1 }, { a: 1 }, { b: { b1: { o: 0, d: bin('x') } } });
    assert.throws(() => apply({ b1: 'text' }, { b: { b1: { o: 0, d: bin('x') } } }), malformed('not binary data'));
  });

  it('does not mutate its inputs', () => {
    const pre = bson({ _id: 1, a: { x: 1 }, arr: [1, { y: 2 }], b: 2 });
    const before = bytes(pre);
    applyDeltaV2(pre, bson({ d: { b: false }, sa: { u: { x: 2 } }, sarr: { a: true, l: 3, s1: { i: { z: 3 } } } }));
    assert.equal(bytes(pre), before);
  });
});
