// Parallel replay that keeps each document's history in order: CRUD entries are spread over
// lanes by a hash of (namespace, _id); each lane sends its entries in batches, one batch at a
// time, so two ops on one document never race, while different lanes run at once.
// A barrier (a command, a transaction) waits for every lane to drain first.
// Memory bound: per lane, the batch being applied and the one filling, each at most batchOps
// entries or, past its first entry, batchBytes of BSON.
import { createHash } from 'node:crypto';
import { BSON } from 'mongodb';
import type { OplogEntry } from '../oplog-entry.ts';

export const DEFAULT_LANES = 4;
export const DEFAULT_BATCH_OPS = 1000;
export const DEFAULT_BATCH_BYTES = 2 * 1024 * 1024;

/** The document an i/u/d entry touches. */
export function documentIdOf(entry: OplogEntry): unknown {
  return entry.op === 'u' ? entry.o2?._id : entry.o?._id;
}

/** Lane for an entry: stable for one (ns, _id), whatever the _id's BSON type. */
export function laneOf(entry: OplogEntry, lanes: number): number {
  if (lanes <= 1) return 0;
  const id = BSON.serialize({ _id: documentIdOf(entry) });
  const digest = createHash('sha1').update(entry.ns).update(id).digest();
  return digest.readUInt32LE(0) % lanes;
}

type Send = (batch: OplogEntry[]) => Promise<void>;

export class Partitioner {
  readonly #send: Send;
  readonly #batchOps: number;
  readonly #batchBytes: number;
  readonly #buffers: OplogEntry[][];
  readonly #bytes: number[];
  readonly #tails: Promise<void>[];
  #failure: unknown;

  constructor(send: Send, options: { lanes?: number; batchOps?: number; batchBytes?: number } = {}) {
    const lanes = Math.max(1, options.lanes ?? DEFAULT_LANES);
    this.#send = send;
    this.#batchOps = options.batchOps ?? DEFAULT_BATCH_OPS;
    this.#batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.#buffers = Array.from({ length: lanes }, () => []);
    this.#bytes = Array.from({ length: lanes }, () => 0);
    this.#tails = Array.from({ length: lanes }, () => Promise.resolve());
  }

  /**
   * Queues an entry of `bytes` BSON bytes (computed when not given); resolves once its lane has
   * room (backpressure bounds memory).
   */
  async push(entry: OplogEntry, bytes = BSON.calculateObjectSize(entry)): Promise<void> {
    this.#throwIfFailed();
    const lane = laneOf(entry, this.#buffers.length);
    if ((this.#buffers[lane]?.length ?? 0) > 0 && (this.#bytes[lane] ?? 0) + bytes > this.#batchBytes) await this.#flush(lane);
    this.#buffers[lane]?.push(entry);
    this.#bytes[lane] = (this.#bytes[lane] ?? 0) + bytes;
    if ((this.#buffers[lane]?.length ?? 0) >= this.#batchOps || (this.#bytes[lane] ?? 0) >= this.#batchBytes) await this.#flush(lane);
  }

  /** Waits for the lane's previous batch, then sends its buffer: at most two batches a lane. */
  async #flush(lane: number): Promise<void> {
    await this.#tails[lane];
    this.#dispatch(lane);
  }

  /** Sends every buffered entry and waits for all lanes: the barrier before a command. */
  async drain(): Promise<void> {
    for (let lane = 0; lane < this.#buffers.length; lane++) this.#dispatch(lane);
    await Promise.all(this.#tails);
    this.#throwIfFailed();
  }

  #dispatch(lane: number): void {
    const batch = this.#buffers[lane] ?? [];
    if (batch.length === 0) return;
    this.#buffers[lane] = [];
    this.#bytes[lane] = 0;
    this.#tails[lane] = (this.#tails[lane] ?? Promise.resolve()).then(() => {
      if (this.#failure === undefined) return this.#send(batch).catch((error: unknown) => {
        this.#failure ??= error;
      });
    });
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}
