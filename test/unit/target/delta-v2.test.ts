import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DBRef, Int32, Long, ObjectId } from 'mongodb';
import type { Document } from 'mongodb';
import { TargetError } from '../../../src/errors.ts';
import { applyDeltaV2 } from '../../../src/target/delta-v2.ts';
import { assertDoc, deepFreeze, ordered } from '../../support/ordered-document.ts';

function malformed(name: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof TargetError, `expected a TargetError, got ${String(error)}`);
    assert.match(error.message, new RegExp(name.replace(/[.$]/g, '\\$&')));
    return true;
  };
}

describe('applyDeltaV2: object diffs', () => {
  it('an empty diff returns an equal copy', () => {
    const doc = { _id: 1, a: 1 };
    const out = applyDeltaV2(doc, {});
    assertDoc(out, { _id: 1, a: 1 });
    assert.notEqual(out, doc);
  });

  it('u replaces existing fields in place', () => {
    assertDoc(applyDeltaV2({ _id: 1, a: 1, b: 2, c: 3 }, { u: { b: 20, a: 10 } }), { _id: 1, a: 10, b: 20, c: 3 });
  });

  it('i appends new fields at the end, in diff order', () => {
    assertDoc(applyDeltaV2({ _id: 1, m: 1 }, { i: { z: 1, y: 2 } }), { _id: 1, m: 1, z: 1, y: 2 });
  });

  it('d removes fields, and ignores fields that are not there', () => {
    assertDoc(applyDeltaV2({ _id: 1, a: 1, b: 2, c: 3 }, { d: { b: false, nope: false } }), { _id: 1, a: 1, c: 3 });
  });

  it('i of an existing field moves it to the end with the new value', () => {
    assertDoc(applyDeltaV2({ _id: 1, a: 1, b: 2, c: 3 }, { i: { a: 9 } }), { _id: 1, b: 2, c: 3, a: 9 });
  });

  it('deleting then inserting the same name leaves the new value at the end', () => {
    assertDoc(applyDeltaV2({ _id: 1, a: 1, b: 2 }, { d: { a: false }, i: { a: 5 } }), { _id: 1, b: 2, a: 5 });
  });

  it('u of a missing field (a re-applied diff) appends it, before the i fields', () => {
    // Reading order is d, u, i whatever the diff's own field order.
    assertDoc(applyDeltaV2({ _id: 1 }, { i: { y: 2 }, u: { x: 1 } }), { _id: 1, x: 1, y: 2 });
  });

  it('combines d, u and i in one pass', () => {
    const doc = { _id: 1, a: 1, b: 2, c: 3, d: 4 };
    const out = applyDeltaV2(doc, { d: { a: false }, u: { c: 30 }, i: { e: 5, b: 22 } });
    assertDoc(out, { _id: 1, c: 30, d: 4, e: 5, b: 22 });
  });

  it('s<field> recurses into an embedded document, keeping its place', () => {
    const doc = { _id: 1, a: { x: 1, y: 2 }, b: 3 };
    assertDoc(applyDeltaV2(doc, { sa: { u: { x: 10 }, i: { z: 3 }, d: { y: false } } }), { _id: 1, a: { x: 10, z: 3 }, b: 3 });
  });

  it('sub-diff keys are "s" + the field name, also for names starting with s or empty', () => {
    const doc = { _id: 1, status: { n: 1 }, '': { n: 1 }, s: { n: 1 } };
    const out = applyDeltaV2(doc, { sstatus: { u: { n: 2 } }, s: { u: { n: 3 } }, ss: { u: { n: 4 } } });
    assertDoc(out, { _id: 1, status: { n: 2 }, '': { n: 3 }, s: { n: 4 } });
  });

  it('a sub-diff of a field that is not there does nothing', () => {
    assertDoc(applyDeltaV2({ _id: 1, b: 1 }, { sa: { i: { x: 1 } }, sarr: { a: true, u0: 1 } }), { _id: 1, b: 1 });
  });

  it('a sub-diff whose type no longer matches sets the field to null (re-applied diff)', () => {
    const doc = { _id: 1, obj: 5, arr: { x: 1 }, str: 'x', tail: 1 };
    const out = applyDeltaV2(doc, { sobj: { u: { x: 1 } }, sarr: { a: true, u0: 1 }, sstr: { i: { y: 1 } } });
    assertDoc(out, { _id: 1, obj: null, arr: null, str: null, tail: 1 });
  });

  it('recurses several levels deep', () => {
    const doc = { _id: 1, a: { b: { c: { d: 1, e: 2 } }, f: 3 } };
    const out = applyDeltaV2(doc, { sa: { sb: { sc: { d: { d: false }, i: { g: 4 } } }, u: { f: 30 } } });
    assertDoc(out, { _id: 1, a: { b: { c: { e: 2, g: 4 } }, f: 30 } });
  });

  it('keeps BSON values as given, by identity', () => {
    const id = new ObjectId();
    const big = Long.fromString('9007199254740993');
    const out = applyDeltaV2({ _id: id, n: 1 }, { u: { n: big }, i: { ref: id } });
    assert.equal(out._id, id);
    assert.equal(out.n, big);
    assert.equal(out.ref, id);
  });

  it('treats a DBRef as the embedded document it is in BSON', () => {
    const oid = new ObjectId();
    const out = applyDeltaV2({ _id: 1, ref: new DBRef('users', oid) }, { sref: { u: { $id: 2 } } });
    assertDoc(out, { _id: 1, ref: { $ref: 'users', $id: 2 } });
  });

  it('does not mutate its inputs', () => {
    const doc = deepFreeze({ _id: 1, a: { x: 1 }, arr: [1, { y: 2 }], b: 2 });
    const diff = deepFreeze({ d: { b: false }, sa: { u: { x: 2 } }, sarr: { a: true, l: 3, s1: { i: { z: 3 } } } });
    const out = applyDeltaV2(doc, diff);
    assertDoc(out, { _id: 1, a: { x: 2 }, arr: [1, { y: 2, z: 3 }, null] });
    assertDoc(doc, { _id: 1, a: { x: 1 }, arr: [1, { y: 2 }], b: 2 });
  });
});

describe('applyDeltaV2: array diffs', () => {
  const apply = (arr: unknown[], diff: Document): unknown => applyDeltaV2({ arr }, { sarr: diff }).arr;

  it('u<N> replaces an element', () => {
    assert.deepEqual(apply([1, 2, 3], { a: true, u1: 20 }), [1, 20, 3]);
  });

  it('l shrinks the array', () => {
    assert.deepEqual(apply([1, 2, 3, 4], { a: true, l: 2 }), [1, 2]);
    assert.deepEqual(apply([1, 2], { a: true, l: 0 }), []);
  });

  it('l grows the array with nulls', () => {
    assert.deepEqual(apply([1], { a: true, l: 3 }), [1, null, null]);
  });

  it('u<N> past the end pads with nulls', () => {
    assert.deepEqual(apply([1], { a: true, u3: 4 }), [1, null, null, 4]);
    assert.deepEqual(apply([], { a: true, u0: 'x' }), ['x']);
  });

  it('u<N> past the end with a larger l pads up to l', () => {
    assert.deepEqual(apply([1], { a: true, l: 5, u2: 7 }), [1, null, 7, null, null]);
  });

  it('shrinks and updates together', () => {
    assert.deepEqual(apply([1, 2, 3, 4], { a: true, l: 3, u0: 9, u2: 8 }), [9, 2, 8]);
  });

  it('accepts l as a non-promoted Int32', () => {
    assert.deepEqual(apply([1, 2, 3], { a: true, l: new Int32(1) }), [1]);
  });

  it('s<N> recurses into an element object', () => {
    const out = apply([{ x: 1 }, { x: 2, w: 0 }], { a: true, s1: { u: { x: 20 }, i: { y: 1 } } });
    assert.deepEqual(ordered(out), ordered([{ x: 1 }, { x: 20, w: 0, y: 1 }]));
  });

  it('s<N> recurses into nested arrays', () => {
    assert.deepEqual(apply([[1, 2], [3]], { a: true, s0: { a: true, l: 1 }, s1: { a: true, u1: 4 } }), [[1], [3, 4]]);
  });

  it('s<N> past the end appends null (re-applied diff)', () => {
    assert.deepEqual(apply([{ x: 1 }], { a: true, s2: { u: { x: 2 } } }), [{ x: 1 }, null, null]);
  });

  it('s<N> of an element of another type sets it to null', () => {
    assert.deepEqual(apply([1, [2]], { a: true, s0: { u: { x: 2 } }, s1: { u: { x: 2 } } }), [null, null]);
  });

  it('handles objects in arrays in objects in arrays', () => {
    const doc = { _id: 1, items: [{ tags: ['a'], n: { v: 1 } }, { tags: [] }] };
    const diff = { sitems: { a: true, s0: { stags: { a: true, u1: 'b' }, sn: { u: { v: 2 } } }, s1: { i: { n: { v: 9 } } } } };
    assertDoc(applyDeltaV2(doc, diff), { _id: 1, items: [{ tags: ['a', 'b'], n: { v: 2 } }, { tags: [], n: { v: 9 } }] });
  });
});

describe('applyDeltaV2: diffs as MongoDB 5.0+ logs them', () => {
  // Shapes of `o.diff` written by the server's update system for common operators, per
  // mongo/src/mongo/db/update/document_diff_serialization.h (sections d/u/i/s<field>, array
  // diffs with a: true, l, u<N>, s<N>) and its jstests/replsets/v2_delta_oplog_entries.js.

  it('$set of an existing field: { u: { field: value } }', () => {
    assertDoc(applyDeltaV2({ _id: 1, qty: 5, item: 'x' }, { u: { qty: 6 } }), { _id: 1, qty: 6, item: 'x' });
  });

  it('$set of a new sub-field: { s<parent>: { i: { field: value } } }', () => {
    const out = applyDeltaV2({ _id: 1, size: { h: 14, w: 21 } }, { ssize: { i: { uom: 'cm' } } });
    assertDoc(out, { _id: 1, size: { h: 14, w: 21, uom: 'cm' } });
  });

  it('$unset: { d: { field: false } }', () => {
    assertDoc(applyDeltaV2({ _id: 1, a: 1, b: 2 }, { d: { a: false } }), { _id: 1, b: 2 });
  });

  it('$push: { s<array>: { a: true, u<end>: value } }', () => {
    const diff = { sscores: { a: true, u2: 89 } };
    const once = applyDeltaV2({ _id: 1, scores: [44, 78] }, diff);
    assertDoc(once, { _id: 1, scores: [44, 78, 89] });
    // Replayed over its own result (the restore window overlaps the base), it changes nothing.
    assertDoc(applyDeltaV2(once, diff), once);
  });

  it('an array that got shorter: { s<array>: { a: true, l: n, u<i>... } }', () => {
    // The shape the diff calculator writes (pipeline updates): changed elements, then the cut.
    assertDoc(applyDeltaV2({ _id: 1, s: [44, 78, 90] }, { ss: { a: true, l: 2, u1: 90 } }), { _id: 1, s: [44, 90] });
  });

  it('$inc inside an array element: { s<array>: { a: true, s<i>: { u: { f: v } } } }', () => {
    const doc = { _id: 1, grades: [{ g: 80, mean: 75 }, { g: 85, mean: 90 }] };
    const out = applyDeltaV2(doc, { sgrades: { a: true, s1: { u: { g: 86 } } } });
    assertDoc(out, { _id: 1, grades: [{ g: 80, mean: 75 }, { g: 86, mean: 90 }] });
  });
});

describe('applyDeltaV2: malformed diffs', () => {
  it('rejects an unknown section, naming it', () => {
    assert.throws(() => applyDeltaV2({ a: 1 }, { x: { a: 1 } }), malformed('"x"'));
    // A binary-diff section ("b") is not a format this applier knows.
    assert.throws(() => applyDeltaV2({ a: 1 }, { b: { a: 1 } }), malformed('"b"'));
  });

  it('rejects a d/u/i section that is not an object', () => {
    assert.throws(() => applyDeltaV2({ a: 1 }, { u: 5 }), malformed('"u"'));
    assert.throws(() => applyDeltaV2({ a: 1 }, { d: ['a'] }), malformed('"d"'));
  });

  it('rejects a sub-diff that is not an object, naming the path', () => {
    assert.throws(() => applyDeltaV2({ a: { b: 1 } }, { sa: { sb: 3 } }), malformed('a.b'));
  });

  it('rejects a field named in two sections', () => {
    assert.throws(() => applyDeltaV2({ a: 1 }, { u: { a: 2 }, i: { a: 3 } }), malformed('"a"'));
    assert.throws(() => applyDeltaV2({ a: { b: 1 } }, { d: { a: false }, sa: { u: { b: 2 } } }), malformed('"a"'));
  });

  it('rejects array diffs without a: true', () => {
    assert.throws(() => applyDeltaV2({ arr: [1] }, { sarr: { a: false, u0: 1 } }), malformed('arr'));
  });

  it('rejects unknown array diff fields and bad lengths', () => {
    assert.throws(() => applyDeltaV2({ arr: [1] }, { sarr: { a: true, x0: 1 } }), malformed('"x0"'));
    assert.throws(() => applyDeltaV2({ arr: [1] }, { sarr: { a: true, u: 1 } }), malformed('"u"'));
    assert.throws(() => applyDeltaV2({ arr: [1] }, { sarr: { a: true, l: -1 } }), malformed('"l"'));
    assert.throws(() => applyDeltaV2({ arr: [1] }, { sarr: { a: true, l: 1.5 } }), malformed('"l"'));
    assert.throws(() => applyDeltaV2({ arr: [1] }, { sarr: { a: true, l: 'x' } }), malformed('"l"'));
  });

  it('rejects array modifications out of index order', () => {
    assert.throws(() => applyDeltaV2({ arr: [1, 2, 3] }, { sarr: { a: true, u2: 1, u1: 1 } }), malformed('"u1"'));
  });

  it('rejects an array index past the maximum document size', () => {
    assert.throws(() => applyDeltaV2({ arr: [] }, { sarr: { a: true, u99999999: 1 } }), malformed('too large'));
  });

  it('rejects an array sub-diff that is not an object', () => {
    assert.throws(() => applyDeltaV2({ arr: [{}] }, { sarr: { a: true, s0: 1 } }), malformed('arr.0'));
  });
});
