// `$v: 2` oplog updates ("delta" updates, MongoDB 5.0+): the `o` of such a `u` entry is
// `{ $v: 2, diff: <object diff> }`. This file applies a diff to a document, purely. Both are
// OrderedDocs (ordered-document.ts): field order is part of the result, and a diff's sections
// and fields are read in their BSON order, as the server reads them.
//
// Source of truth, mongodb/mongo (8.x, the version with the binary section):
//   src/mongo/db/update/document_diff_serialization.{h,cpp} (the format and its reader),
//   src/mongo/db/update/document_diff_applier.cpp (how a node applies it),
//   src/mongo/db/update/document_diff_applier_test.cpp (the cases; test/unit/target/ ports them).
// The format:
//   object diff  { d: {f: false}, u: {f: v}, i: {f: v}, b: {f: {o, d}}, s<f>: <diff>, ... }
//                sections in exactly that order, each at most once, sub-diffs last; never empty
//   array diff   { a: true, l: <int32 new length>?, u<N>: v | s<N>: <diff>, ... }
// How the server applies an object diff (and so how field ORDER comes out):
//   - one pass over the pre-image in its own order: a field named in `d` is dropped; in `u`,
//     replaced IN PLACE by the diff's element (its type included: int 3 → long 3 is a `u`); in
//     `i`, dropped from its place (it is re-added at the end); in `b`, its binary rewritten in
//     place (below); with a sub-diff, recursed into, or set to null when its type no longer
//     matches (a re-applied diff: a later op changed the type); any other field is copied;
//   - then, at the end, the `u` fields the pre-image did not have (a re-applied diff) in `u`
//     order, then every `i` field in `i` order;
//   - a sub-diff, delete or binary diff of a field the pre-image lacks does nothing.
//   Inserts always check for an existing field here: the server skips that check only on a
//   steady-state secondary applying a time-series bucket update (oplog.cpp, DiffOptions); a
//   replay over a fuzzy base is the idempotent case, where the check is on.
// Binary section (8.0+, compressed time-series buckets, bucket_catalog/write_batch and
// timeseries_write_util.cpp makeBSONColumnDocDiff): `{o: offset, d: BinData}` keeps the first
// `o` bytes of the field's binary, appends `d`, and keeps the field's subtype; an offset past
// the current length is a re-applied diff (a later op shrank it) and changes nothing.
// Array diffs: walk the pre-image up to `l`; `u<N>` replaces element N, `s<N>` recurses (null on
// a type mismatch); then keep emitting while short of `l` or modifications remain: `u<N>`
// appends, `s<N>` past the end appends null, gaps are null.
import { Binary, DBRef, Double, Int32, Long } from 'mongodb';
import type { Document } from 'mongodb';
import { TargetError } from '../errors.ts';
import { hadRepeatedField, type OrderedDoc } from '../ordered-document.ts';

/** The server refuses array indexes at or past the maximum document size (16 MiB). */
const MAX_ARRAY_INDEX = 16 * 1024 * 1024;

/** Applies a `$v: 2` diff (the `diff` field of the entry's `o`); returns a new document. */
export function applyDeltaV2(doc: OrderedDoc, diff: OrderedDoc): OrderedDoc {
  return applyObjectDiff(doc, diff, '');
}

/**
 * True for a BSON embedded document as the driver decodes it: a plain object. ObjectId, Long,
 * Binary, Date, RegExp... are class instances; DBRef is one too but is a document in BSON, so
 * callers convert it with `asSubDocument` first.
 */
export function isSubDocument(value: unknown): value is Document {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The embedded document a value stands for, or undefined: plain objects, and DBRefs. */
export function asSubDocument(value: unknown): Document | undefined {
  if (value instanceof DBRef) return value.toJSON();
  return isSubDocument(value) ? value : undefined;
}

/** A BSON number as a JS number (int32/int64/double, promoted or not), else undefined. */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (value instanceof Long) return value.toNumber();
  return undefined;
}

type FieldAction =
  | { kind: 'delete' }
  | { kind: 'update'; value: unknown }
  | { kind: 'insert' }
  | { kind: 'binary'; offset: number; data: Uint8Array }
  | { kind: 'subDiff'; diff: OrderedDoc };

interface ObjectDiffTables {
  readonly actions: Map<string, FieldAction>;
  /** `u` then `i` values, appended at the end unless an update found its field in place. */
  readonly appends: ReadonlyArray<readonly [string, unknown]>;
}

function applyObjectDiff(pre: OrderedDoc, diff: OrderedDoc, path: string): OrderedDoc {
  const { actions, appends } = readObjectDiff(diff, path);
  const out: OrderedDoc = new Map();
  for (const [name, value] of pre) {
    const action = actions.get(name);
    if (action === undefined) {
      out.set(name, value);
    } else if (action.kind === 'update') {
      out.set(name, action.value);
    } else if (action.kind === 'binary') {
      out.set(name, applyBinaryDiff(value, action, join(path, name)));
    } else if (action.kind === 'subDiff') {
      out.set(name, applySubDiff(value, action.diff, join(path, name)));
    }
    // delete: dropped; insert: dropped here, re-added at the end.
  }
  for (const [name, value] of appends) {
    // An update that found its field has set it in place; an insert's field was dropped above.
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

/** A sub-diff applied to a pre-image value; null when the types disagree (as the server does). */
function applySubDiff(value: unknown, diff: OrderedDoc, path: string): unknown {
  if (isArrayDiff(diff)) {
    return Array.isArray(value) ? applyArrayDiff(value, diff, path) : null;
  }
  return value instanceof Map ? applyObjectDiff(value as OrderedDoc, diff, path) : null;
}

function applyBinaryDiff(value: unknown, diff: { offset: number; data: Uint8Array }, path: string): unknown {
  if (!(value instanceof Binary)) {
    // The server reads the field as binary data unchecked (BSONElement::binData) and fails.
    throw malformed(path, 'binary diff of a field that is not binary data');
  }
  const current = value.value();
  if (diff.offset > current.length) return value;
  const next = new Uint8Array(diff.offset + diff.data.length);
  next.set(current.subarray(0, diff.offset), 0);
  next.set(diff.data, diff.offset);
  return new Binary(next, value.sub_type);
}

/** A sub-diff is an array diff when its first field is `a` (serialization.cpp identifyType). */
function isArrayDiff(diff: OrderedDoc): boolean {
  return diff.keys().next().value === 'a';
}

/** Section order (DocumentDiffReader): each section once, in this order, sub-diffs last. */
const SECTION_ORDER: Readonly<Record<string, number>> = { d: 1, u: 2, i: 3, b: 4, s: 5 };

function readObjectDiff(diff: OrderedDoc, path: string): ObjectDiffTables {
  if (diff.size === 0) throw malformed(path, 'the diff is empty');
  if (hadRepeatedField(diff)) throw malformed(path, 'duplicate section or sub-diff in the diff');
  const actions = new Map<string, FieldAction>();
  const updates: Array<[string, unknown]> = [];
  const inserts: Array<[string, unknown]> = [];
  // A field may appear in one section only (applier safeInsert, error 4728000).
  const claim = (name: string, action: FieldAction): void => {
    if (actions.has(name)) throw malformed(path, `duplicate field name "${name}" in the diff`);
    actions.set(name, action);
  };
  let previous = 0;
  for (const [key, section] of diff) {
    // "s<name>" is the sub-diff of <name>; a bare "s" is the sub-diff of the field named "".
    const isSubDiff = key.startsWith('s');
    const order = isSubDiff ? SECTION_ORDER.s : key.length === 1 ? SECTION_ORDER[key] : undefined;
    if (order === undefined || (isSubDiff ? order < previous : order <= previous)) {
      throw malformed(path, `unexpected section "${key}"`);
    }
    if (!(section instanceof Map)) throw malformed(join(path, isSubDiff ? key.slice(1) : ''), `section "${key}" is not an object`);
    previous = order;
    const fields = section as OrderedDoc;
    if (hadRepeatedField(fields)) throw malformed(path, `duplicate field name in section "${key}"`);
    if (isSubDiff) {
      if (fields.size === 0) throw malformed(join(path, key.slice(1)), `sub-diff "${key}" is empty`);
      claim(key.slice(1), { kind: 'subDiff', diff: fields });
    } else {
      for (const [name, value] of fields) {
        if (key === 'd') claim(name, { kind: 'delete' });
        else if (key === 'u') (claim(name, { kind: 'update', value }), updates.push([name, value]));
        else if (key === 'i') (claim(name, { kind: 'insert' }), inserts.push([name, value]));
        else claim(name, readBinaryDiff(value, join(path, name)));
      }
    }
  }
  return { actions, appends: [...updates, ...inserts] };
}

function readBinaryDiff(value: unknown, path: string): FieldAction {
  if (!(value instanceof Map)) throw malformed(path, 'binary diff is not an object');
  // getIntField: a number, truncated to an int; anything else reads as INT_MIN (negative).
  const offset = numberOf(value.get('o'));
  if (offset === undefined || Math.trunc(offset) < 0) throw malformed(path, 'binary diff offset must be non-negative');
  const data: unknown = value.get('d');
  if (!(data instanceof Binary)) throw malformed(path, 'binary diff "d" is not binary data');
  return { kind: 'binary', offset: Math.trunc(offset), data: data.value() };
}

type ArrayModification = { index: number; update: unknown } | { index: number; subDiff: OrderedDoc };

function applyArrayDiff(pre: readonly unknown[], diff: OrderedDoc, path: string): unknown[] {
  const { newLength, modifications } = readArrayDiff(diff, path);
  const out: unknown[] = [];
  let next = 0;
  let index = 0;
  for (; index < pre.length && (newLength === undefined || index < newLength); index++) {
    const mod = modifications[next];
    if (mod !== undefined && mod.index === index) {
      out.push('update' in mod ? mod.update : applySubDiff(pre[index], mod.subDiff, join(path, String(index))));
      next++;
    } else {
      out.push(pre[index]);
    }
  }
  // Past the pre-image (or past `l`): pad with null up to `l` and up to the last modification.
  for (; (newLength !== undefined && index < newLength) || next < modifications.length; index++) {
    const mod = modifications[next];
    if (mod !== undefined && mod.index === index) {
      // A sub-diff of an element that is not there: a re-applied diff, the server appends null.
      out.push('update' in mod ? mod.update : null);
      next++;
    } else {
      out.push(null);
    }
  }
  // The server asserts the walk ended at `l` (error 12495901): a modification past `l` is malformed.
  if (newLength !== undefined && out.length !== newLength) throw malformed(path, 'array diff modifies an index past its length "l"');
  return out;
}

function readArrayDiff(diff: OrderedDoc, path: string): { newLength?: number; modifications: ArrayModification[] } {
  const fields = [...diff];
  const [header, second] = fields;
  if (header?.[0] !== 'a' || header[1] !== true) throw malformed(path, 'array diff header "a" is not true');
  const modifications: ArrayModification[] = [];
  let newLength: number | undefined;
  let first = 1;
  if (second?.[0] === 'l') {
    // ArrayDiffReader: `l` directly after the header, and an int32 (a Long or Double is refused;
    // a JS integer, from an entry built in code, is what the driver writes as an int32).
    const length = second[1];
    const value = length instanceof Int32 ? length.value : Number.isInteger(length) ? (length as number) : undefined;
    if (value === undefined || value < 0 || value > MAX_ARRAY_INDEX) throw malformed(path, 'array diff length "l" is not a valid size');
    newLength = value;
    first = 2;
  }
  for (const [key, value] of fields.slice(first)) {
    const match = /^([us])(\d+)$/.exec(key);
    if (match === null) throw malformed(path, `unknown array diff field "${key}"`);
    const index = Number(match[2]);
    if (index >= MAX_ARRAY_INDEX) throw malformed(path, `array index in "${key}" is too large`);
    const previous = modifications.at(-1);
    // The applier walks the array once, so indexes must rise (the server writes them so; out of
    // order, its walk would never reach the later index).
    if (previous !== undefined && previous.index >= index) {
      throw malformed(path, `array diff field "${key}" is out of order`);
    }
    if (match[1] === 'u') {
      modifications.push({ index, update: value });
    } else {
      if (!(value instanceof Map) || value.size === 0) throw malformed(join(path, String(index)), `sub-diff "${key}" is not an object`);
      modifications.push({ index, subDiff: value as OrderedDoc });
    }
  }
  return newLength === undefined ? { modifications } : { newLength, modifications };
}

function join(path: string, name: string): string {
  if (name === '') return path;
  return path === '' ? name : `${path}.${name}`;
}

function malformed(path: string, detail: string): TargetError {
  return new TargetError(`malformed $v:2 update diff at ${path === '' ? '(root)' : `"${path}"`}: ${detail}`, {
    hint: 'the oplog entry is not a diff this tool understands; check the source server version',
  });
}
