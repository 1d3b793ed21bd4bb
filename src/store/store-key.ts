// What a store key may look like, checked the same way by every store so that a key one backend
// accepts the other accepts too. Keys come from archive/object-keys.ts, never from the user, so a
// bad key is a bug in this program: it fails as an internal error, not as a store or usage error.
import { PitrError } from '../errors.ts';

/** S3's limit on a key's UTF-8 length; the folder store keeps to it for symmetry. */
export const MAX_KEY_BYTES = 1024;

/** Throws unless `key` is a relative `/`-separated path with no empty, `.` or `..` segment. */
export function assertStoreKey(key: string): void {
  const problem = keyProblem(key, false);
  if (problem) throw new PitrError(`invalid store key ${JSON.stringify(key)}: ${problem}`);
}

/** True when `key` passes assertStoreKey: lists skip objects that no store key could name. */
export function isStoreKey(key: string): boolean {
  return keyProblem(key, false) === null;
}

/** Like assertStoreKey for a list prefix, which may be empty, end with `/` or stop mid-segment. */
export function assertStorePrefix(prefix: string): void {
  if (prefix === '') return;
  const problem = keyProblem(prefix, true);
  if (problem) throw new PitrError(`invalid store prefix ${JSON.stringify(prefix)}: ${problem}`);
}

function keyProblem(key: string, isPrefix: boolean): string | null {
  if (key === '') return 'empty';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  if (key.startsWith('/')) return 'absolute';
  if (key.includes('\\')) return 'contains a backslash';
  if (key.includes('\0')) return 'contains a NUL character';
  const segments = key.split('/');
  // A prefix may end with "/" (a folder) or in the middle of a segment ("chunks/0001").
  const whole = isPrefix ? segments.slice(0, -1) : segments;
  for (const segment of whole) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
  }
  return null;
}
