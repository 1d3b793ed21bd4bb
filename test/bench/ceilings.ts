// What the machine and the servers can do at best, measured in the same run on the same data:
//   read ceiling   — bare driver cursors (raw: true, the batch size mongo-pitr uses) draining the
//                    seeded collections, as many at once as mongo-pitr dumps;
//   gzip ceiling   — node:zlib gzip (default level, as createGzip) of the same raw BSON, one core,
//                    in memory-bounded chunks, timing only the compression;
//   oplog ceiling  — a bare raw cursor over the same oplog range mongo-pitr archives;
//   write ceiling  — unordered insertMany of the same documents into a scratch database on the
//                    restore target, as many batches in flight as mongo-pitr's loader.
import { gzipSync } from 'node:zlib';
import { Timestamp, type Document, type MongoClient } from 'mongodb';
import { makeDocument } from './documents.ts';

const BATCH = 1000;
const MiB = 1024 * 1024;
const GZIP_CHUNK_BYTES = 8 * MiB;

export interface ReadCeiling {
  readonly docs: number;
  readonly bytes: number;
  readonly ms: number;
}

export async function readCeiling(client: MongoClient, db: string, collections: readonly string[], concurrency: number): Promise<ReadCeiling> {
  const started = performance.now();
  const queue = [...collections];
  let docs = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      for await (const raw of client.db(db).collection(name).find({}, { raw: true, batchSize: BATCH })) {
        docs++;
        bytes += (raw as unknown as Uint8Array).byteLength;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, collections.length) }, worker));
  return { docs, bytes, ms: performance.now() - started };
}

export interface GzipCeiling {
  /** Raw bytes compressed (all of them, or the first `sampleBytes`). */
  readonly bytes: number;
  readonly gzBytes: number;
  /** Time spent compressing only. */
  readonly ms: number;
}

export async function gzipCeiling(client: MongoClient, db: string, collections: readonly string[], sampleBytes: number): Promise<GzipCeiling> {
  let parts: Uint8Array[] = [];
  let pending = 0;
  const result = { bytes: 0, gzBytes: 0, ms: 0 };
  const compress = (): void => {
    const input = Buffer.concat(parts);
    const started = performance.now();
    const output = gzipSync(input);
    result.ms += performance.now() - started;
    result.bytes += input.length;
    result.gzBytes += output.length;
    parts = [];
    pending = 0;
  };
  outer: for (const name of collections) {
    for await (const raw of client.db(db).collection(name).find({}, { raw: true, batchSize: BATCH })) {
      const bytes = raw as unknown as Uint8Array;
      parts.push(bytes);
      pending += bytes.byteLength;
      if (pending >= GZIP_CHUNK_BYTES) compress();
      if (result.bytes >= sampleBytes) break outer;
    }
  }
  if (pending > 0) compress();
  return result;
}

export interface OplogCeiling {
  readonly ops: number;
  readonly bytes: number;
  readonly ms: number;
}

/** Drains the oplog entries after `after` (the base's end), oldest first, as mongo-pitr reads them. */
export async function oplogCeiling(client: MongoClient, after: { t: number; i: number }): Promise<OplogCeiling> {
  const started = performance.now();
  let ops = 0;
  let bytes = 0;
  const cursor = client
    .db('local')
    .collection('oplog.rs')
    .find({ ts: { $gt: new Timestamp({ t: after.t, i: after.i }) } }, { raw: true, batchSize: BATCH, sort: { $natural: 1 } });
  for await (const raw of cursor) {
    ops++;
    bytes += (raw as unknown as Uint8Array).byteLength;
  }
  return { ops, bytes, ms: performance.now() - started };
}

export interface WriteCeiling {
  readonly docs: number;
  readonly ms: number;
}

/** Unordered insertMany of documents [0, docs) into `db.<collection>`, `concurrency` batches in flight. */
export async function writeCeiling(client: MongoClient, db: string, docs: number, concurrency: number): Promise<WriteCeiling> {
  const collection = client.db(db).collection('ceiling');
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let start = 0; start < docs; start += BATCH) {
    const batch: Document[] = [];
    for (let n = start; n < Math.min(docs, start + BATCH); n++) batch.push(makeDocument(n));
    const write: Promise<void> = collection.insertMany(batch, { ordered: false }).then(() => void inFlight.delete(write));
    inFlight.add(write);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return { docs, ms: performance.now() - started };
}
