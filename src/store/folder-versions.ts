// The versions of a conditionally written key in the folder store (the manifest, cluster.json).
// Each new version is published by link(2)ing its fully written, fsynced temporary file to the
// name `v<N+1>` in the key's versions folder. link(2) never replaces an existing name (EEXIST):
// of two writers that read version N, exactly one publishes N+1, however long either is paused
// between its check and its publish; no lock, no stale age, no clock is involved. Readers take
// the highest version. A superseded version is removed once its successor is older than a grace
// period, so a reader that has just chosen it can still open it (and an open file stays readable
// after unlink on POSIX; a reader that finds it gone looks again).
//
// Removal goes lowest first. That is what lets a writer tell a fresh name from a reused one: a
// name N+1 is free again only after N+1 was superseded and removed, and by then N was removed
// too. So a writer that links N+1 and then still finds N with the etag it read has published
// the true successor of N (folder-store.ts, putIfMatch).
import { link, readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StoreError } from '../errors.ts';
import { errnoCode } from './folder-errors.ts';

/** Beside a conditionally written key, holds its versions; never a segment of a key. */
export const FOLDER_VERSIONS_DIR = '.mongo-pitr-versions';
/**
 * How long a superseded version is kept. Readers need milliseconds between choosing a version and
 * opening it; the margin is for writers: one paused longer than this between publishing and
 * verifying its publish is told precondition-failed although it may have landed (the safe side:
 * the committers then find their own bytes if still newest, and otherwise report a conflict, and
 * the next run reads the manifest that holds the commit).
 */
export const DEFAULT_VERSION_GRACE_MS = 10 * 60 * 1000;
const VERSION_NAME = /^v(0|[1-9][0-9]{0,15})$/;

/**
 * The versions folder of the key whose plain file is `path`: beside it, so that a folder of the
 * store (a cluster member's `members/<name>/`) copied or opened on its own keeps its versions.
 */
export function versionsFolder(path: string): string {
  return join(dirname(path), FOLDER_VERSIONS_DIR, basename(path));
}

export function versionPath(folder: string, version: number): string {
  return join(folder, `v${version}`);
}

/** The version numbers present in `folder`, ascending; empty when the key was never versioned. */
export async function listVersions(folder: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
  return names
    .filter((name) => VERSION_NAME.test(name))
    .map((name) => Number(name.slice(1)))
    .sort((a, b) => a - b);
}

/**
 * Gives `existing` the new name `created`, only if that name is free: false when it exists.
 * Atomic on local filesystems and NFS (link is one of the operations NFS makes exclusive).
 */
export async function linkExclusive(existing: string, created: string): Promise<boolean> {
  try {
    await link(existing, created);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return false;
    // link(2): EPERM when the filesystem has no hard links (FAT, some network shares); the
    // files here are this process's own, so a permission problem is unlikely.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      throw new StoreError('io', `link ${created} failed (${code}): the folder store's compare-and-swap needs a filesystem with hard links`, {
        cause: error,
        hint: 'put the store folder on a filesystem with hard links (ext4, xfs, btrfs, APFS, NFS), or use an S3 store',
      });
    }
    throw error;
  }
}

/**
 * Removes the versions superseded more than `graceMs` ago, lowest first (see above), keeping the
 * newest always. A version is superseded when its successor was linked: link(2) sets the
 * successor's ctime, so that is when the older one stopped being the newest.
 */
export async function removeSuperseded(folder: string, graceMs: number, nowMs = Date.now()): Promise<void> {
  const versions = await listVersions(folder);
  let removable = 0;
  for (let index = 0; index + 1 < versions.length; index++) {
    const successor = await stat(versionPath(folder, versions[index + 1] ?? 0)).catch(ignoreMissing);
    if (successor && nowMs - successor.ctimeMs > graceMs) removable = index + 1;
  }
  for (const version of versions.slice(0, removable)) {
    // Another writer may be removing the same versions; losing that race is fine.
    await unlink(versionPath(folder, version)).catch(ignoreMissing);
  }
}

function ignoreMissing(error: unknown): undefined {
  if (errnoCode(error) !== 'ENOENT') throw error;
  return undefined;
}
