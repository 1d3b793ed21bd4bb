// `$v: 2` oplog updates ("delta" updates, MongoDB 5.0+): the `o` of such a `u` entry is
// `{ $v: 2, diff: <object diff> }`. This file applies a diff to a decoded document, purely.
//
// Source of truth: mongo/src/mongo/db/update/document_diff_serialization.h (the format) and
// document_diff_applier.cpp (how a node applies it). The format, as the server writes it:
//   object diff  { d: {f: false, ...}, u: {f: v, ...}, i: {f: v, ...}, s<f>: <diff>, ... }
//   array diff   { a: true, l: <new length>?, u<N>: v, s<N>: <diff>, ... }   (N increasing)
// How the server applies an object diff (and so how field ORDER comes out):
//   - one pass over the pre-image in its own order: a field named in `d` is dropped; a field
//     named in `u` is replaced IN PLACE; a field named in `i` is dropped from its place (it is
//     re-added at the end); a field with a sub-diff is recursed into, or set to null when its
//     type no longer matches the diff (the diff is being re-applied and a later op changed the
//     type); any other field is copied;
//   - then, at the end, the `u` fields the pre-image did not have (a re-applied diff) in `u`
//     order, then every `i` field in `i` order.
//   - a sub-diff or delete of a field the pre-image lacks does nothing.
// How it applies an array diff: walk the pre-image up to `l`; `u<N>` replaces element N, `s<N>`
// recurses (null on a type mismatch); then keep emitting while the length is short of `l` or
// modifications remain: `u<N>` appends, `s<N>` past the end appends null, gaps are null.
//
// Values are opaque: a diff's values are copied as given (so BSON types survive when the caller
// decoded with `promoteValues: false`). Note a js-bson limit every Node tool shares: a decoded
// document enumerates integer-like field names ("0", "12") first, whatever their BSON order.
import { DBRef, Double, Int32, Long } from 'mongodb';
import type { Document } from 'mongodb';
import { TargetError } from '../errors.ts';

/** The server refuses array indexes at or past the maximum document size (16 MiB). */
const MAX_ARRAY_INDEX = 16 * 1024 * 1024;

/** Applies a `$v: 2` diff (the `diff` field of the entry's `o`); returns a new document. */
export function applyDeltaV2(doc: Document, diff: Document): Document {
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

/** Sets an own enumerable field, also for the name "__proto__" (which `=` would not create). */
export function setField(target: Document, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[name] = value;
  }
}

type FieldAction =
  | { kind: 'delete' }
  | { kind: 'update'; value: unknown }
  | { kind: 'insert' }
  | { kind: 'subDiff'; diff: Document };

interface ObjectDiffTables {
  readonly actions: Map<string, FieldAction>;
  /** `u` then `i` values, appended at the end unless an update found its field in place. */
  readonly appends: ReadonlyArray<readonly [string, unknown]>;
}

function applyObjectDiff(pre: Document, diff: Document, path: string): Document {
  const { actions, appends } = readObjectDiff(diff, path);
  const out: Document = {};
  const updatedInPlace = new Set<string>();
  for (const [name, value] of Object.entries(pre)) {
    const action = actions.get(name);
    if (action === undefined) {
      setField(out, name, value);
    } else if (action.kind === 'update') {
      setField(out, name, action.value);
      updatedInPlace.add(name);
    } else if (action.kind === 'subDiff') {
      setField(out, name, applySubDiff(value, action.diff, join(path, name)));
    }
    // delete: dropped; insert: dropped here, re-added at the end.
  }
  for (const [name, value] of appends) {
    if (!updatedInPlace.has(name)) setField(out, name, value);
  }
  return out;
}

/** A sub-diff applied to a pre-image value; null when the types disagree (as the server does). */
function applySubDiff(value: unknown, diff: Document, path: string): unknown {
  if (isArrayDiff(diff)) {
    return Array.isArray(value) ? applyArrayDiff(value, diff, path) : null;
  }
  const sub = asSubDocument(value);
  return sub === undefined ? null : applyObjectDiff(sub, diff, path);
}

function isArrayDiff(diff: Document): boolean {
  return Object.hasOwn(diff, 'a');
}

function readObjectDiff(diff: Document, path: string): ObjectDiffTables {
  const actions = new Map<string, FieldAction>();
  const updates: Array<[string, unknown]> = [];
  const inserts: Array<[string, unknown]> = [];
  const claim = (name: string, action: FieldAction): void => {
    const previous = actions.get(name);
    // The server never names a field twice; delete-then-insert is the one pairing with a single
    // reading (the insert moves the field to the end), so it is accepted. Others are malformed.
    if (previous !== undefined && !(previous.kind === 'delete' && action.kind === 'insert')) {
      throw malformed(path, `field "${name}" appears in two diff sections`);
    }
    actions.set(name, action);
  };
  const sections = Object.entries(diff);
  for (const [key] of sections) {
    if (key !== 'd' && key !== 'u' && key !== 'i' && !key.startsWith('s')) {
      throw malformed(path, `unknown diff section "${key}"`);
    }
  }
  // Sections are read in the server's order (d, u, i, then sub-diffs) whatever their BSON order.
  for (const name of Object.keys(sectionOf(diff, 'd', path))) claim(name, { kind: 'delete' });
  for (const [name, value] of Object.entries(sectionOf(diff, 'u', path))) {
    claim(name, { kind: 'update', value });
    updates.push([name, value]);
  }
  for (const [name, value] of Object.entries(sectionOf(diff, 'i', path))) {
    claim(name, { kind: 'insert' });
    inserts.push([name, value]);
  }
  for (const [key, sub] of sections) {
    if (!key.startsWith('s')) continue;
    const name = key.slice(1);
    if (!isSubDocument(sub)) throw malformed(join(path, name), `sub-diff "${key}" is not an object`);
    claim(name, { kind: 'subDiff', diff: sub });
  }
  return { actions, appends: [...updates, ...inserts] };
}

function sectionOf(diff: Document, key: 'd' | 'u' | 'i', path: string): Document {
  if (!Object.hasOwn(diff, key)) return {};
  const section: unknown = diff[key];
  if (!isSubDocument(section)) throw malformed(path, `diff section "${key}" is not an object`);
  return section;
}

type ArrayModification = { index: number; update: unknown } | { index: number; subDiff: Document };

function applyArrayDiff(pre: readonly unknown[], diff: Document, path: string): unknown[] {
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
  return out;
}

function readArrayDiff(diff: Document, path: string): { newLength?: number; modifications: ArrayModification[] } {
  if (diff.a !== true) throw malformed(path, 'array diff marker "a" is not true');
  const modifications: ArrayModification[] = [];
  let newLength: number | undefined;
  for (const [key, value] of Object.entries(diff)) {
    if (key === 'a') continue;
    if (key === 'l') {
      newLength = numberOf(value);
      if (newLength === undefined || !Number.isInteger(newLength) || newLength < 0 || newLength > MAX_ARRAY_INDEX) {
        throw malformed(path, 'array diff length "l" is not a valid size');
      }
      continue;
    }
    const match = /^([us])(\d+)$/.exec(key);
    if (match === null) throw malformed(path, `unknown array diff field "${key}"`);
    const index = Number(match[2]);
    if (index >= MAX_ARRAY_INDEX) throw malformed(path, `array index in "${key}" is too large`);
    const previous = modifications.at(-1);
    // The applier walks the array once, so indexes must rise (the server writes them so).
    if (previous !== undefined && previous.index >= index) {
      throw malformed(path, `array diff field "${key}" is out of order`);
    }
    if (match[1] === 'u') {
      modifications.push({ index, update: value });
    } else {
      if (!isSubDocument(value)) throw malformed(join(path, String(index)), `sub-diff "${key}" is not an object`);
      modifications.push({ index, subDiff: value });
    }
  }
  return newLength === undefined ? { modifications } : { newLength, modifications };
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function malformed(path: string, detail: string): TargetError {
  return new TargetError(`malformed $v:2 update diff at ${path === '' ? '(root)' : `"${path}"`}: ${detail}`, {
    hint: 'the oplog entry is not a diff this tool understands; check the source server version',
  });
}
