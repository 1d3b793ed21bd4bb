// Where a collection dumped in pieces resumes (src/source/resume-bound.ts), on _ids of mixed
// types in BSON order. The server is modelled from its own rules, since FerretDB ignores both
// `hint` and `min`:
//   - the _id index holds every _id in BSON comparison order: canonical type first, then value
//     (mongodb/mongo src/mongo/bson/bsontypes.cpp canonicalizeBSONType, src/mongo/bson/bsonobj.cpp
//     woCompare; docs "Comparison/Sort Order");
//   - `min` is an inclusive lower bound on the hinted index's keys, whatever their type
//     (src/mongo/db/query/find_command.idl: min/max, which need a hint);
//   - a comparison operator ($gt) matches only values of its operand's canonical type ("type
//     bracketing", docs "Comparison Query Operators"), so {_id: {$gt: 5}} never matches "a".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON, type Document, type FindOptions } from 'mongodb';
import { compareBsonValues as compareBson } from '../../../src/bson-order.ts';
import { decodeBound, encodeBound, idOf, isPastBound, resumeFind, type ResumeFind } from '../../../src/source/resume-bound.ts';

/** _ids in ascending BSON order, one or more of each canonical type an _id can have. */
const IDS_IN_ORDER: unknown[] = [
  new BSON.MinKey(),
  null,
  new BSON.Double(Number.NaN),
  new BSON.Int32(-7),
  new BSON.Double(2.5),
  BSON.Long.fromNumber(3),
  new BSON.Int32(40),
  '',
  'a',
  'ab',
  'b',
  '\u00e9',
  { a: 1 },
  { a: 1, b: 1 },
  // Field by field, the value's type decides before the field's name does: {b: <number>} sorts
  // before {a: <string>} (bsonelement.cpp woCompare: canonical type, then field name, then value).
  { b: 0 },
  { a: 'x' },
  new BSON.Binary(Buffer.from([9]), 0),
  new BSON.Binary(Buffer.from([1, 2]), 0),
  new BSON.ObjectId('000000000000000000000001'),
  new BSON.ObjectId('650000000000000000000000'),
  false,
  true,
  new Date(-1),
  new Date(1_700_000_000_000),
  new BSON.Timestamp({ t: 5, i: 1 }),
  new BSON.Timestamp({ t: 5, i: 2 }),
  new BSON.MaxKey(),
];

/** The canonical type an operand brackets to: numbers together, every other rank alone. */
function bracket(value: unknown): number {
  return IDS_IN_ORDER.findIndex((known) => sameBracket(known, value));
}

function sameBracket(a: unknown, b: unknown): boolean {
  const numeric = (value: unknown): boolean => ['Int32', 'Double', 'Long'].includes((value as { _bsontype?: string } | null)?._bsontype ?? '');
  if (numeric(a) || numeric(b)) return numeric(a) && numeric(b);
  const kind = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : value instanceof Date ? 'date' : typeof value === 'object' ? ((value as { _bsontype?: string })._bsontype ?? 'object') : typeof value);
  return kind(a) === kind(b);
}

/**
 * The model server: the collection's _ids as a hinted _id-index scan returns them for `find`,
 * then the client-side skip the dump applies (dump-collection.ts).
 */
function resumeWith(find: ResumeFind, after: unknown): unknown[] {
  const options: FindOptions & { min?: Document } = find.options;
  assert.deepEqual(options.hint, { _id: 1 }, 'min is an index bound: the scan must be hinted to the _id index');
  let scanned = [...IDS_IN_ORDER].sort(compareBson);
  if (options.min !== undefined) scanned = scanned.filter((id) => compareBson(id, options.min?._id) >= 0);
  const gt = (find.filter._id as { $gt?: unknown } | undefined)?.$gt;
  if (gt !== undefined) scanned = scanned.filter((id) => bracket(id) === bracket(gt) && compareBson(id, gt) > 0);
  return scanned.filter((id) => isPastBound(id, after));
}

describe('BSON order (bson-order.ts)', () => {
  it('sorts _ids of every type as the _id index holds them', () => {
    const reversed = [...IDS_IN_ORDER].reverse();
    const interleaved = reversed.filter((_, i) => i % 2 === 0).concat(reversed.filter((_, i) => i % 2 === 1));
    assert.deepEqual([...reversed].sort(compareBson), IDS_IN_ORDER);
    assert.deepEqual([...interleaved].sort(compareBson), IDS_IN_ORDER);
  });

  it('compares numbers by value across Int32, Long and Double, and strings by bytes', () => {
    assert.equal(compareBson(new BSON.Int32(3), BSON.Long.fromNumber(3)), 0);
    assert.equal(compareBson(new BSON.Double(3), new BSON.Int32(3)), 0);
    assert.ok(compareBson(new BSON.Int32(40), 'a') < 0, 'every number sorts before every string');
    assert.ok(compareBson('Z', 'a') < 0, 'simple collation: bytes, so upper case first');
  });
});

describe('resume bound (source/resume-bound.ts)', () => {
  it('resumes after every _id with exactly the documents after it, whatever their type', () => {
    for (const [index, last] of IDS_IN_ORDER.entries()) {
      assert.deepEqual(resumeWith(resumeFind(last), last), IDS_IN_ORDER.slice(index + 1), `after ${String(last)}`);
    }
  });

  it('a number bound still returns the string, object and ObjectId _ids after it (a $gt filter would not)', () => {
    const last = new BSON.Int32(40);
    const resumed = resumeWith(resumeFind(last), last);
    assert.ok(resumed.includes('a') && resumed.some((id) => id instanceof BSON.ObjectId));
    // The choice the resume must not make, shown failing in the same model:
    const typeBracketed = resumeWith({ filter: { _id: { $gt: last } }, options: { sort: { _id: 1 }, hint: { _id: 1 } } }, last);
    assert.deepEqual(typeBracketed, []);
  });

  it('starts from the first document with no bound, in _id order', () => {
    assert.deepEqual(resumeWith(resumeFind(undefined), undefined), IDS_IN_ORDER);
    assert.deepEqual(resumeFind(undefined).options.sort, { _id: 1 });
  });

  it('skips every document up to the bound where the server ignores min (FerretDB)', () => {
    const last = 'ab';
    const scanned = [...IDS_IN_ORDER].sort(compareBson);
    assert.deepEqual(scanned.filter((id) => isPastBound(id, last)), IDS_IN_ORDER.slice(IDS_IN_ORDER.indexOf('ab') + 1));
  });

  it('keeps a bound exact through the manifest: Int32, Long, Double and ObjectId stay what they were', () => {
    for (const id of [new BSON.Int32(3), BSON.Long.fromNumber(3), new BSON.Double(3), new BSON.ObjectId(), 'x', { a: new BSON.Int32(1) }]) {
      const decoded = decodeBound(encodeBound(id));
      assert.deepEqual(Buffer.from(BSON.serialize({ _id: decoded })), Buffer.from(BSON.serialize({ _id: id })));
      assert.equal(compareBson(decoded, id), 0);
    }
    const raw = BSON.serialize({ _id: new BSON.Int32(7), v: 'x' });
    assert.deepEqual(Buffer.from(BSON.serialize({ _id: idOf(raw) })), Buffer.from(BSON.serialize({ _id: new BSON.Int32(7) })));
  });
});
