import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BSON } from 'mongodb';
import {
  MAX_BSON_FRAME_BYTES,
  readBsonFile,
  readBsonFrames,
} from '../../../src/archive/bson-frames.ts';
import { IntegrityError } from '../../../src/errors.ts';
import { SHARED_DIR } from '../../support/test-env.ts';
import { waitFor } from '../../support/wait-for.ts';

const FIXTURES = join(SHARED_DIR, 'fixtures');

/** Documents per .bson fixture, counted by hand from their EJSON dumps. */
const FRAME_COUNTS: Record<string, number> = {
  'mongo-tools/collMod_ttl_index/admin/system.version.bson': 1,
  'mongo-tools/collMod_ttl_index/mongodump_test_db/coll1.bson': 10,
  'mongo-tools/collMod_ttl_index/oplog.bson': 2,
  'mongo-tools/commit_indexes_build/oplog.bson': 17,
  'mongo-tools/create_indexes/oplog.bson': 16,
  'mongo-tools/dump_with_noop_in_oplog/oplog.bson': 4,
  'mongo-tools/duplicate_index_key_with_oplog/oplog.bson': 2,
  'mongo-tools/duplicate_index_key_with_oplog/test/foo.bson': 2,
  'mongo-tools/oplog_partial_skips/oplog.bson': 21,
  'mongo-tools/oplogdump/admin/system.version.bson': 1,
  'mongo-tools/oplogdump/db1/c1.bson': 5,
  'mongo-tools/oplogdump/oplog.bson': 3,
  'mongo-tools/oplogs/bson/bypassDocumentValidation.bson': 6,
  'mongo-tools/oplogs/bson/collMod.bson': 1,
  'mongo-tools/oplogs/bson/collMod_indexUniqueness.bson': 25,
  'mongo-tools/oplogs/bson/collMod_with_hidden.bson': 2,
  'mongo-tools/oplogs/bson/commit_index.bson': 2,
  'mongo-tools/oplogs/bson/create_index.bson': 1,
  'mongo-tools/oplogs/bson/drop_collection.bson': 1,
  'mongo-tools/oplogs/bson/drop_db.bson': 1,
  'mongo-tools/oplogs/bson/drop_index.bson': 1,
  'mongo-tools/oplogs/bson/linked_vectored_inserts.bson': 2,
  'mongo-tools/oplogs/bson/vectored_insert.bson': 1,
  'mongo-tools/timeseries/ts_dump/admin/system.version.bson': 1,
  'mongo-tools/timeseries/ts_dump/admin/system.views.bson': 0,
  'mongo-tools/timeseries/ts_dump/timeseries_test/system.buckets.foo_ts.bson': 10,
  'mongo-tools/timeseries/ts_dump_with_oplog/admin/system.version.bson': 1,
  'mongo-tools/timeseries/ts_dump_with_oplog/admin/system.views.bson': 0,
  'mongo-tools/timeseries/ts_dump_with_oplog/config/external_validation_keys.bson': 0,
  'mongo-tools/timeseries/ts_dump_with_oplog/config/tenantMigrationDonors.bson': 0,
  'mongo-tools/timeseries/ts_dump_with_oplog/config/tenantMigrationRecipients.bson': 0,
  'mongo-tools/timeseries/ts_dump_with_oplog/oplog.bson': 872,
  'mongo-tools/timeseries/ts_dump_with_oplog/timeseries_test/system.buckets.foo_ts.bson': 10,
};

async function bsonFixtures(): Promise<string[]> {
  const names = await readdir(FIXTURES, { recursive: true });
  return names.filter((name) => name.endsWith('.bson')).sort();
}

async function* pieces(bytes: Uint8Array, sizes: () => number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; ) {
    const size = Math.max(1, sizes());
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

/** An async iterable over the given pieces, the way a stream hands them out. */
async function* from(...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

async function collect(frames: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const frame of frames) out.push(frame);
  return out;
}

/** A small deterministic PRNG (mulberry32) so that chunkings are reproducible. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function integrity(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof IntegrityError, `expected IntegrityError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('readBsonFrames on the fixtures', () => {
  it('knows every .bson fixture', async () => {
    assert.deepEqual(await bsonFixtures(), Object.keys(FRAME_COUNTS).sort());
  });

  for (const [name, count] of Object.entries(FRAME_COUNTS)) {
    it(`${name}: ${count} documents, whatever the chunking`, async () => {
      const bytes = await readFile(join(FIXTURES, name));
      const whole = await collect(readBsonFrames(from(bytes)));
      assert.equal(whole.length, count);
      assert.equal(Buffer.concat(whole).length, bytes.length);
      for (const frame of whole) BSON.deserialize(frame); // each frame is one whole document
      const rng = random(bytes.length);
      const chunkings: Array<[string, () => number]> = [
        ['1-byte', () => 1],
        ['3-byte', () => 3],
        ['random', () => Math.floor(rng() * 97)],
      ];
      for (const [label, sizes] of chunkings) {
        const frames = await collect(readBsonFrames(pieces(bytes, sizes)));
        assert.equal(frames.length, count, label);
        frames.forEach((frame, index) => assert.ok(frame.equals(whole[index]), `${label} #${index}`));
      }
    });
  }
});

describe('readBsonFrames on bad input', () => {
  const docs = [{ a: 1 }, { b: 'two' }, { c: [3] }].map((doc) => Buffer.from(BSON.serialize(doc)));
  const stream = Buffer.concat(docs);

  it('yields nothing for an empty stream', async () => {
    assert.deepEqual(await collect(readBsonFrames(from())), []);
    assert.deepEqual(await collect(readBsonFrames(from(Buffer.alloc(0)))), []);
  });

  it('accepts Uint8Array pieces', async () => {
    const frames = await collect(readBsonFrames(from(new Uint8Array(stream))));
    assert.equal(frames.length, 3);
    assert.ok(Buffer.isBuffer(frames[0]));
  });

  it('reports a truncated tail with the offset of the document it cuts', async () => {
    const cut = stream.subarray(0, stream.length - 2);
    const offset = docs[0].length + docs[1].length;
    await assert.rejects(
      collect(readBsonFrames(pieces(cut, () => 1), { label: 'chunk-7' })),
      integrity(new RegExp(`chunk-7: truncated BSON document at byte offset ${offset} `)),
    );
  });

  it('reports a tail too short to hold a length', async () => {
    const cut = Buffer.concat([docs[0], Buffer.from([7, 0])]);
    await assert.rejects(collect(readBsonFrames(from(cut))), integrity(new RegExp(`offset ${docs[0].length} \\(2 trailing`)));
  });

  it('refuses a length below 5', async () => {
    const bad = Buffer.concat([docs[0], Buffer.from([4, 0, 0, 0, 0])]);
    await assert.rejects(collect(readBsonFrames(from(bad))), integrity(new RegExp(`invalid BSON document length 4 at byte offset ${docs[0].length} `)));
  });

  it('refuses a negative length', async () => {
    const bad = Buffer.from([0xff, 0xff, 0xff, 0xff, 0]);
    await assert.rejects(collect(readBsonFrames(from(bad))), integrity(/length -1 at byte offset 0/));
  });

  it('refuses a length above 16 MiB + 16 KiB as soon as the prefix is read', async () => {
    // The server's BSONObjMaxInternalSize: BSONObjMaxUserSize (16 MiB) + 16 KiB of command
    // overhead (src/mongo/bson/bsonobj.h); an oplog entry may be that large.
    assert.equal(MAX_BSON_FRAME_BYTES, 16_793_600);
    const header = Buffer.alloc(4);
    header.writeInt32LE(16_793_601);
    // No body follows: the error must come from the length, not from a truncation.
    await assert.rejects(collect(readBsonFrames(from(header))), integrity(/invalid BSON document length 16793601/));
  });

  it('accepts a document of exactly the maximum length', async () => {
    const doc = Buffer.from(BSON.serialize({ big: Buffer.alloc(1024) }));
    const max = Buffer.alloc(16_793_600);
    doc.copy(max);
    max.writeInt32LE(16_793_600, 0);
    max[16_793_600 - 1] = 0;
    const frames = await collect(readBsonFrames(pieces(max, () => 65536)));
    assert.equal(frames.length, 1);
    assert.equal(frames[0].length, 16_793_600);
  });

  it('refuses a document without its 0x00 terminator', async () => {
    const bad = Buffer.from(docs[1]);
    bad[bad.length - 1] = 1;
    await assert.rejects(
      collect(readBsonFrames(from(docs[0], bad))),
      integrity(new RegExp(`document at byte offset ${docs[0].length} \\(${bad.length} bytes\\) does not end with the 0x00`)),
    );
  });

  it('assembles a large document from 1-byte pieces in linear time: bytes copied grow with the input, not its square', async () => {
    // Counted, not timed: a reader that re-concatenates its buffer on each piece copies
    // n²/2 bytes (~2 GB here); this one copies each byte once into its frame, and re-reads the
    // 4-byte length prefix (gathered across pieces) once per piece while a frame is incomplete.
    const doc = Buffer.from(BSON.serialize({ blob: Buffer.alloc(32 * 1024, 7) }));
    const input = Buffer.concat([doc, doc]);
    const copied = { bytes: 0 };
    const { concat } = Buffer;
    const { copy } = Buffer.prototype;
    const { set } = Uint8Array.prototype;
    Buffer.concat = function (list: readonly Uint8Array[], length?: number) {
      const result = concat.call(Buffer, list, length);
      copied.bytes += result.length;
      return result;
    } as typeof Buffer.concat;
    Buffer.prototype.copy = function (this: Buffer, ...args: Parameters<Buffer['copy']>) {
      const count = copy.apply(this, args);
      copied.bytes += count;
      return count;
    };
    Uint8Array.prototype.set = function (this: Uint8Array, array: ArrayLike<number>, offset?: number) {
      copied.bytes += array.length;
      return set.call(this, array, offset);
    } as typeof Uint8Array.prototype.set;
    let frames: Buffer[];
    try {
      frames = await collect(readBsonFrames(pieces(input, () => 1)));
    } finally {
      Buffer.concat = concat;
      Buffer.prototype.copy = copy;
      Uint8Array.prototype.set = set;
    }
    assert.equal(frames.length, 2);
    assert.ok(frames[1]?.equals(doc));
    const pieceCount = input.length;
    assert.ok(copied.bytes <= input.length + 4 * pieceCount, `${copied.bytes} bytes copied for ${input.length} bytes of input`);
  });
});

describe('readBsonFile', () => {
  const name = 'mongo-tools/oplog_partial_skips/oplog.bson';

  async function withTemp(run: (dir: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'bson-frames-'));
    try {
      await run(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('reads a plain file', async () => {
    const frames = await collect(readBsonFile(join(FIXTURES, name)));
    assert.equal(frames.length, FRAME_COUNTS[name]);
  });

  it('reads a gzip file, detected by its magic bytes whatever its name', async () => {
    await withTemp(async (dir) => {
      const bytes = await readFile(join(FIXTURES, name));
      const path = join(dir, 'oplog.bson'); // no .gz suffix on purpose
      await writeFile(path, gzipSync(bytes));
      const frames = await collect(readBsonFile(path));
      assert.equal(frames.length, FRAME_COUNTS[name]);
      assert.ok(Buffer.concat(frames).equals(bytes));
    });
  });

  it('reads concatenated gzip members', async () => {
    await withTemp(async (dir) => {
      const bytes = await readFile(join(FIXTURES, name));
      const path = join(dir, 'two.bson.gz');
      await writeFile(path, Buffer.concat([gzipSync(bytes), gzipSync(bytes)]));
      assert.equal((await collect(readBsonFile(path))).length, 2 * FRAME_COUNTS[name]);
    });
  });

  it('reads an empty file', async () => {
    await withTemp(async (dir) => {
      const path = join(dir, 'empty.bson');
      await writeFile(path, Buffer.alloc(0));
      assert.deepEqual(await collect(readBsonFile(path)), []);
    });
  });

  it('turns corrupt gzip data into an IntegrityError', async () => {
    await withTemp(async (dir) => {
      const bytes = gzipSync(await readFile(join(FIXTURES, name)));
      const path = join(dir, 'cut.bson.gz');
      await writeFile(path, bytes.subarray(0, bytes.length - 20));
      await assert.rejects(collect(readBsonFile(path)), (error: unknown) => {
        assert.ok(error instanceof IntegrityError);
        assert.match(error.message, /cut\.bson\.gz/);
        return true;
      });
    });
  });

  it('reports a truncated plain file with its path', async () => {
    await withTemp(async (dir) => {
      const bytes = await readFile(join(FIXTURES, name));
      const path = join(dir, 'cut.bson');
      await writeFile(path, bytes.subarray(0, bytes.length - 1));
      await assert.rejects(collect(readBsonFile(path)), integrity(/cut\.bson: truncated BSON document/));
    });
  });

  it('lets a missing file fail as the file system says', async () => {
    await assert.rejects(collect(readBsonFile(join(FIXTURES, 'nope.bson'))), { code: 'ENOENT' });
  });

  it('stops reading when the consumer stops early: the file is closed, plain or gzip', { skip: process.platform !== 'linux' && 'reads /proc/self/fd' }, async () => {
    await withTemp(async (dir) => {
      // 4 MiB that gzip cannot shrink much: many reads of the default 64 KiB either way, so a
      // reader that went on would still hold the file open.
      const frames = Array.from({ length: 1024 }, () => BSON.serialize({ pad: randomBytes(3000).toString('base64') }));
      const frame = { length: frames[0]?.length ?? 0 };
      const body = Buffer.concat(frames);
      for (const [file, bytes] of [['big.bson', body], ['big.bson.gz', gzipSync(body, { level: 1 })]] as const) {
        const path = join(dir, file);
        await writeFile(path, bytes);
        const open = async () => (await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')))).includes(path);
        let seen = 0;
        for await (const read of readBsonFile(path)) {
          assert.equal(read.length, frame.length);
          assert.ok(await open(), `${file} is open while frames are read`);
          if (++seen === 3) break;
        }
        // The close is asynchronous (fs.close): wait for it, with a deadline.
        await waitFor(`${file} closed after the consumer stopped`, async () => !(await open()), 10_000);
      }
    });
  });
});

describe('readBsonFrames memory', () => {
  it('lets go of consumed input chunks while the stream goes on', async () => {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const frame = BSON.serialize({ pad: 'x'.repeat(1000) });
    // Pieces of 997 bytes (a prime): frames straddle pieces, and the queue never runs empty.
    const stream = Buffer.concat(Array.from({ length: 400 }, () => frame));
    const refs: WeakRef<Buffer>[] = [];
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let at = 0; at < stream.length; at += 997) {
        const piece = Buffer.from(stream.subarray(at, at + 997));
        refs.push(new WeakRef(piece));
        yield piece;
      }
    }
    let frames = 0;
    let retained = -1;
    for await (const raw of readBsonFrames(pieces())) {
      assert.equal(raw.length, frame.length);
      if (++frames === 300) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
        gc();
        retained = refs.filter((ref) => ref.deref() !== undefined).length;
      }
    }
    assert.equal(frames, 400);
    // The piece being read and the one the last frame came from, not the ~300 read before.
    assert.ok(retained >= 0 && retained <= 3, `${retained} of ${refs.length} pieces still held`);
  });
});
