// Updates as the oplog logs them before `$v: 2`, and the dispatch over all three `u` shapes.
//
// Source of truth: mongo/src/mongo/db/update/ (update_object_node.cpp, modifier_node.cpp,
// path_support.cpp) and update_oplog_entry_serialization.cpp. MongoDB 3.6–4.4 log every
// modifier update as `{ $v: 1, $set: {...}, $unset: {...} }` (older servers omit `$v`): the
// primary has already turned $inc, $push, $rename... into the resulting `$set`/`$unset`, so those
// are the only operators a replay meets. 5.0+ log `{ $v: 2, diff }` (delta-v2.ts). A replacement
// is the whole new document.
//
// How the server applies `$set`/`$unset` from the oplog, mirrored here:
//   - all paths form one tree; fields the document has are changed in place, new fields are
//     appended to their parent in sorted order (numeric names numerically, others bytewise), so
//     paths are applied in that order;
//   - a missing intermediate is created as an embedded document, even for a numeric component;
//     a numeric component into an existing array indexes it, padding with null past the end;
//   - a path blocked by a scalar (or a non-numeric component into an array) is "not viable":
//     from the oplog that path is skipped, not an error (a later entry changed the type);
//   - `$unset` removes a field, sets an array element to null, and ignores missing paths.
import type { Document } from 'mongodb';
import { TargetError } from '../errors.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { orderedOf, type OrderedDoc } from '../ordered-document.ts';
import { applyDeltaV2, numberOf } from './delta-v2.ts';

export type UpdateKind = 'replacement' | 'v1' | 'v2';

/** The server refuses to pad an array by more than this many nulls (path_support.cpp). */
const MAX_ARRAY_PADDING = 1_500_000;

/**
 * The shape of a `u` entry's `o`. Like the server, decided by the FIRST field: a replacement
 * document may hold `$`-prefixed user fields (allowed since 5.0) but never starts with one,
 * while a modifier update always does (`$v`, or `$set`/`$unset` before 3.6).
 */
export function classifyUpdate(o: Document | OrderedDoc): UpdateKind {
  const first: unknown = o instanceof Map ? o.keys().next().value : Object.keys(o)[0];
  if (typeof first !== 'string' || !first.startsWith('$')) return 'replacement';
  const version: unknown = o instanceof Map ? o.get('$v') : (o as Document).$v;
  if (version === undefined) return 'v1';
  if (numberOf(version) === 1) return 'v1';
  if (numberOf(version) === 2) return 'v2';
  throw new TargetError(`unsupported update oplog version $v: ${String(version)}`, {
    hint: 'this tool replays $v 1 and 2 updates; check the source server version',
  });
}

/**
 * Applies one `u` entry to the document it targets. `doc` null means the document does not
 * exist: a replacement then upserts (the result is known without it), a modifier update
 * returns null (nothing to modify; the caller counts it as missing). Returns a new document.
 * The entry's `o` is read in field order (orderedOf: from its raw bytes when it has them).
 */
export function applyUpdate(doc: OrderedDoc | null, entry: OplogEntry): OrderedDoc | null {
  const o = orderedOf(entry.o);
  const kind = classifyUpdate(o);
  if (kind === 'replacement') return replaceDocument(doc, o, entry);
  if (doc === null) return null;
  if (kind === 'v1') return applyModifiersV1(doc, o);
  const diff = o.get('diff');
  if (!(diff instanceof Map)) throw new TargetError('malformed $v:2 update: "diff" is not an object');
  return applyDeltaV2(doc, diff as OrderedDoc);
}

/** Applies `{ $v?: 1, $set?, $unset? }`; any other operator is an error naming it. */
export function applyModifiersV1(doc: OrderedDoc, update: OrderedDoc): OrderedDoc {
  const leaves: Array<{ parts: string[]; set: boolean; value: unknown }> = [];
  for (const [operator, fields] of update) {
    if (operator === '$v') {
      if (numberOf(fields) !== 1) throw new TargetError(`$v:1 update has $v: ${String(fields)}`);
      continue;
    }
    if (operator !== '$set' && operator !== '$unset') {
      throw new TargetError(`unsupported operator "${operator}" in a $v:1 oplog update`, {
        hint: 'the oplog logs only $set and $unset for $v:1 updates; the entry is not from a MongoDB oplog',
      });
    }
    if (!(fields instanceof Map)) throw new TargetError(`${operator} of a $v:1 oplog update is not an object`);
    for (const [path, value] of fields as OrderedDoc) {
      leaves.push({ parts: path.split('.'), set: operator === '$set', value });
    }
  }
  leaves.sort((a, b) => comparePaths(a.parts, b.parts));
  let result: OrderedDoc = doc;
  for (const leaf of leaves) {
    const next = leaf.set ? setPath(result, leaf.parts, leaf.value) : unsetPath(result, leaf.parts);
    if (next !== NOT_VIABLE) result = next as OrderedDoc;
  }
  // Always a new document, even when every path was skipped.
  return result === doc ? new Map(doc) : result;
}

function replaceDocument(doc: OrderedDoc | null, o: OrderedDoc, entry: OplogEntry): OrderedDoc {
  // `_id` is immutable: the stored one wins, then the update's target, then the replacement's.
  const id: unknown = doc?.get('_id') ?? entry.o2?._id ?? o.get('_id');
  if (id === undefined) throw new TargetError(`replacement update on ${entry.ns} has no _id`);
  const out: OrderedDoc = new Map([['_id', id]]);
  for (const [name, value] of o) if (name !== '_id') out.set(name, value);
  return out;
}

/** Marks a path the server would call "not viable"; from the oplog, that path is skipped. */
const NOT_VIABLE = Symbol('not viable');
type Node = OrderedDoc | unknown[];

function setPath(node: Node, parts: readonly string[], value: unknown): Node | typeof NOT_VIABLE {
  const [head, ...rest] = parts;
  if (head === undefined) return NOT_VIABLE;
  if (Array.isArray(node)) {
    const index = arrayIndex(head);
    if (index === undefined) return NOT_VIABLE;
    const child = index < node.length ? descendSet(node[index], rest, value) : created(rest, value);
    if (child === NOT_VIABLE) return NOT_VIABLE;
    const copy = node.slice();
    if (index - copy.length > MAX_ARRAY_PADDING) {
      throw new TargetError(`$set of "${parts.join('.')}" would pad an array with over ${MAX_ARRAY_PADDING} nulls`);
    }
    while (copy.length < index) copy.push(null);
    copy[index] = child;
    return copy;
  }
  const child = node.has(head) ? descendSet(node.get(head), rest, value) : created(rest, value);
  if (child === NOT_VIABLE) return NOT_VIABLE;
  const copy: OrderedDoc = new Map(node);
  copy.set(head, child);
  return copy;
}

/** The new value of an existing element after setting `rest` inside it. */
function descendSet(current: unknown, rest: readonly string[], value: unknown): unknown {
  if (rest.length === 0) return value;
  const inner = asNode(current);
  return inner === undefined ? NOT_VIABLE : setPath(inner, rest, value);
}

/** Missing intermediates become embedded documents, numeric components included. */
function created(rest: readonly string[], value: unknown): unknown {
  let result = value;
  for (let i = rest.length - 1; i >= 0; i--) result = new Map([[rest[i] ?? '', result]]);
  return result;
}

function unsetPath(node: Node, parts: readonly string[]): Node | typeof NOT_VIABLE {
  const [head, ...rest] = parts;
  if (head === undefined) return NOT_VIABLE;
  if (Array.isArray(node)) {
    const index = arrayIndex(head);
    if (index === undefined || index >= node.length) return NOT_VIABLE;
    const child = rest.length === 0 ? null : descendUnset(node[index], rest);
    if (child === NOT_VIABLE) return NOT_VIABLE;
    const copy = node.slice();
    copy[index] = child;
    return copy;
  }
  if (!node.has(head)) return NOT_VIABLE;
  const copy: OrderedDoc = new Map(node);
  if (rest.length === 0) {
    copy.delete(head);
    return copy;
  }
  const child = descendUnset(node.get(head), rest);
  if (child === NOT_VIABLE) return NOT_VIABLE;
  copy.set(head, child);
  return copy;
}

function descendUnset(current: unknown, rest: readonly string[]): unknown {
  const inner = asNode(current);
  return inner === undefined ? NOT_VIABLE : unsetPath(inner, rest);
}

function asNode(value: unknown): Node | undefined {
  if (Array.isArray(value)) return value;
  return value instanceof Map ? (value as OrderedDoc) : undefined;
}

/** An array index component: decimal digits only, as the server's path parser requires. */
function arrayIndex(part: string): number | undefined {
  return /^\d+$/.test(part) ? Number(part) : undefined;
}

/** The server's path order: component by component, numeric names numerically. */
function comparePaths(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x === y) continue;
    const xi = arrayIndex(x);
    const yi = arrayIndex(y);
    if (xi !== undefined && yi !== undefined && xi !== yi) return xi - yi;
    return Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'));
  }
  return a.length - b.length;
}
