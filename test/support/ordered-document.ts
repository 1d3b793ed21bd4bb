// Assertions on documents whose field ORDER matters: a replay must reproduce it, and
// deepStrictEqual ignores it. Documents are compared as nested [name, value] lists.
import assert from 'node:assert/strict';
import type { Document } from 'mongodb';

/**
 * A plain object or a Map (an OrderedDoc) as its [name, value] entries, recursively; arrays and
 * other values as they are.
 */
export function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordered);
  if (value instanceof Map) return [...value].map(([name, field]) => [name, ordered(field)]);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.entries(value).map(([name, field]) => [name, ordered(field)]);
  }
  return value;
}

/** Equal values, fields in the same order at every level. */
export function assertDoc(actual: Document | Map<string, unknown> | null, expected: Document | Map<string, unknown>): void {
  assert.deepEqual(ordered(actual), ordered(expected));
}

/** Freezes a document and everything in it, so a function that mutates its input throws. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const field of Object.values(value)) deepFreeze(field);
    Object.freeze(value);
  }
  return value;
}
