// Maps Node's filesystem errors to StoreError kinds for the folder store, in one line that names
// the path, so a full disk or a read-only mount reads the same way as an S3 refusal does.
import { StoreError, type StoreErrorKind } from '../errors.ts';

export function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

const HINTS: Partial<Record<StoreErrorKind, string>> = {
  'access-denied': 'give this user read and write permission on the backup folder',
  io: 'check that the backup folder is on a mounted, writable filesystem with free space',
};

/** Wraps a filesystem error; a StoreError passes through unchanged. */
export function folderStoreError(error: unknown, operation: string, path: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = errnoCode(error);
  const kind: StoreErrorKind =
    code === 'ENOENT' ? 'not-found' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'access-denied' : 'io';
  // Node's message is "ENOSPC: no space left on device, write '/path'": keep the part before
  // the syscall, since the message names the path already.
  const message = error instanceof Error ? error.message : String(error);
  const reason = code && message.startsWith(`${code}:`) ? message.split(',')[0] : message;
  return new StoreError(kind, `${operation} ${path} failed: ${oneLine(reason)}`, { cause: error, hint: HINTS[kind] });
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
