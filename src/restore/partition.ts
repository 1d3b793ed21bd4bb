// Parallel replay that keeps each document's history in order: CRUD entries are spread over
// lanes by a hash of (namespace, _id); each lane sends its entries in batches, one batch at a
// time, so two ops on one document never race, while different lanes run at once.
// A barrier (a command, a transaction) waits for every lane to drain first.
// Memory bound: per lane, the batch being applied and the one filling, each at most batchOps
// entries or, past its first entry, batchBytes of BSON.
import { BSON } from 'mongodb';
import type { OplogEntry } from '../oplog-entry.ts';
import { idKey } from '../target/id-key.ts';

export const DEFAULT_LANES = 4;
export const DEFAULT_BATCH_OPS = 1000;
export const DEFAULT_BATCH_BYTES = 2 * 1024 * 1024;

/** The document an i/u/d entry touches. */
export function documentIdOf(entry: OplogEntry): unknown {
  return entry.op === 'u' ? entry.o2?._id : entry.o?._id;
}

/**
 * Lane for an entry. A document's lane comes from its `_id` as the `_id` index compares it
 * (id-key.ts): 1, 1.0, NumberLong(1) and NumberDecimal("1") are one document to MongoDB, so
 * they must share a lane, or an insert, a delete and a re-insert written by drivers that type
 * the number differently could race and lose the document. A serial namespace (see
 * serial-namespaces.ts: capped, or a non-simple default collation) has one lane for all its
 * writes, chosen by the namespace alone.
 */
export function laneOf(entry: OplogEntry, lanes: number, serial = false): number {
  if (lanes <= 1) return 0;
  const key = serial ? entry.ns : `${entry.ns}\0${idKey(documentIdOf(entry))}`;
  return fnv1a(key) % lanes;
}

/**
 * FNV-1a (32-bit) over UTF-16 code units: spreads keys evenly and costs a fraction of a
 * cryptographic digest per entry; nothing here needs collision resistance.
 */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

type Send = (batch: OplogEntry[]) => Promise<void>;

/** One lane: the batch filling, its BSON bytes, and the promise of the batch being applied. */
interface Lane {
  batch: OplogEntry[];
  bytes: number;
  tail: Promise<void>;
}

export interface PartitionerOptions {
  lanes?: number;
  batchOps?: number;
  batchBytes?: number;
  /**
   * Namespaces whose writes all go to one lane, in order. Asked on every push, so a change
   * (after a command, when every lane has drained) applies from the next entry on.
   */
  isSerial?: (ns: string) => boolean;
}

export class Partitioner {
  readonly #send: Send;
  readonly #batchOps: number;
  readonly #batchBytes: number;
  readonly #lanes: Lane[];
  readonly #isSerial: (ns: string) => boolean;
  #failure: unknown;

  constructor(send: Send, options: PartitionerOptions = {}) {
    const lanes = Math.max(1, options.lanes ?? DEFAULT_LANES);
    this.#send = send;
    this.#isSerial = options.isSerial ?? (() => false);
    this.#batchOps = options.batchOps ?? DEFAULT_BATCH_OPS;
    this.#batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.#lanes = Array.from({ length: lanes }, () => ({ batch: [], bytes: 0, tail: Promise.resolve() }));
  }

  /**
   * Queues an entry of `bytes` BSON bytes (computed when not given); resolves once its lane has
   * room (backpressure bounds memory).
   */
  async push(entry: OplogEntry, bytes = BSON.calculateObjectSize(entry)): Promise<void> {
    this.#throwIfFailed();
    // laneOf answers an index below the lane count.
    const lane = this.#lanes[laneOf(entry, this.#lanes.length, this.#isSerial(entry.ns))]!;
    if (lane.batch.length > 0 && lane.bytes + bytes > this.#batchBytes) await this.#flush(lane);
    lane.batch.push(entry);
    lane.bytes += bytes;
    if (lane.batch.length >= this.#batchOps || lane.bytes >= this.#batchBytes) await this.#flush(lane);
  }

  /** Waits for the lane's previous batch, then sends its buffer: at most two batches a lane. */
  async #flush(lane: Lane): Promise<void> {
    await lane.tail;
    this.#dispatch(lane);
  }

  /** Sends every buffered entry and waits for all lanes: the barrier before a command. */
  async drain(): Promise<void> {
    for (const lane of this.#lanes) this.#dispatch(lane);
    await Promise.all(this.#lanes.map((lane) => lane.tail));
    this.#throwIfFailed();
  }

  #dispatch(lane: Lane): void {
    const batch = lane.batch;
    if (batch.length === 0) return;
    lane.batch = [];
    lane.bytes = 0;
    lane.tail = lane.tail.then(() => {
      if (this.#failure === undefined) return this.#send(batch).catch((error: unknown) => {
        this.#failure ??= error;
      });
    });
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}
