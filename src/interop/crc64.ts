// The checksum a mongodump --archive puts in each namespace's EOF block (mongo-tools
// common/archive/spec.md; mongo-tools computes it with Go's hash/crc64 and the ECMA table).
/**
 * CRC-64 as Go's hash/crc64 with the ECMA table computes it (reflected polynomial
 * 0xC96C5795D7870F42, initial and final complement; "CRC-64/XZ", check value
 * 0x995DC9BBDF1939FA for "123456789"). Two 32-bit halves keep it fast without BigInt per byte.
 */
export class Crc64 {
  static readonly #table = Crc64.#makeTable();
  #hi = 0xffffffff;
  #lo = 0xffffffff;

  static #makeTable(): { hi: Uint32Array; lo: Uint32Array } {
    const hi = new Uint32Array(256);
    const lo = new Uint32Array(256);
    for (let index = 0; index < 256; index++) {
      let h = 0;
      let l = index;
      for (let bit = 0; bit < 8; bit++) {
        const carry = l & 1;
        l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
        h >>>= 1;
        if (carry) {
          h = (h ^ 0xc96c5795) >>> 0;
          l = (l ^ 0xd7870f42) >>> 0;
        }
      }
      hi[index] = h;
      lo[index] = l;
    }
    return { hi, lo };
  }

  update(bytes: Uint8Array): this {
    const { hi: tableHi, lo: tableLo } = Crc64.#table;
    let hi = this.#hi;
    let lo = this.#lo;
    for (let index = 0; index < bytes.length; index++) {
      const slot = (lo ^ (bytes[index] ?? 0)) & 0xff;
      lo = ((tableLo[slot] ?? 0) ^ ((lo >>> 8) | (hi << 24))) >>> 0;
      hi = ((tableHi[slot] ?? 0) ^ (hi >>> 8)) >>> 0;
    }
    this.#hi = hi;
    this.#lo = lo;
    return this;
  }

  /** The checksum of everything so far, unsigned. */
  value(): bigint {
    return (BigInt((~this.#hi) >>> 0) << 32n) | BigInt((~this.#lo) >>> 0);
  }
}
