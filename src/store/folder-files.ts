// The durable file steps the folder store is built from: write and fsync a temporary file, give
// it a later mtime than the file it replaces, and publish it under its final name by rename
// (replacing) or link (only if the name is free), fsyncing the folder so the name survives a
// crash. Each is atomic on local filesystems and NFS.
import type { BigIntStats } from 'node:fs';
import { mkdir, open, rename, stat, utimes, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-mode.ts';
import { errnoCode } from './folder-errors.ts';
import { linkExclusive } from './folder-versions.ts';

/**
 * Inode numbers are reused and mtime advances in kernel ticks (often 4 ms), so three quick writes
 * of one size could repeat an etag. Each write's mtime is therefore pushed at least this far past
 * the mtime of the file it replaces.
 */
const MTIME_STEP_NS = 1_000_000n;
/** Renames retried when a concurrent delete removed the freshly made parent folder. */
const RENAME_ATTEMPTS = 3;
/** Streams `chunks` into a new file and fsyncs it, so the rename that follows publishes whole bytes. */
export async function writeDurably(path: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
  const handle = await open(path, 'wx', PRIVATE_FILE_MODE);
  try {
    for await (const chunk of chunks) {
      // Memory bound: one chunk of the body at a time.
      for (let offset = 0; offset < chunk.length; ) offset += (await handle.write(chunk, offset)).bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the new file's mtime later than the one it replaces (see MTIME_STEP_NS); returns its stats. */
export async function stampAfter(tempPath: string, path: string): Promise<BigIntStats> {
  const written = await stat(tempPath, { bigint: true });
  const previous = await stat(path, { bigint: true }).catch(() => null);
  if (!previous || written.mtimeNs > previous.mtimeNs) return written;
  const seconds = (ns: bigint) => Number(ns) / 1e9;
  await utimes(tempPath, seconds(written.atimeNs), seconds(previous.mtimeNs + MTIME_STEP_NS));
  return stat(tempPath, { bigint: true });
}

/** Links `tempPath` to `path` only if that name is free; false when it exists. */
export async function linkIntoPlace(tempPath: string, path: string): Promise<boolean> {
  const folder = dirname(path);
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
      if (!(await linkExclusive(tempPath, path))) return false;
      break;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' || attempt >= RENAME_ATTEMPTS) throw error;
    }
  }
  await fsyncFolder(folder);
  return true;
}

export async function renameIntoPlace(tempPath: string, path: string): Promise<void> {
  const folder = dirname(path);
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
      await rename(tempPath, path);
      break;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' || attempt >= RENAME_ATTEMPTS) throw error;
    }
  }
  await fsyncFolder(folder);
}

/** Makes the rename itself durable; some platforms cannot open a folder for fsync. */
export async function fsyncFolder(folder: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(folder, 'r');
  } catch (error) {
    if (errnoCode(error) === 'EISDIR' || errnoCode(error) === 'EPERM') return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (errnoCode(error) !== 'EINVAL' && errnoCode(error) !== 'EPERM') throw error;
  } finally {
    await handle.close();
  }
}

/** A file's stats, or null when there is no file by that name. */
export async function statFile(path: string): Promise<BigIntStats | null> {
  try {
    const stats = await stat(path, { bigint: true });
    return stats.isFile() ? stats : null;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}
