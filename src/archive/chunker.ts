// Cuts one stream of oplog entries into chunks: a chunk ends before the entry that would take it
// past its uncompressed size limit or its time span. Pure over async iterables; it never holds
// more than the one entry it has peeked at.
import type { RawOplogEntry } from './oplog-header.ts';

const MiB = 1024 * 1024;
export const DEFAULT_CHUNK_BYTES = 16 * MiB;
export const DEFAULT_CHUNK_SPAN_SECONDS = 10 * 60;

export interface ChunkLimits {
  /** Uncompressed bytes per chunk. */
  readonly chunkBytes: number;
  /** Seconds of oplog time per chunk. */
  readonly chunkSpanSeconds: number;
}

export class Chunker {
  readonly #entries: AsyncIterator<RawOplogEntry>;
  readonly #limits: ChunkLimits;
  #next: RawOplogEntry | undefined;
  #done = false;

  constructor(entries: AsyncIterable<RawOplogEntry>, limits: ChunkLimits) {
    this.#entries = entries[Symbol.asyncIterator]();
    this.#limits = limits;
  }

  /** The entry the next chunk starts with, or undefined when the stream is over. */
  async peek(): Promise<RawOplogEntry | undefined> {
    if (this.#next === undefined && !this.#done) {
      const result = await this.#entries.next();
      if (result.done) this.#done = true;
      else this.#next = result.value;
    }
    return this.#next;
  }

  /** Yields the entries of the next chunk (at least one, if any are left). */
  async *nextChunk(): AsyncGenerator<RawOplogEntry> {
    const first = await this.peek();
    if (!first) return;
    let bytes = 0;
    for (let entry: RawOplogEntry | undefined = first; entry; entry = await this.peek()) {
      const full = bytes > 0 && bytes + entry.header.size > this.#limits.chunkBytes;
      const long = entry.header.ts.t - first.header.ts.t >= this.#limits.chunkSpanSeconds;
      if (full || long) return;
      this.#next = undefined;
      bytes += entry.header.size;
      yield entry;
    }
  }

  /** Closes the underlying stream (the oplog cursor) early. */
  async close(): Promise<void> {
    this.#done = true;
    await this.#entries.return?.();
  }
}
