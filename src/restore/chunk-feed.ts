// Downloads a restore's oplog objects ahead of replay, in parallel, into a local folder, and
// hands them to replay in order: a window of many objects costs bandwidth, not round trips.
// Each object is checked against its recorded size and sha256 as it streams (download-chain.ts
// fetchVerified). Disk is bounded: downloads stay within `aheadBytes` of what replay has not
// finished yet, and each file is deleted once replay moves past it. When the whole window fits
// in that budget, every object is downloaded and verified before the target is touched
// (`allFetched` resolves before replay starts); a longer window is replayed while it downloads,
// and a missing or corrupt object then stops the restore at the object before it.
//
// Memory bound: the bookkeeping of the objects (their records) and the download streams' buffers.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { OplogObject } from '../archive/manifest.ts';
import type { Store } from '../store/store.ts';
import { fetchVerified } from './download-chain.ts';
import { requireIdentityFor } from '../crypt/store-cipher.ts';

export const DEFAULT_AHEAD_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_FEED_CONCURRENCY = 8;

interface Slot {
  readonly object: OplogObject;
  readonly file: string;
  done?: Promise<void>;
}

export class ChunkFeed {
  readonly #store: Store;
  readonly #slots: Slot[];
  readonly #concurrency: number;
  readonly #aheadBytes: number;
  readonly #signal: AbortSignal;
  readonly #stop = new AbortController();
  readonly #onObject: ((object: OplogObject) => void) | undefined;
  /** Next slot to start downloading; first slot replay has not finished. */
  #next = 0;
  #consumed = 0;
  #running = 0;
  #failure: unknown;
  #wake: (() => void) | undefined;

  constructor(store: Store, objects: readonly OplogObject[], dir: string, options: { concurrency?: number; aheadBytes?: number; signal?: AbortSignal; onObject?: (object: OplogObject) => void } = {}) {
    this.#store = store;
    this.#slots = objects.map((object, index) => ({ object, file: join(dir, 'oplog', `${String(index).padStart(9, '0')}.bson.gz`) }));
    this.#concurrency = options.concurrency ?? DEFAULT_FEED_CONCURRENCY;
    this.#aheadBytes = options.aheadBytes ?? DEFAULT_AHEAD_BYTES;
    this.#signal = options.signal ? AbortSignal.any([options.signal, this.#stop.signal]) : this.#stop.signal;
    this.#onObject = options.onObject;
    // Encrypted objects need the key before the first download starts, not halfway through replay.
    requireIdentityFor(store, objects);
    this.#pump();
  }

  /** True when every object fits in the budget: all are verified before replay needs them. */
  get fitsAhead(): boolean {
    return this.#slots.reduce((sum, slot) => sum + slot.object.storedBytes, 0) <= this.#aheadBytes;
  }

  /** Resolves once every object is downloaded and verified (use when `fitsAhead`). */
  async allFetched(): Promise<void> {
    for (let index = 0; index < this.#slots.length; index++) {
      while (!this.#slots[index]?.done) await this.#waitForProgress();
      await this.#slots[index]?.done;
    }
  }

  /** The files in order; each is deleted once the consumer asks for the next. */
  async *files(): AsyncGenerator<string> {
    for (let index = 0; index < this.#slots.length; index++) {
      const slot = this.#slots[index];
      if (!slot) break;
      while (!slot.done) await this.#waitForProgress();
      await slot.done;
      yield slot.file;
      await rm(slot.file, { force: true });
      this.#consumed = index + 1;
      this.#pump();
    }
  }

  /** Bytes started but not yet consumed. */
  #inFlightBytes(): number {
    let bytes = 0;
    for (let index = this.#consumed; index < this.#next; index++) bytes += this.#slots[index]?.object.storedBytes ?? 0;
    return bytes;
  }

  #pump(): void {
    while (this.#failure === undefined && this.#running < this.#concurrency && this.#next < this.#slots.length) {
      const slot = this.#slots[this.#next];
      if (!slot) break;
      // Always let the object replay needs next start; beyond it, stay inside the budget.
      if (this.#next > this.#consumed && this.#inFlightBytes() + slot.object.storedBytes > this.#aheadBytes) break;
      this.#next++;
      this.#running++;
      slot.done = fetchVerified(this.#store, slot.object, slot.file, this.#signal).then(
        () => {
          this.#running--;
          this.#onObject?.(slot.object);
          this.#pump();
          this.#wakeUp();
        },
        (error: unknown) => {
          this.#running--;
          this.#failure ??= error;
          this.#wakeUp();
          throw error;
        },
      );
      slot.done.catch(() => undefined);
    }
    this.#wakeUp();
  }

  #waitForProgress(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve) => {
      const previous = this.#wake;
      this.#wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Stops downloads still running (after a failure, or replay stopped at its cutoff) and waits for them. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#slots.map((slot) => slot.done));
  }
}
