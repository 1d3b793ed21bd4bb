// An exclusive lock on one key of the folder store, so that `putIfMatch` can compare and replace
// as one step. The lock is a file created with O_EXCL ("wx"), which is atomic on local
// filesystems and on NFSv3+. It names its owner (pid, host, a random token) and its holder
// touches it every third of the stale age, so a lock can be judged abandoned when:
//   - its pid is gone and it was taken on this host (the owner was SIGKILLed), or
//   - it has not been touched for the stale age (the owner died on another host, or hangs).
// Two waiters may judge the same lock stale at once; a second "break" lock serialises them so
// that the slower one cannot delete the lock the faster one has just taken.
import { randomUUID } from 'node:crypto';
import { open, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../errors.ts';
import { PRIVATE_FILE_MODE } from '../private-mode.ts';
import { errnoCode } from './folder-errors.ts';

/** A putIfMatch holds its lock for one small write; a lock untouched this long is abandoned. */
export const DEFAULT_STALE_LOCK_MS = 30_000;
const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 100;

export interface LockOptions {
  /** Age after which an untouched lock is taken to be abandoned. */
  readonly staleLockMs?: number;
  /** How long to wait for a live holder before giving up; defaults to twice the stale age. */
  readonly waitMs?: number;
}

export interface HeldLock {
  /** True while the lock file is still this holder's (a hung holder may have lost it). */
  isHeld(): Promise<boolean>;
  release(): Promise<void>;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly acquiredAt: string;
}

interface LockSnapshot {
  readonly owner: LockOwner | null;
  readonly raw: string;
  readonly ino: bigint;
  readonly mtimeMs: number;
}

/** Waits for and takes the lock at `path`; its folder must exist. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const staleLockMs = options.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
  const waitMs = options.waitMs ?? 2 * staleLockMs;
  const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomUUID(), acquiredAt: new Date().toISOString() };
  const deadline = Date.now() + waitMs;
  let retryMs = FIRST_RETRY_MS;
  for (;;) {
    if (await tryCreate(path, owner)) return holdLock(path, owner, staleLockMs);
    if (await breakIfStale(path, staleLockMs)) continue;
    if (Date.now() >= deadline) {
      const holder = (await readLock(path))?.owner;
      throw new StoreError('io', `timed out after ${waitMs} ms waiting for lock ${path}${holder ? ` held by pid ${holder.pid} on ${holder.host}` : ''}`, {
        hint: 'if no other mongo-pitr process is writing to this folder, delete the lock file',
      });
    }
    // Jitter keeps waiters from retrying in lockstep.
    await sleep(retryMs * (0.5 + Math.random()));
    retryMs = Math.min(2 * retryMs, MAX_RETRY_MS);
  }
}

async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(JSON.stringify(owner));
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw error;
  }
  await handle.close();
  return true;
}

function holdLock(path: string, owner: LockOwner, staleLockMs: number): HeldLock {
  const heartbeat = setInterval(() => {
    const now = new Date();
    // A failed touch only makes the lock look older; release or the next touch settles it.
    utimes(path, now, now).catch(() => {});
  }, staleLockMs / 3);
  heartbeat.unref();
  const isHeld = async () => (await readLock(path))?.owner?.token === owner.token;
  return {
    isHeld,
    async release() {
      clearInterval(heartbeat);
      if (await isHeld()) await unlink(path).catch(ignoreMissing);
    },
  };
}

/** Removes the lock at `path` if it is abandoned; true when the caller should retry at once. */
async function breakIfStale(path: string, staleLockMs: number): Promise<boolean> {
  const seen = await readLock(path);
  if (!seen) return true;
  if (!isStale(seen, staleLockMs)) return false;
  const breakPath = `${path}.break`;
  const breaker: LockOwner = { pid: process.pid, host: hostname(), token: randomUUID(), acquiredAt: new Date().toISOString() };
  if (!(await tryCreate(breakPath, breaker))) {
    // Another waiter is breaking it; if that waiter died mid-break, clear its break lock too.
    const other = await readLock(breakPath);
    if (other && isStale(other, staleLockMs)) await unlink(breakPath).catch(ignoreMissing);
    return false;
  }
  try {
    const again = await readLock(path);
    if (again && again.ino === seen.ino && again.raw === seen.raw && isStale(again, staleLockMs)) {
      await unlink(path).catch(ignoreMissing);
    }
  } finally {
    await unlink(breakPath).catch(ignoreMissing);
  }
  return true;
}

function isStale(lock: LockSnapshot, staleLockMs: number): boolean {
  if (Date.now() - lock.mtimeMs > staleLockMs) return true;
  return lock.owner !== null && lock.owner.host === hostname() && !isProcessAlive(lock.owner.pid);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return errnoCode(error) === 'EPERM';
  }
}

/** Reads the lock through one handle so that its inode and content belong together. */
async function readLock(path: string): Promise<LockSnapshot | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
  try {
    const stats = await handle.stat({ bigint: true });
    const raw = await handle.readFile('utf8');
    return { owner: parseOwner(raw), raw, ino: stats.ino, mtimeMs: Number(stats.mtimeMs) };
  } finally {
    await handle.close();
  }
}

/** Null while the creator has not written it yet, or if it is not a lock this code wrote. */
function parseOwner(raw: string): LockOwner | null {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return null;
    const { pid, host, token, acquiredAt } = value as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof host !== 'string' || typeof token !== 'string') return null;
    return { pid, host, token, acquiredAt: typeof acquiredAt === 'string' ? acquiredAt : '' };
  } catch {
    return null;
  }
}

function ignoreMissing(error: unknown): void {
  if (errnoCode(error) !== 'ENOENT') throw error;
}
