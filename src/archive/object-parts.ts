// A compacted object of encrypted pieces is the pieces' stored bytes one after the other
// (backup/compact.ts): compaction copies ciphertext, so it needs no key, whatever the cipher.
// An encrypted stream cannot simply be continued by another (age's STREAM ends with a final
// segment, and the next piece has its own header and file key), so a reader splits the object
// at the part sizes the manifest records and decrypts each part on its own; the decrypted parts
// are gzip members one after the other, which gunzip reads as one stream (RFC 1952, 2.2: a gzip
// file is a series of members).
// Memory bound: one piece of the incoming stream at a time, split where a part ends.
import { IntegrityError } from '../errors.ts';

/** A pipeline stage: bytes in, bytes out (crypt/age-cipher.ts ByteStage). */
export type PartStage = (source: AsyncIterable<Buffer>) => AsyncIterable<Buffer>;

export interface SplitPart {
  readonly storedBytes: number;
  /** What the part's bytes go through: its decryption, or a pass-through for a plain part. */
  readonly stage: PartStage;
}

/** Splits what streams through at the parts' sizes and runs each part through its own stage. */
export function partsStage(key: string, parts: readonly SplitPart[]): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* split(source) {
    const reader = new ByteReader(source[Symbol.asyncIterator]());
    for (const [index, part] of parts.entries()) {
      yield* part.stage(reader.take(part.storedBytes, () => new IntegrityError(`${key} ends inside part ${index + 1} of ${parts.length}: it was truncated`)));
      // A stage that stopped before its part's end (it should not) must not shift the next part.
      for await (const _ of reader.take(reader.leftIn(), () => new IntegrityError(`${key} is truncated`))) { /* drained */ }
    }
    if (!(await reader.atEnd())) throw new IntegrityError(`${key} holds more bytes than its ${parts.length} parts`);
  };
}

/** Reads exact byte counts off an iterator of buffers, keeping what a read did not need. */
class ByteReader {
  readonly #source: AsyncIterator<Buffer>;
  #pending: Buffer = Buffer.alloc(0);
  #left = 0;

  constructor(source: AsyncIterator<Buffer>) {
    this.#source = source;
  }

  /** Bytes of the current take not yet read. */
  leftIn(): number {
    return this.#left;
  }

  async *take(bytes: number, truncated: () => Error): AsyncGenerator<Buffer> {
    this.#left = bytes;
    while (this.#left > 0) {
      if (this.#pending.length === 0) {
        const next = await this.#source.next();
        if (next.done) throw truncated();
        this.#pending = next.value;
        continue;
      }
      const piece = this.#pending.subarray(0, this.#left);
      this.#pending = this.#pending.subarray(piece.length);
      this.#left -= piece.length;
      yield piece;
    }
  }

  async atEnd(): Promise<boolean> {
    while (this.#pending.length === 0) {
      const next = await this.#source.next();
      if (next.done) return true;
      this.#pending = next.value;
    }
    return false;
  }
}
