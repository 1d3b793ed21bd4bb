// The store as a local (or mounted) folder: a key "a/b/c" is the file <root>/a/b/c. Every write
// goes to a temporary file in <root>/.mongo-pitr-tmp (same filesystem, so rename is atomic), is
// fsynced, then renamed into place and the folder entry fsynced: a killed process leaves at most
// a stray temporary file, never a partial object. `list` never looks inside the temporary folder,
// and `check` sweeps temporary files old enough to be abandoned.
import { createHash, randomUUID } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PitrError, StoreError } from '../errors.ts';
import { formatMode, isOpenToOthers, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-mode.ts';
import { countBody } from './counted-body.ts';
import { errnoCode, folderStoreError } from './folder-errors.ts';
import { acquireLock, type HeldLock } from './folder-lock.ts';
import { assertStoreKey, assertStorePrefix, isStoreKey } from './store-key.ts';
import type { GetOptions, ObjectInfo, PutResult, Store } from './store.ts';

/** Holds temporary files and lock files; never a key's first segment. */
export const FOLDER_TEMP_DIR = '.mongo-pitr-tmp';
const TEMP_SUFFIX = '.tmp';
const LOCK_SUFFIX = '.lock';
/** A temporary file this old belongs to a run that died; no put takes a day. */
const ABANDONED_TEMP_MS = 24 * 60 * 60 * 1000;
/**
 * Inode numbers are reused and mtime advances in kernel ticks (often 4 ms), so three quick writes
 * of one size could repeat an etag. Each write's mtime is therefore pushed at least this far past
 * the mtime of the file it replaces.
 */
const MTIME_STEP_NS = 1_000_000n;
/** Renames retried when a concurrent delete removed the freshly made parent folder. */
const RENAME_ATTEMPTS = 3;

export interface FolderStoreOptions {
  /** Age after which an untouched putIfMatch lock is taken to be abandoned (folder-lock.ts). */
  readonly staleLockMs?: number;
  /** How long putIfMatch waits for a live lock holder. */
  readonly lockWaitMs?: number;
  /** Told by `check` when the store folder is open to other accounts (see private-mode.ts). */
  readonly onWarning?: (message: string) => void;
  /**
   * Fault injection for tests: awaited by putIfMatch after its last check and right before the
   * step that publishes the new version, where a real process may be stopped for any length of
   * time (SIGSTOP, a suspended laptop, a paused VM).
   */
  readonly beforePublish?: (key: string) => Promise<void> | void;
}

/** Where putIfMatch locks `key`: hashed, so that any key gives one short, flat file name. */
export function folderLockPath(rootDir: string, key: string): string {
  return join(rootDir, FOLDER_TEMP_DIR, createHash('sha256').update(key).digest('hex') + LOCK_SUFFIX);
}

export class FolderStore implements Store {
  readonly url: string;
  readonly rootDir: string;
  readonly #options: FolderStoreOptions;
  readonly #tempDir: string;

  /** `root` is a path (relative to the working directory) or a file: URL. */
  constructor(root: string, options: FolderStoreOptions = {}) {
    this.rootDir = resolve(root.startsWith('file:') ? fileURLToPath(root) : root);
    this.url = pathToFileURL(this.rootDir).href;
    this.#options = options;
    this.#tempDir = join(this.rootDir, FOLDER_TEMP_DIR);
  }

  async put(key: string, body: Readable | Buffer, options: { signal?: AbortSignal } = {}): Promise<PutResult> {
    return this.#write(key, this.#pathOf(key), body, options.signal, null);
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const path = this.#pathOf(key);
    options.signal?.throwIfAborted();
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, 'r');
      if (!(await handle.stat()).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
    } catch (error) {
      await handle?.close();
      if (isMissing(error)) throw this.#notFound(key, error);
      throw folderStoreError(error, 'get', path);
    }
    return handle.createReadStream({ signal: options.signal, start: options.start ?? 0 });
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const path = this.#pathOf(key);
    try {
      const stats = await stat(path, { bigint: true });
      return stats.isFile() ? objectInfo(key, stats) : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw folderStoreError(error, 'stat', path);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertStorePrefix(prefix);
    // "chunks/0001" lists the folder "chunks/" for names starting with "0001".
    const folderKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* this.#walk(folderKey, prefix.slice(folderKey.length));
  }

  async delete(key: string): Promise<void> {
    const path = this.#pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      // EISDIR: the key names a folder, so there is no object by that key, as delete promises.
      if (isMissing(error) || errnoCode(error) === 'EISDIR') return;
      throw folderStoreError(error, 'delete', path);
    }
    await this.#removeEmptyFolders(dirname(path));
  }

  async putIfMatch(key: string, body: Buffer, etag: string | null): Promise<PutResult> {
    const path = this.#pathOf(key);
    const lockPath = folderLockPath(this.rootDir, key);
    let lock: HeldLock;
    try {
      await mkdir(this.#tempDir, { recursive: true, mode: PRIVATE_DIR_MODE });
      lock = await acquireLock(lockPath, { staleLockMs: this.#options.staleLockMs, waitMs: this.#options.lockWaitMs });
    } catch (error) {
      throw folderStoreError(error, 'lock', lockPath);
    }
    try {
      const current = await this.stat(key);
      if (etag === null ? current !== null : current?.etag !== etag) {
        const found = current ? `version ${current.etag}` : 'no object';
        throw new StoreError('precondition-failed', `putIfMatch ${key} in ${this.url}: expected ${etag === null ? 'no object' : `version ${etag}`}, found ${found}`, {
          hint: 'another run changed it first; read it again and retry',
        });
      }
      return await this.#write(key, path, body, undefined, lock);
    } finally {
      // Best effort: a lock left behind stops being refreshed and is broken once it is stale.
      await lock.release().catch(() => {});
    }
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.rootDir, { recursive: true, mode: PRIVATE_DIR_MODE });
      if (!(await stat(this.rootDir)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        throw new StoreError('io', `store folder ${this.rootDir} is not a directory`, { cause: error, hint: 'point the store at a folder, or at a path that does not exist yet' });
      }
      throw folderStoreError(error, 'create store folder', this.rootDir);
    }
    await this.#warnIfOpen();
    const probePath = join(this.#tempDir, `check-${process.pid}-${randomUUID()}${TEMP_SUFFIX}`);
    try {
      await mkdir(this.#tempDir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await (await open(probePath, 'wx', PRIVATE_FILE_MODE)).close();
      await unlink(probePath);
    } catch (error) {
      throw folderStoreError(error, 'check: write to', this.#tempDir);
    }
    try {
      await this.#sweepAbandonedTempFiles();
    } catch (error) {
      throw folderStoreError(error, 'check: sweep', this.#tempDir);
    }
  }

  async close(): Promise<void> {}

  /**
   * A store made before objects were private (or by hand) may be readable by every local account.
   * Only the root is checked: with it at 0700 nobody else can reach anything below it.
   */
  async #warnIfOpen(): Promise<void> {
    const { mode } = await stat(this.rootDir);
    if (!isOpenToOthers(mode)) return;
    this.#options.onWarning?.(
      `store folder ${this.rootDir} has mode ${formatMode(mode)}: other local accounts may read the backups; fix: chmod -R go-rwx ${this.rootDir}`,
    );
  }

  #pathOf(key: string): string {
    assertStoreKey(key);
    if (key.split('/', 1)[0] === FOLDER_TEMP_DIR) throw new PitrError(`invalid store key ${JSON.stringify(key)}: ${FOLDER_TEMP_DIR} is reserved`);
    return join(this.rootDir, ...key.split('/'));
  }

  #notFound(key: string, cause: unknown): StoreError {
    return new StoreError('not-found', `no object ${key} in ${this.url}`, { cause, hint: 'it may have been pruned, or the store URL points elsewhere' });
  }

  /** Writes to a temporary file, then renames it over `path`; `lock` is checked just before. */
  async #write(key: string, path: string, body: Readable | Buffer, signal: AbortSignal | undefined, lock: HeldLock | null): Promise<PutResult> {
    const tempPath = join(this.#tempDir, `${process.pid}-${randomUUID()}${TEMP_SUFFIX}`);
    const counted = Buffer.isBuffer(body) ? null : countBody(body, signal);
    const chunks = Buffer.isBuffer(body) ? [body] : (counted?.stream ?? []);
    try {
      signal?.throwIfAborted();
      await mkdir(this.#tempDir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await writeDurably(tempPath, chunks);
      const written = await stampAfter(tempPath, path);
      if (lock && !(await lock.isHeld())) {
        throw new StoreError('precondition-failed', `putIfMatch ${key} in ${this.url}: the lock was taken over while writing`, {
          hint: 'another run judged this one hung; read the object again and retry',
        });
      }
      if (lock) await this.#options.beforePublish?.(key);
      await renameIntoPlace(tempPath, path);
      return { key, etag: etagOf(written), size: Number(written.size) };
    } catch (error) {
      counted?.discard();
      // The temporary folder is invisible to list and swept by check, so this may fail quietly.
      await unlink(tempPath).catch(() => {});
      if (signal?.aborted) throw signal.reason;
      if (counted?.bodyFailed) throw counted.bodyError;
      throw folderStoreError(error, 'put', path);
    }
  }

  /** Yields the objects under `folderKey` whose names start with `namePrefix`, in key order. */
  async *#walk(folderKey: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
    const folder = join(this.rootDir, ...folderKey.split('/'));
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw folderStoreError(error, 'list', folder);
    }
    // Sorting folders as "name/" makes a depth-first walk yield keys in S3's order (UTF-8 bytes):
    // every key under "a/" sorts after "a-b" ("-" < "/") and before "a0" ("/" < "0").
    const sorted = entries
      .filter((entry) => entry.name.startsWith(namePrefix) && !(folderKey === '' && entry.name === FOLDER_TEMP_DIR))
      .map((entry) => ({ entry, order: Buffer.from(entry.isDirectory() ? `${entry.name}/` : entry.name) }))
      .sort((a, b) => Buffer.compare(a.order, b.order));
    for (const { entry } of sorted) {
      const key = folderKey + entry.name;
      // A file no key could name (a backslash in its name, say) was not written by a store.
      if (!isStoreKey(key)) continue;
      if (entry.isDirectory()) {
        yield* this.#walk(`${key}/`, '');
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        const info = await this.stat(key);
        if (info) yield info; // deleted since readdir, or a link to a folder
      }
    }
  }

  /** Keeps a pruned store from filling up with empty folders; stops at the first non-empty one. */
  async #removeEmptyFolders(folder: string): Promise<void> {
    for (let current = folder; current.startsWith(this.rootDir + sep); current = dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty, or already gone: either way nothing above it is empty because of us
      }
    }
  }

  async #sweepAbandonedTempFiles(): Promise<void> {
    const cutoffMs = Date.now() - ABANDONED_TEMP_MS;
    for (const name of await readdir(this.#tempDir)) {
      if (!name.endsWith(TEMP_SUFFIX)) continue;
      const path = join(this.#tempDir, name);
      const stats = await stat(path).catch(() => null);
      // Another process may sweep the same file; losing that race is fine.
      if (stats && stats.mtimeMs < cutoffMs) await unlink(path).catch(() => {});
    }
  }
}

/** Streams `chunks` into a new file and fsyncs it, so the rename that follows publishes whole bytes. */
async function writeDurably(path: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
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
async function stampAfter(tempPath: string, path: string): Promise<BigIntStats> {
  const written = await stat(tempPath, { bigint: true });
  const previous = await stat(path, { bigint: true }).catch(() => null);
  if (!previous || written.mtimeNs > previous.mtimeNs) return written;
  const seconds = (ns: bigint) => Number(ns) / 1e9;
  await utimes(tempPath, seconds(written.atimeNs), seconds(previous.mtimeNs + MTIME_STEP_NS));
  return stat(tempPath, { bigint: true });
}

async function renameIntoPlace(tempPath: string, path: string): Promise<void> {
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
async function fsyncFolder(folder: string): Promise<void> {
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

/** Inode, mtime in ns and size: rename keeps all three, and every write changes at least one. */
function etagOf(stats: BigIntStats): string {
  return [stats.ino, stats.mtimeNs, stats.size].map((value) => value.toString(36)).join('-');
}

function objectInfo(key: string, stats: BigIntStats): ObjectInfo {
  return { key, size: Number(stats.size), etag: etagOf(stats), lastModified: new Date(Number(stats.mtimeMs)) };
}

function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
