// Counts and hashes bytes as they stream past, so what was stored can be compared with what the
// manifest says without reading it back whole.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export interface Digest {
  readonly bytes: number;
  readonly sha256: string;
}

/** A pass-through Transform that records byte count and sha256; read `digest()` after 'end'. */
export class DigestStream extends Transform {
  #hash: Hash = createHash('sha256');
  #bytes = 0;
  #hex: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#hex = this.#hash.digest('hex');
    callback();
  }

  digest(): Digest {
    if (this.#hex === undefined) throw new Error('DigestStream.digest() before the stream ended');
    return { bytes: this.#bytes, sha256: this.#hex };
  }
}
