// The mongodump --archive format, read (mongo-tools common/archive/spec.md, parser.go,
// prelude.go): magic 0x8199e26d, a prelude (a header document, one document per collection with
// its metadata.json text, 0xffffffff), then blocks of {db, collection, EOF, CRC} header +
// documents + 0xffffffff, interleaving namespaces; an EOF block carries the CRC-64 (crc64.ts) of
// the namespace's documents. The whole file may be gzip'ed (--archive --gzip).
// Streamed: one document (at most MAX_BSON_FRAME_BYTES) and one read chunk in memory; documents
// are passed on as raw BSON, only headers and the prelude are decoded.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { IntegrityError, UsageError } from '../errors.ts';
import { MAX_BSON_FRAME_BYTES, MIN_BSON_FRAME_BYTES, hasGzipMagic, isZlibError } from '../archive/bson-frames.ts';
import { decodeDocument } from '../archive/bson-decode.ts';
import { readOplogHeader } from '../archive/oplog-header.ts';
import type { Ts } from '../timestamp.ts';
import { Crc64 } from './crc64.ts';
import { bucketsCollection } from '../archive/timeseries-layout.ts';

/** mongo-tools common/archive: the archive's magic number and block terminator. */
export const ARCHIVE_MAGIC = 0x8199e26d;
const TERMINATOR = -1;
/** The only archive format version mongo-tools has written (common/archive/spec.md). */
const ARCHIVE_FORMAT_VERSION = '0.1';
/** The oplog's namespace in an archive: database "", collection "oplog". */
export const ARCHIVE_OPLOG_NS = archiveNs('', 'oplog');

export type ArchiveEvent =
  | { readonly kind: 'prelude'; readonly metadata: readonly Record<string, unknown>[] }
  | { readonly kind: 'document'; readonly ns: string; readonly raw: Buffer }
  | { readonly kind: 'eof'; readonly ns: string; readonly crc: bigint };

/** A namespace as the archive names it: `<db>.<collection>`, the oplog's being ".oplog". */
export function archiveNs(db: string, coll: string): string {
  return `${db}.${coll}`;
}

/** The namespace of one prelude document; a prelude entry must name its collection. */
export function preludeNamespace(entry: Record<string, unknown>): { db: string; coll: string; ns: string } {
  const db = typeof entry.db === 'string' ? entry.db : '';
  const coll = typeof entry.collection === 'string' ? entry.collection : '';
  if (!coll) throw new IntegrityError('archive prelude lists a collection without a name');
  return { db, coll, ns: archiveNs(db, coll) };
}

export interface ArchiveScan {
  readonly oplogFirst: Ts | undefined;
}

/**
 * One whole pass: checks the archive's structure and every namespace's CRC, and finds the
 * oplog's first entry. `onPrelude` sees the prelude before any block is read, so a caller
 * refuses what it cannot take before the whole file is checked.
 */
export async function scanArchive(
  path: string,
  options: { signal?: AbortSignal; onPrelude?: (metadata: readonly Record<string, unknown>[]) => void } = {},
): Promise<ArchiveScan> {
  const crcs = new Map<string, Crc64>();
  /** Namespaces the prelude lists, each of which must end with an EOF block. */
  let expected: Set<string> | undefined;
  let oplogFirst: Ts | undefined;
  const closed = new Set<string>();
  /** A time-series collection's data comes under `system.buckets.<coll>` (before 8.3): its listed namespace. */
  const listedAs = new Map<string, string>();
  for await (const event of readArchive(path, options.signal)) {
    if (event.kind === 'prelude') {
      options.onPrelude?.(event.metadata);
      expected = new Set(event.metadata.map((entry) => preludeNamespace(entry).ns));
      for (const entry of event.metadata.filter((candidate) => candidate.type === 'timeseries')) {
        const { db, coll, ns } = preludeNamespace(entry);
        listedAs.set(archiveNs(db, bucketsCollection(coll)), ns);
      }
      continue;
    }
    const ns = listedAs.get(event.ns) ?? event.ns;
    if (closed.has(ns)) throw new IntegrityError(`${path}: archive has data for ${event.ns} after its EOF block`);
    if (!expected?.has(ns) && ns !== ARCHIVE_OPLOG_NS) {
      throw new IntegrityError(`${path}: archive has data for ${event.ns}, which its prelude does not list`);
    }
    let crc = crcs.get(ns);
    if (!crc) crcs.set(ns, (crc = new Crc64()));
    if (event.kind === 'document') {
      crc.update(event.raw);
      if (ns === ARCHIVE_OPLOG_NS) oplogFirst ??= readOplogHeader(event.raw).ts;
      continue;
    }
    if (crc.value() !== BigInt.asUintN(64, event.crc)) {
      throw new IntegrityError(`${path}: CRC mismatch for ${event.ns}: the archive is corrupt`, { hint: 'make the archive again, or copy it again' });
    }
    closed.add(ns);
  }
  const unfinished = [...(expected ?? [])].filter((ns) => !closed.has(ns));
  if (unfinished.length > 0) {
    throw new IntegrityError(`${path}: the archive ends before ${unfinished.slice(0, 3).join(', ')} ${unfinished.length > 3 ? '...' : ''}is complete`, {
      hint: 'the archive is truncated: make or copy it again',
    });
  }
  return { oplogFirst };
}

/** Reads an archive (plain, or gzip'ed as a whole) as prelude, documents and EOFs. */
export async function* readArchive(path: string, signal?: AbortSignal): AsyncGenerator<ArchiveEvent> {
  const file = createReadStream(path, { signal });
  const gzip = await hasGzipMagic(path);
  const gunzip = gzip ? createGunzip() : undefined;
  if (gunzip) {
    file.on('error', (error) => gunzip.destroy(error));
    file.pipe(gunzip);
  }
  const reader = new ByteReader(gunzip ?? file, path);
  try {
    const magic = await reader.read(4);
    if (!magic || magic.readUInt32LE(0) !== ARCHIVE_MAGIC) {
      throw new UsageError(`${path} is not a mongodump archive (no archive magic number) nor a mongodump folder`);
    }
    const header = await reader.document();
    if (!header) throw new IntegrityError(`${path}: archive has no header`);
    const version = decodeDocument(header).version;
    if (version !== ARCHIVE_FORMAT_VERSION) {
      throw new UsageError(`${path}: archive format version ${String(version)}; this mongo-pitr reads ${ARCHIVE_FORMAT_VERSION}`);
    }
    const metadata: Record<string, unknown>[] = [];
    for (let doc = await reader.document(); doc; doc = await reader.document()) metadata.push(decodeDocument(doc));
    yield { kind: 'prelude', metadata };
    for (;;) {
      const block = await reader.document(true);
      if (block === undefined) return;
      if (block === null) throw new IntegrityError(`${path}: archive has an empty block`);
      const fields = decodeDocument(block);
      const ns = archiveNs(String(fields.db ?? ''), String(fields.collection ?? ''));
      if (!fields.collection) throw new IntegrityError(`${path}: archive block header without a collection`);
      if (fields.EOF === true) {
        if ((await reader.document()) !== null) throw new IntegrityError(`${path}: archive EOF block for ${ns} holds documents`);
        yield { kind: 'eof', ns, crc: bigintOf(fields.CRC) };
        continue;
      }
      for (let doc = await reader.document(); doc; doc = await reader.document()) yield { kind: 'document', ns, raw: doc };
    }
  } catch (error) {
    if (isZlibError(error)) {
      throw new IntegrityError(`${path}: corrupt gzip data (${error.message})`, { cause: error });
    }
    throw error;
  } finally {
    gunzip?.destroy();
    file.destroy();
  }
}

function bigintOf(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (value && typeof value === 'object' && typeof (value as { toBigInt?: unknown }).toBigInt === 'function') {
    return (value as { toBigInt(): bigint }).toBigInt();
  }
  return BigInt(Number(value ?? 0));
}

/** Exact reads from a stream: the next n bytes, or undefined at a clean end of stream. */
class ByteReader {
  readonly #iterator: AsyncIterator<Buffer>;
  readonly #label: string;
  #chunks: Buffer[] = [];
  #length = 0;
  #offset = 0;

  constructor(source: AsyncIterable<Buffer>, label: string) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#label = label;
  }

  async read(size: number): Promise<Buffer | undefined> {
    while (this.#length < size) {
      const next = await this.#iterator.next();
      if (next.done) {
        if (this.#length === 0) return undefined;
        throw new IntegrityError(`${this.#label}: archive truncated at byte ${this.#offset + this.#length}`, { hint: 'the archive was cut short: make or copy it again' });
      }
      this.#chunks.push(next.value);
      this.#length += next.value.length;
    }
    const joined = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    const result = joined.subarray(0, size);
    this.#chunks = joined.length > size ? [joined.subarray(size)] : [];
    this.#length -= size;
    this.#offset += size;
    return result;
  }

  /**
   * The next BSON document; null at a terminator (0xffffffff); undefined at the end of the
   * stream, accepted only where `endAllowed` (between blocks).
   */
  async document(endAllowed = false): Promise<Buffer | null | undefined> {
    const at = this.#offset;
    const head = await this.read(4);
    if (!head) {
      if (endAllowed) return undefined;
      throw new IntegrityError(`${this.#label}: archive truncated at byte ${at}`, { hint: 'the archive was cut short: make or copy it again' });
    }
    const size = head.readInt32LE(0);
    if (size === TERMINATOR) return null;
    if (size < MIN_BSON_FRAME_BYTES || size > MAX_BSON_FRAME_BYTES) throw new IntegrityError(`${this.#label}: invalid BSON document length ${size} at byte ${at} of the archive`);
    const rest = await this.read(size - 4);
    if (!rest || rest[rest.length - 1] !== 0) throw new IntegrityError(`${this.#label}: BSON document at byte ${at} of the archive does not end with 0x00`);
    return Buffer.concat([head, rest]);
  }
}
