import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Int32, ObjectId, Timestamp } from 'mongodb';
import type { Document } from 'mongodb';
import { TargetError } from '../../../src/errors.ts';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { applyModifiersV1 as applyOrdered, applyUpdate as applyUpdateOrdered, classifyUpdate } from '../../../src/target/modifiers-v1.ts';
import { toOrdered, type OrderedDoc } from '../../../src/ordered-document.ts';

// The appliers work on OrderedDocs (src/ordered-document.ts); these cases are written as objects.
const applyModifiersV1 = (doc: Document, update: Document): OrderedDoc => applyOrdered(toOrdered(doc), toOrdered(update));
const applyUpdate = (doc: Document | null, entry: OplogEntry): OrderedDoc | null =>
  applyUpdateOrdered(doc === null ? null : toOrdered(doc), entry);
import { assertDoc, deepFreeze } from '../../support/ordered-document.ts';

function updateEntry(o: Document, id: unknown = 1): OplogEntry {
  return { ts: new Timestamp({ t: 1700000000, i: 1 }), op: 'u', ns: 'db.c', o, o2: { _id: id } };
}

describe('applyModifiersV1: $set', () => {
  it('replaces an existing field in place', () => {
    assertDoc(applyModifiersV1({ _id: 1, a: 1, b: 2 }, { $v: 1, $set: { a: 10 } }), { _id: 1, a: 10, b: 2 });
  });

  it('appends new fields in sorted order, whatever the $set order', () => {
    // The server applies an update's paths as a sorted tree (update_object_node.cpp).
    assertDoc(applyModifiersV1({ _id: 1, m: 0 }, { $set: { z: 1, b: 2, a: 3 } }), { _id: 1, m: 0, a: 3, b: 2, z: 1 });
  });

  it('sets a dotted path inside existing documents', () => {
    const doc = { _id: 1, a: { b: { c: 1, d: 2 }, e: 3 } };
    assertDoc(applyModifiersV1(doc, { $set: { 'a.b.c': 10, 'a.b.x': 5 } }), { _id: 1, a: { b: { c: 10, d: 2, x: 5 }, e: 3 } });
  });

  it('creates missing intermediates as embedded documents', () => {
    assertDoc(applyModifiersV1({ _id: 1 }, { $set: { 'a.b.c': 1 } }), { _id: 1, a: { b: { c: 1 } } });
    assertDoc(applyModifiersV1({ _id: 1, a: {} }, { $set: { 'a.b.c': 1 } }), { _id: 1, a: { b: { c: 1 } } });
  });

  it('creates a document, not an array, for a numeric component of a missing path', () => {
    assertDoc(applyModifiersV1({ _id: 1 }, { $set: { 'a.0': 'x', 'b.2.c': 1 } }), { _id: 1, a: { 0: 'x' }, b: { 2: { c: 1 } } });
  });

  it('indexes into an existing array', () => {
    assertDoc(applyModifiersV1({ _id: 1, a: [1, 2, 3] }, { $set: { 'a.1': 9 } }), { _id: 1, a: [1, 9, 3] });
  });

  it('pads an array with nulls when the index is past the end', () => {
    assertDoc(applyModifiersV1({ _id: 1, a: [1] }, { $set: { 'a.3': 4 } }), { _id: 1, a: [1, null, null, 4] });
  });

  it('sets a field inside an array element, creating the element past the end', () => {
    const doc = { _id: 1, a: [{ y: 1 }] };
    assertDoc(applyModifiersV1(doc, { $set: { 'a.0.x': 2, 'a.2.z': 3 } }), { _id: 1, a: [{ y: 1, x: 2 }, null, { z: 3 }] });
  });

  it('applies array indexes in numeric order', () => {
    assertDoc(applyModifiersV1({ _id: 1, a: [] }, { $set: { 'a.10': 'ten', 'a.2': 'two' } }), {
      _id: 1,
      a: [null, null, 'two', null, null, null, null, null, null, null, 'ten'],
    });
  });

  it('skips a path blocked by a scalar or by an array with a field name (not viable from the oplog)', () => {
    const doc = { _id: 1, s: 5, n: null, arr: [1, 2], ok: 1 };
    const out = applyModifiersV1(doc, { $set: { 's.x': 1, 'n.x': 1, 'arr.x': 1, 'arr.0.x': 1, ok: 2 } });
    assertDoc(out, { _id: 1, s: 5, n: null, arr: [1, 2], ok: 2 });
  });

  it('keeps BSON values by identity', () => {
    const oid = new ObjectId();
    const out = applyModifiersV1({ _id: 1 }, { $set: { 'a.b': oid } });
    assert.equal((out.get('a') as OrderedDoc).get('b'), oid);
  });
});

describe('applyModifiersV1: $unset', () => {
  it('removes a field', () => {
    assertDoc(applyModifiersV1({ _id: 1, a: 1, b: 2, c: 3 }, { $unset: { b: true } }), { _id: 1, a: 1, c: 3 });
  });

  it('removes a nested field, leaving the parent', () => {
    assertDoc(applyModifiersV1({ _id: 1, a: { b: 1, c: 2 } }, { $unset: { 'a.b': '' } }), { _id: 1, a: { c: 2 } });
  });

  it('sets an array element to null instead of removing it', () => {
    assertDoc(applyModifiersV1({ _id: 1, a: [1, 2, 3] }, { $unset: { 'a.1': 1 } }), { _id: 1, a: [1, null, 3] });
    assertDoc(applyModifiersV1({ _id: 1, a: [{ x: 1, y: 2 }] }, { $unset: { 'a.0.x': 1 } }), { _id: 1, a: [{ y: 2 }] });
  });

  it('ignores paths that are not there', () => {
    const doc = { _id: 1, a: [1], s: 'x', o: {} };
    assertDoc(applyModifiersV1(doc, { $unset: { nope: 1, 'a.5': 1, 'a.x': 1, 's.x': 1, 'o.x.y': 1 } }), doc);
  });
});

describe('applyModifiersV1: whole updates', () => {
  it('applies $set and $unset of one $v:1 entry together', () => {
    const doc = { _id: 1, a: { b: 1 }, c: 1 };
    assertDoc(applyModifiersV1(doc, { $v: 1, $set: { 'a.d': 2 }, $unset: { c: true, 'a.b': true } }), { _id: 1, a: { d: 2 } });
  });

  it('accepts a non-promoted $v', () => {
    assertDoc(applyModifiersV1({ _id: 1 }, { $v: new Int32(1), $set: { a: 1 } }), { _id: 1, a: 1 });
  });

  it('does not mutate its inputs and always returns a new document', () => {
    const doc = deepFreeze({ _id: 1, a: { b: [1, { c: 2 }] }, d: 1 });
    const update = deepFreeze({ $set: { 'a.b.1.c': 3, 'a.b.3': 4 }, $unset: { d: 1 } });
    assertDoc(applyModifiersV1(doc, update), { _id: 1, a: { b: [1, { c: 3 }, null, 4] } });
    const noop = applyModifiersV1(doc, { $unset: { zz: 1 } });
    assert.notEqual(noop, doc);
  });

  it('is idempotent: replaying the entry over its result changes nothing', () => {
    const update = { $v: 1, $set: { 'a.b': 1, 'c.2': 'x' }, $unset: { d: 1 } };
    const once = applyModifiersV1({ _id: 1, c: [], d: 1 }, update);
    assertDoc(applyModifiersV1(once, update), once);
  });

  it('rejects any other operator, naming it', () => {
    for (const operator of ['$inc', '$push', '$rename', 'plain']) {
      assert.throws(
        () => applyModifiersV1({ _id: 1 }, { $set: { a: 1 }, [operator]: { a: 1 } }),
        (error: unknown) => error instanceof TargetError && error.message.includes(`"${operator}"`),
      );
    }
  });

  it('rejects a $v other than 1 and a non-object operator argument', () => {
    assert.throws(() => applyModifiersV1({ _id: 1 }, { $v: 2, $set: { a: 1 } }), TargetError);
    assert.throws(() => applyModifiersV1({ _id: 1 }, { $set: 5 }), TargetError);
  });
});

describe('classifyUpdate', () => {
  it('a document without a leading $ field is a replacement', () => {
    assert.equal(classifyUpdate({ _id: 1, a: 1 }), 'replacement');
    assert.equal(classifyUpdate({}), 'replacement');
    // Since 5.0 a stored document may hold $-prefixed fields; it still starts with a plain one.
    assert.equal(classifyUpdate({ _id: 1, $price: 5 }), 'replacement');
  });

  it('modifiers with $v:1 or without $v are v1', () => {
    assert.equal(classifyUpdate({ $v: 1, $set: { a: 1 } }), 'v1');
    assert.equal(classifyUpdate({ $set: { a: 1 } }), 'v1');
    assert.equal(classifyUpdate({ $unset: { a: true } }), 'v1');
  });

  it('$v:2 is a delta', () => {
    assert.equal(classifyUpdate({ $v: 2, diff: { u: { a: 1 } } }), 'v2');
    assert.equal(classifyUpdate({ $v: new Int32(2), diff: {} }), 'v2');
  });

  it('rejects an unknown $v', () => {
    assert.throws(() => classifyUpdate({ $v: 3, diff: {} }), TargetError);
  });
});

describe('applyUpdate', () => {
  it('a replacement keeps the stored _id, first', () => {
    const oid = new ObjectId();
    const out = applyUpdate({ _id: oid, old: 1 }, updateEntry({ a: 1, _id: oid }, oid));
    assertDoc(out, { _id: oid, a: 1 });
    assert.equal(out?.get('_id'), oid);
  });

  it('a replacement of a missing document upserts it with the o2 _id', () => {
    assertDoc(applyUpdate(null, updateEntry({ a: 1 }, 'k')), { _id: 'k', a: 1 });
  });

  it('dispatches $v:1 and $v:2', () => {
    assertDoc(applyUpdate({ _id: 1, a: 1 }, updateEntry({ $v: 1, $set: { b: 2 } })), { _id: 1, a: 1, b: 2 });
    assertDoc(applyUpdate({ _id: 1, a: 1 }, updateEntry({ $v: 2, diff: { u: { a: 5 }, i: { c: 1 } } })), { _id: 1, a: 5, c: 1 });
  });

  it('a modifier update of a missing document returns null', () => {
    assert.equal(applyUpdate(null, updateEntry({ $v: 1, $set: { b: 2 } })), null);
    assert.equal(applyUpdate(null, updateEntry({ $v: 2, diff: { i: { b: 2 } } })), null);
  });

  it('rejects a $v:2 entry without a diff object', () => {
    assert.throws(() => applyUpdate({ _id: 1 }, updateEntry({ $v: 2 })), TargetError);
    assert.throws(() => applyUpdate({ _id: 1 }, updateEntry({ $v: 2, diff: 1 })), TargetError);
  });
});
