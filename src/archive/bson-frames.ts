// Concatenated BSON documents (an oplog chunk, a `mongodump` .bson file) cut back into one raw
// document each, without decoding them. Format (https://bsonspec.org/spec.html): a document
// starts with its total length as a little-endian int32, counting those 4 bytes and the
// trailing 0x00 terminator; the smallest document, `{}`, is 5 bytes.
//
// Memory bound: the bytes of the document being assembled plus the one input chunk it ends in.
// Each input byte is copied at most once (a document inside one chunk is not copied at all), so
// adversarial chunking, down to 1-byte pieces, stays linear.
import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { IntegrityError } from '../errors.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** `{}`: 4 length bytes and the terminator. */
export const MIN_BSON_FRAME_BYTES = 5;

/**
 * The largest document accepted: 16 MiB (the server's BSONObjMaxUserSize) plus 16 KiB, the
 * allowance mongorestore gives oplog entries, whose envelope (ts, ns, o2, ...) wraps a document
 * that may itself be 16 MiB (mongo-tools mongorestore/oplog.go, SetMaxBSONSize).
 */
export const MAX_BSON_FRAME_BYTES = 16 * MiB + 16 * KiB;

export interface BsonFramesOptions {
  /** Names the stream in error messages (an object key, a file path). */
  readonly label?: string;
}

/**
 * Yields each document of a stream of concatenated BSON documents as its raw bytes. A bad length
 * prefix, a missing 0x00 terminator or a truncated tail throws IntegrityError naming the byte
 * offset of the document at fault.
 */
export async function* readBsonFrames(
  source: AsyncIterable<Buffer | Uint8Array>,
  options: BsonFramesOptions = {},
): AsyncGenerator<Buffer> {
  const queue = new ChunkQueue();
  /** Offset, in the whole stream, of the first byte still in the queue. */
  let offset = 0;
  for await (const piece of source) {
    if (piece.byteLength === 0) continue;
    queue.push(toBuffer(piece));
    for (;;) {
      if (queue.length < 4) break;
      const size = queue.peekInt32LE();
      checkSize(size, offset, options.label);
      if (queue.length < size) break;
      const frame = queue.take(size);
      if (frame[size - 1] !== 0) {
        throw new IntegrityError(
          `${where(options.label)}: BSON document at byte offset ${offset} (${size} bytes) ` +
            'does not end with the 0x00 terminator',
          { hint: 'the object is corrupt or is not concatenated BSON' },
        );
      }
      offset += size;
      yield frame;
    }
  }
  if (queue.length > 0) {
    throw new IntegrityError(
      `${where(options.label)}: truncated BSON document at byte offset ${offset} ` +
        `(${queue.length} trailing bytes)`,
      { hint: 'the object was cut short: compare its size with the manifest, or re-upload it' },
    );
  }
}

/**
 * Reads the documents of a .bson file, plain or gzip-compressed (detected by the gzip magic
 * bytes 1f 8b, RFC 1952 §2.3.1, so `oplog.bson.gz` and `oplog.bson` both work whatever their
 * names say). Corrupt gzip data is an IntegrityError; file-system errors pass through as they are.
 */
export async function* readBsonFile(
  path: string,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<Buffer> {
  const gzip = await hasGzipMagic(path);
  const file = createReadStream(path, { signal: options.signal });
  if (!gzip) {
    try {
      yield* readBsonFrames(file, { label: path });
    } finally {
      file.destroy();
    }
    return;
  }
  const gunzip = createGunzip();
  file.on('error', (error) => gunzip.destroy(error));
  file.pipe(gunzip);
  try {
    yield* readBsonFrames(gunzip, { label: path });
  } catch (error) {
    if (isZlibError(error)) {
      throw new IntegrityError(`${path}: corrupt gzip data (${error.message})`, {
        cause: error,
        hint: 'the file is damaged or truncated: restore it from another copy',
      });
    }
    throw error;
  } finally {
    gunzip.destroy();
    file.destroy();
  }
}

/** True when a file starts with gzip's magic bytes, whatever its name says. */
export async function hasGzipMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && hasGzipHeader(head);
  } finally {
    await handle.close();
  }
}

/** True when bytes start with gzip's magic bytes 1f 8b (RFC 1952 §2.3.1). */
export function hasGzipHeader(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** zlib stream errors carry a Z_* code (Z_DATA_ERROR, Z_BUF_ERROR) and an errno. */
export function isZlibError(error: unknown): error is Error & { code: string } {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('Z_');
}

function checkSize(size: number, offset: number, label: string | undefined): void {
  if (size >= MIN_BSON_FRAME_BYTES && size <= MAX_BSON_FRAME_BYTES) return;
  throw new IntegrityError(
    `${where(label)}: invalid BSON document length ${size} at byte offset ${offset} ` +
      `(allowed ${MIN_BSON_FRAME_BYTES}..${MAX_BSON_FRAME_BYTES})`,
    { hint: 'the object is corrupt or is not concatenated BSON' },
  );
}

function where(label: string | undefined): string {
  return label ?? 'BSON stream';
}

function toBuffer(piece: Buffer | Uint8Array): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

/** What a consumed chunk's slot holds until compaction. */
const CONSUMED = Buffer.alloc(0);

/**
 * A FIFO of input chunks read as one byte string. `head` indexes the first live chunk and
 * `skip` the first live byte in it, so consuming never shifts the array element by element.
 */
class ChunkQueue {
  #chunks: Buffer[] = [];
  #head = 0;
  #skip = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The int32 at the front; needs `length >= 4`. */
  peekInt32LE(): number {
    const first = this.#chunks[this.#head];
    if (first.length - this.#skip >= 4) return first.readInt32LE(this.#skip);
    const bytes = Buffer.alloc(4);
    let filled = 0;
    for (let index = this.#head, skip = this.#skip; filled < 4; index++, skip = 0) {
      const chunk = this.#chunks[index];
      filled += chunk.copy(bytes, filled, skip, Math.min(chunk.length, skip + 4 - filled));
    }
    return bytes.readInt32LE(0);
  }

  /** Removes and returns the first `size` bytes; needs `length >= size`. */
  take(size: number): Buffer {
    const first = this.#chunks[this.#head];
    let result: Buffer;
    if (first.length - this.#skip >= size) {
      result = first.subarray(this.#skip, this.#skip + size);
      this.#advance(size);
    } else {
      result = Buffer.allocUnsafe(size);
      let filled = 0;
      while (filled < size) {
        const chunk = this.#chunks[this.#head];
        const count = Math.min(chunk.length - this.#skip, size - filled);
        chunk.copy(result, filled, this.#skip, this.#skip + count);
        filled += count;
        this.#advance(count);
      }
    }
    return result;
  }

  /** Consumes `count` bytes of the head chunk (never more than it holds). */
  #advance(count: number): void {
    this.#skip += count;
    this.#length -= count;
    if (this.#skip === this.#chunks[this.#head].length) {
      // Let go of the consumed chunk at once: the array slot would keep it (and with it every
      // chunk read so far, up to the compaction below) alive after its last frame is gone.
      this.#chunks[this.#head] = CONSUMED;
      this.#head++;
      this.#skip = 0;
      this.#compact();
    }
  }

  /** Drops the consumed slots once they outnumber the live ones. */
  #compact(): void {
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}
