// The store as a local (or mounted) folder: a key "a/b/c" is the file <root>/a/b/c. Every write
// goes to a temporary file in <root>/.mongo-pitr-tmp (same filesystem, so rename is atomic), is
// fsynced, then renamed into place and the folder entry fsynced: a killed process leaves at most
// a stray temporary file, never a partial object. `list` never looks inside the temporary folder,
// and `check` sweeps temporary files old enough to be abandoned.
//
// putIfMatch takes no lock. Creating (etag null) links the temporary file to the key's name,
// which fails if the name exists. Replacing publishes numbered versions (folder-versions.ts) in
// <root>/a/b/.mongo-pitr-versions/c/: the newest version is the object, and <root>/a/b/c is kept
// as a hard link to it so that people and tools see the current bytes at the usual path. A key with no versions is its plain file
// (version 0: stores written before versions existed), and becomes versioned on its next
// replacement.
import { randomUUID } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { link, mkdir, open, readdir, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PitrError, StoreError } from '../errors.ts';
import { formatMode, isOpenToOthers, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-mode.ts';
import { countBody } from './counted-body.ts';
import { errnoCode, folderStoreError } from './folder-errors.ts';
import { fenceLegacyWriters } from './folder-legacy-fence.ts';
import { fsyncFolder, linkIntoPlace, renameIntoPlace, stampAfter, statFile, writeDurably } from './folder-files.ts';
import { DEFAULT_VERSION_GRACE_MS, FOLDER_VERSIONS_DIR, linkExclusive, listVersions, removeSuperseded, versionPath, versionsFolder } from './folder-versions.ts';
import { assertStoreKey, assertStorePrefix, isStoreKey } from './store-key.ts';
import type { GetOptions, ObjectInfo, PutResult, Store } from './store.ts';

/** Holds temporary files; never a key's first segment. */
export const FOLDER_TEMP_DIR = '.mongo-pitr-tmp';
export { FOLDER_VERSIONS_DIR };
const TEMP_SUFFIX = '.tmp';
/** A temporary file this old belongs to a run that died; no put takes a day. */
const ABANDONED_TEMP_MS = 24 * 60 * 60 * 1000;
/** Reads retried when the version chosen was removed before it could be opened. */
const READ_ATTEMPTS = 3;

/** Where a key's current bytes are: its newest version, or its plain file when it has none. */
interface Resolved {
  readonly path: string;
  /** The version number, or null for a plain file. */
  readonly version: number | null;
}

export interface FolderStoreOptions {
  /** How long a superseded version of a conditionally written key is kept (folder-versions.ts). */
  readonly versionGraceMs?: number;
  /** Told by `check` when the store folder is open to other accounts (see private-mode.ts). */
  readonly onWarning?: (message: string) => void;
  /**
   * Fault injection for tests: awaited by putIfMatch after its last check and right before the
   * step that publishes the new version, where a real process may be stopped for any length of
   * time (SIGSTOP, a suspended laptop, a paused VM).
   */
  readonly beforePublish?: (key: string) => Promise<void> | void;
  /** Fault injection for tests: awaited after a new version is linked, before anything else. */
  readonly afterPublish?: (key: string) => Promise<void> | void;
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
    const path = this.#pathOf(key);
    return this.#writeThen(key, path, body, options.signal, async (tempPath) => {
      const folder = versionsFolder(path);
      // A key replaced by putIfMatch has versions; an unconditional put becomes the next one.
      if ((await listVersions(folder)).length > 0) return this.#publishAnyVersion(key, path, folder, tempPath);
      const written = await stampAfter(tempPath, path);
      await renameIntoPlace(tempPath, path);
      return putResult(key, written);
    });
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const path = this.#pathOf(key);
    options.signal?.throwIfAborted();
    for (let attempt = 1; ; attempt++) {
      let handle: FileHandle | undefined;
      const current = await this.#resolve(key, path, 'get');
      try {
        handle = await open(current.path, 'r');
        if (!(await handle.stat()).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
        return handle.createReadStream({ signal: options.signal, start: options.start ?? 0 });
      } catch (error) {
        await handle?.close();
        // A superseded version removed between choosing it and opening it: look again.
        if (isMissing(error) && current.version !== null && attempt < READ_ATTEMPTS) continue;
        if (isMissing(error)) throw this.#notFound(key, error);
        throw folderStoreError(error, 'get', current.path);
      }
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const stats = await this.#statCurrent(key, this.#pathOf(key));
    return stats && objectInfo(key, stats);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertStorePrefix(prefix);
    // "chunks/0001" lists the folder "chunks/" for names starting with "0001".
    const folderKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* this.#walk(folderKey, prefix.slice(folderKey.length));
  }

  async delete(key: string): Promise<void> {
    const path = this.#pathOf(key);
    const folder = versionsFolder(path);
    try {
      // Lowest first, like every removal of versions (folder-versions.ts).
      for (const version of await listVersions(folder)) await unlink(versionPath(folder, version)).catch(ignoreMissing);
      // Not empty: a writer published meanwhile, and its version is the object now.
      await rmdir(folder).catch(() => {});
      await rmdir(dirname(folder)).catch(() => {}); // other keys of this folder may have versions
    } catch (error) {
      throw folderStoreError(error, 'delete', folder);
    }
    try {
      await unlink(path);
    } catch (error) {
      // EISDIR: the key names a folder, so there is no object by that key, as delete promises.
      if (isMissing(error) || errnoCode(error) === 'EISDIR') return;
      throw folderStoreError(error, 'delete', path);
    }
    await this.#removeEmptyFolders(dirname(path));
  }

  /**
   * No lock: the step that decides is a link(2) to a name that must not exist, which exactly one
   * writer wins however long any of them was paused (see folder-versions.ts).
   */
  async putIfMatch(key: string, body: Buffer, etag: string | null): Promise<PutResult> {
    const path = this.#pathOf(key);
    return etag === null ? this.#create(key, path, body) : this.#replace(key, path, body, etag);
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
      // putIfMatch needs hard links: a filesystem without them fails here, before a run uploads.
      const linkedPath = `${probePath}.link${TEMP_SUFFIX}`;
      try {
        await linkExclusive(probePath, linkedPath);
      } finally {
        await unlink(linkedPath).catch(() => {});
        await unlink(probePath);
      }
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
    const segments = key.split('/');
    if (segments[0] === FOLDER_TEMP_DIR) throw new PitrError(`invalid store key ${JSON.stringify(key)}: ${FOLDER_TEMP_DIR} is reserved`);
    if (segments.includes(FOLDER_VERSIONS_DIR)) throw new PitrError(`invalid store key ${JSON.stringify(key)}: ${FOLDER_VERSIONS_DIR} is reserved`);
    return join(this.rootDir, ...key.split('/'));
  }

  #notFound(key: string, cause: unknown): StoreError {
    return new StoreError('not-found', `no object ${key} in ${this.url}`, { cause, hint: 'it may have been pruned, or the store URL points elsewhere' });
  }

  /** Streams `body` into a fsynced temporary file and hands it to `publish`, which names it. */
  async #writeThen(key: string, path: string, body: Readable | Buffer, signal: AbortSignal | undefined, publish: (tempPath: string) => Promise<PutResult>): Promise<PutResult> {
    const tempPath = join(this.#tempDir, `${process.pid}-${randomUUID()}${TEMP_SUFFIX}`);
    const counted = Buffer.isBuffer(body) ? null : countBody(body, signal);
    const chunks = Buffer.isBuffer(body) ? [body] : (counted?.stream ?? []);
    try {
      signal?.throwIfAborted();
      await mkdir(this.#tempDir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await writeDurably(tempPath, chunks);
      return await publish(tempPath);
    } catch (error) {
      counted?.discard();
      if (signal?.aborted) throw signal.reason;
      if (counted?.bodyFailed) throw counted.bodyError;
      throw folderStoreError(error, 'put', path);
    } finally {
      // Gone after a rename; a second name of the published file after a link. The temporary
      // folder is invisible to list and swept by check, so this may fail quietly.
      await unlink(tempPath).catch(() => {});
    }
  }

  /** putIfMatch(key, body, null): the temporary file is linked to the key's name if it is free. */
  async #create(key: string, path: string, body: Buffer): Promise<PutResult> {
    return this.#writeThen(key, path, body, undefined, async (tempPath) => {
      const written = await stat(tempPath, { bigint: true });
      await this.#options.beforePublish?.(key);
      // Versions without a plain file: a delete of this key is under way; it still exists.
      const versioned = (await listVersions(versionsFolder(path))).length > 0;
      if (versioned || !(await linkIntoPlace(tempPath, path))) throw this.#preconditionFailed(key, null, await this.#statCurrent(key, path));
      return putResult(key, written);
    });
  }

  /**
   * putIfMatch(key, body, etag): checks that the newest version is `etag`, links the new bytes
   * to the next version's name (EEXIST: another writer got there first), then checks that the
   * version it replaced is still there unchanged, which proves the name was fresh and not one
   * freed by the removal of old versions after an arbitrarily long pause (folder-versions.ts).
   */
  async #replace(key: string, path: string, body: Buffer, etag: string): Promise<PutResult> {
    const folder = versionsFolder(path);
    const current = await this.#resolve(key, path, 'putIfMatch');
    const currentStats = await statFile(current.path).catch((error: unknown) => {
      throw folderStoreError(error, 'putIfMatch: stat', current.path);
    });
    if (currentStats === null || etagOf(currentStats) !== etag) throw this.#preconditionFailed(key, etag, await this.#statCurrent(key, path));
    const base = current.version ?? (await this.#startVersions(key, path, folder, etag));
    return this.#writeThen(key, path, body, undefined, async (tempPath) => {
      const written = await stampAfter(tempPath, versionPath(folder, base));
      await this.#options.beforePublish?.(key);
      // ENOENT: the versions folder is gone, so the key was deleted meanwhile.
      const linked = await linkExclusive(tempPath, versionPath(folder, base + 1)).catch((error: unknown) => (isMissing(error) ? false : Promise.reject(error)));
      if (!linked) throw this.#preconditionFailed(key, etag, await this.#statCurrent(key, path));
      await fsyncFolder(folder);
      await this.#options.afterPublish?.(key);
      const replaced = await statFile(versionPath(folder, base));
      // Nothing is removed here: if the new version is visible, commit.ts recognises its bytes.
      if (replaced === null || etagOf(replaced) !== etag) throw this.#preconditionFailed(key, etag, await this.#statCurrent(key, path));
      await this.#afterPublish(path, folder);
      return putResult(key, written);
    });
  }

  /**
   * Makes a plain file version 0 (a second name of the same file) before its first replacement;
   * another writer may do the same at once. Returns 0 once version 0 is the file that was read.
   */
  async #startVersions(key: string, path: string, folder: string, etag: string): Promise<number> {
    try {
      await mkdir(this.#tempDir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await fenceLegacyWriters(this.#tempDir, key);
      await mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
      await linkExclusive(path, versionPath(folder, 0));
    } catch (error) {
      if (isMissing(error)) throw this.#preconditionFailed(key, etag, null);
      throw folderStoreError(error, 'putIfMatch: version', path);
    }
    const first = await statFile(versionPath(folder, 0));
    if (first === null || etagOf(first) !== etag) throw this.#preconditionFailed(key, etag, await this.#statCurrent(key, path));
    return 0;
  }

  /** An unconditional put of a versioned key: the next free version, whichever that is. */
  async #publishAnyVersion(key: string, path: string, folder: string, tempPath: string): Promise<PutResult> {
    for (;;) {
      const newest = (await listVersions(folder)).at(-1) ?? 0;
      const written = await stampAfter(tempPath, versionPath(folder, newest));
      if (await linkExclusive(tempPath, versionPath(folder, newest + 1))) {
        await fsyncFolder(folder);
        await this.#afterPublish(path, folder);
        return putResult(key, written);
      }
    }
  }

  /**
   * Points the key's plain path at the newest version (for people and tools reading the folder;
   * readers here never rely on it) and removes superseded versions.
   */
  async #afterPublish(path: string, folder: string): Promise<void> {
    const newest = (await listVersions(folder)).at(-1);
    if (newest !== undefined) {
      const mirrorPath = join(this.#tempDir, `${process.pid}-${randomUUID()}${TEMP_SUFFIX}`);
      try {
        await link(versionPath(folder, newest), mirrorPath);
        await renameIntoPlace(mirrorPath, path);
      } catch (error) {
        // Removed since listed: a newer version was published, whose writer mirrors it.
        if (!isMissing(error)) throw error;
      } finally {
        await unlink(mirrorPath).catch(() => {});
      }
    }
    await removeSuperseded(folder, this.#options.versionGraceMs ?? DEFAULT_VERSION_GRACE_MS);
  }

  /** The newest version of `key`, or its plain file when it has none. */
  async #resolve(key: string, path: string, operation: string): Promise<Resolved> {
    const folder = versionsFolder(path);
    let versions: number[];
    try {
      versions = await listVersions(folder);
    } catch (error) {
      throw folderStoreError(error, operation, folder);
    }
    const newest = versions.at(-1);
    return newest === undefined ? { path, version: null } : { path: versionPath(folder, newest), version: newest };
  }

  async #statCurrent(key: string, path: string): Promise<BigIntStats | null> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#resolve(key, path, 'stat');
      let stats: BigIntStats | null;
      try {
        stats = await statFile(current.path);
      } catch (error) {
        throw folderStoreError(error, 'stat', current.path);
      }
      // A superseded version removed between choosing it and reading it: look again.
      if (stats === null && current.version !== null && attempt < READ_ATTEMPTS) continue;
      return stats;
    }
  }

  async #statPlain(key: string, path: string): Promise<ObjectInfo | null> {
    try {
      const stats = await statFile(path);
      return stats && objectInfo(key, stats);
    } catch (error) {
      throw folderStoreError(error, 'stat', path);
    }
  }

  #preconditionFailed(key: string, expected: string | null, found: BigIntStats | null): StoreError {
    return new StoreError('precondition-failed', `putIfMatch ${key} in ${this.url}: expected ${expected === null ? 'no object' : `version ${expected}`}, found ${found ? `version ${etagOf(found)}` : 'no object'}`, {
      hint: 'another run changed it first; read it again and retry',
    });
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
      .filter((entry) => entry.name.startsWith(namePrefix) && entry.name !== FOLDER_VERSIONS_DIR && !(folderKey === '' && entry.name === FOLDER_TEMP_DIR))
      .map((entry) => ({ entry, order: Buffer.from(entry.isDirectory() ? `${entry.name}/` : entry.name) }))
      .sort((a, b) => Buffer.compare(a.order, b.order));
    // Only a folder holding versions needs each file resolved; the common case stats it directly.
    const hasVersions = entries.some((entry) => entry.name === FOLDER_VERSIONS_DIR);
    for (const { entry } of sorted) {
      const key = folderKey + entry.name;
      // A file no key could name (a backslash in its name, say) was not written by a store.
      if (!isStoreKey(key)) continue;
      if (entry.isDirectory()) {
        yield* this.#walk(`${key}/`, '');
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        const info = hasVersions ? await this.stat(key) : await this.#statPlain(key, join(folder, entry.name));
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

/** Inode, mtime in ns and size: rename keeps all three, and every write changes at least one. */
function etagOf(stats: BigIntStats): string {
  return [stats.ino, stats.mtimeNs, stats.size].map((value) => value.toString(36)).join('-');
}

function objectInfo(key: string, stats: BigIntStats): ObjectInfo {
  return { key, size: Number(stats.size), etag: etagOf(stats), lastModified: new Date(Number(stats.mtimeMs)) };
}

function putResult(key: string, written: BigIntStats): PutResult {
  return { key, etag: etagOf(written), size: Number(written.size) };
}

function ignoreMissing(error: unknown): void {
  if (!isMissing(error)) throw error;
}

function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
