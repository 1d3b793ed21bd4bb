// Reads archived-eligible oplog entries as raw BSON, from a checkpoint up to a commit point.
// The checkpoint must still be the first entry at or after itself: if the oldest entry is newer,
// the capped oplog rolled over past it and the ops in between are lost to us (OplogGap).
import type { Document } from 'mongodb';
import { OplogGap } from '../errors.ts';
import { readOplogHeader, type RawOplogEntry } from '../archive/oplog-header.ts';
import { compareTs, formatTs, tsEquals, tsFromBson, tsToBson, type Ts } from '../timestamp.ts';
import type { Source } from './connect-source.ts';
import type { CommitPoint } from './commit-point.ts';

export interface OplogRange {
  /** The checkpoint: must be present in the oplog; null reads from the oplog's start. */
  readonly from: Ts | null;
  /** Whether to yield the checkpoint entry itself (a base's T0 op: yes; a chunk: no). */
  readonly includeFrom: boolean;
  /** Inclusive upper bound: the commit point. */
  readonly upTo: CommitPoint;
}

/** Driver batches of this many entries keep round trips few without big client buffers. */
const OPLOG_BATCH_SIZE = 1000;

export async function* readOplog(source: Source, range: OplogRange, signal?: AbortSignal): AsyncGenerator<RawOplogEntry> {
  const upTo = range.upTo.ts;
  if (!upTo) return;
  const filter: Document = { ts: { $lte: tsToBson(upTo) } };
  if (range.from) filter.ts.$gte = tsToBson(range.from);
  const oplog = source.client.db('local').collection('oplog.rs');
  const cursor = oplog.find(filter, {
    raw: true,
    batchSize: OPLOG_BATCH_SIZE,
    sort: { $natural: 1 },
    readPreference: source.readPreference,
    // Only majority-committed ops are archived where the server can say which those are.
    ...(range.upTo.kind === 'majority' ? { readConcern: { level: 'majority' as const } } : {}),
  });
  const abort = (): void => void cursor.close();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    let first = true;
    for await (const document of cursor) {
      signal?.throwIfAborted();
      const raw = asBuffer(document);
      const header = readOplogHeader(raw);
      if (first) {
        first = false;
        if (range.from && !tsEquals(header.ts, range.from)) throw new OplogGap(formatTs(range.from), formatTs(header.ts));
        if (range.from && !range.includeFrom) continue;
      }
      yield { raw, header };
    }
    if (first && range.from && compareTs(range.from, upTo) <= 0) {
      throw new OplogGap(formatTs(range.from), await oldestTs(source));
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    await cursor.close();
  }
}

async function oldestTs(source: Source): Promise<string | null> {
  const [oldest] = await source.client
    .db('local')
    .collection('oplog.rs')
    .find({}, { projection: { ts: 1 }, readPreference: source.readPreference })
    .sort({ $natural: 1 })
    .limit(1)
    .toArray();
  return oldest ? formatTs(tsFromBson(oldest.ts)) : null;
}

/** With `raw: true` the driver yields the undecoded document bytes. */
function asBuffer(document: unknown): Buffer {
  if (document instanceof Uint8Array) return Buffer.from(document.buffer, document.byteOffset, document.byteLength);
  throw new TypeError('expected a raw BSON document from the driver');
}
