// Keeps mongo-pitr versions from before folder-versions.ts from writing a key that has versions.
// They compared and replaced the plain file under a lock file, <root>/.mongo-pitr-tmp/<sha256 of
// the key>.lock; once a key has versions, readers ignore its plain file, so such a write would be
// lost without a word. This leaves a lock file there that those versions can never judge
// abandoned: its time is far in the future (never "untouched for the stale age") and its owner is
// on no host (so no "dead pid on this host"). They wait for it, then fail naming its holder,
// which here tells the operator to upgrade.
import { createHash } from 'node:crypto';
import { open, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE } from '../private-mode.ts';

/** What the older versions print as the lock's host: "held by pid 0 on <this>". */
export const LEGACY_FENCE_HOST = 'no host: this store is written by a newer mongo-pitr (versioned manifest), upgrade';
/** Later than any clock will read while such versions still run. */
const FENCE_TIME = new Date('2200-01-01T00:00:00Z');

export function legacyLockPath(tempDir: string, key: string): string {
  return join(tempDir, `${createHash('sha256').update(key).digest('hex')}.lock`);
}

/** Writes (or rewrites) the fence of `key`; `tempDir` must exist. */
export async function fenceLegacyWriters(tempDir: string, key: string): Promise<void> {
  const path = legacyLockPath(tempDir, key);
  const owner = { pid: 0, host: LEGACY_FENCE_HOST, token: 'versioned-store', acquiredAt: new Date().toISOString() };
  const handle = await open(path, 'w', PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(JSON.stringify(owner));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await utimes(path, FENCE_TIME, FENCE_TIME);
}
