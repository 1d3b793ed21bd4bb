// Reads archived-eligible oplog entries as raw BSON, from a checkpoint up to a commit point
// (readOplog), or from a checkpoint on as they are written (tailOplog).
// The checkpoint must still be the first entry at or after itself: if the oldest entry is newer,
// the capped oplog rolled over past it and the ops in between are lost to us (OplogGap).
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoServerError, type Document } from 'mongodb';
import { OplogGap } from '../errors.ts';
import { readOplogHeader, type RawOplogEntry } from '../archive/oplog-header.ts';
import { compareTs, formatTs, tsEquals, tsFromBson, tsToBson, type Ts } from '../timestamp.ts';
import type { Source } from './connect-source.ts';
import { readMajorityPoint, type CommitPoint } from './commit-point.ts';
import { timeLimit } from './time-limit.ts';
import { releaseDecision, sameEntry, termOf, type OpTime } from './optime.ts';

export interface OplogRange {
  /** The checkpoint: must be present in the oplog; null reads from the oplog's start. */
  readonly from: Ts | null;
  /** Whether to yield the checkpoint entry itself (a base's T0 op: yes; a chunk: no). */
  readonly includeFrom: boolean;
  /**
   * Inclusive upper bound: the majority commit point; null on a server that reports none, where
   * the read takes whatever is written by the time it gets to the end.
   */
  readonly upTo: CommitPoint | null;
}

/** Driver batches of this many entries keep round trips few without big client buffers. */
const OPLOG_BATCH_SIZE = 1000;

export async function* readOplog(source: Source, range: OplogRange, signal?: AbortSignal): AsyncGenerator<RawOplogEntry> {
  const upTo = range.upTo ? range.upTo.ts : 'open';
  if (!upTo) return;
  const filter: Document = upTo === 'open' ? {} : { ts: { $lte: tsToBson(upTo) } };
  if (range.from) filter.ts = { ...filter.ts, $gte: tsToBson(range.from) };
  const oplog = source.client.db('local').collection('oplog.rs');
  const cursor = oplog.find(filter, {
    raw: true,
    batchSize: OPLOG_BATCH_SIZE,
    sort: { $natural: 1 },
    readPreference: source.readPreference,
    ...timeLimit(source.deadline),
    // Only majority-committed ops are archived where the server can say which those are.
    ...(range.upTo?.kind === 'majority' ? { readConcern: { level: 'majority' as const } } : {}),
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
    if (first && range.from && (upTo === 'open' || compareTs(range.from, upTo) <= 0)) {
      throw new OplogGap(formatTs(range.from), await oldestTs(source));
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    await cursor.close();
  }
}

export interface TailOptions {
  /** The checkpoint: the last archived entry, which must still be in the oplog. */
  readonly from: Ts;
  /**
   * How long one wait for new entries lasts: the server's awaitData wait on a getMore, or the
   * pause before re-opening a cursor the server closed.
   */
  readonly idleMs: number;
}

/** How often to re-read the majority commit point while an entry waits to become majority-committed. */
const MAJORITY_POLL_MS = 50;
/** getMore failures after which the cursor's position is gone but the oplog may not be. */
const LOST_CURSOR_CODES: readonly number[] = [43 /* CursorNotFound */, 136 /* CappedPositionLost */];

/**
 * Yields the entries after `from` as they are written, each once and in ts order, and `null`
 * each time a wait for new ones ended empty, so a caller can act on time passing (flush a chunk).
 * Ends, without an error, when the signal fires. Reads with a tailable awaitData cursor; where
 * the server closes it (FerretDB closes a tailable cursor whose first batch is short, MongoDB one
 * that lost its position), re-opens from the last entry after `idleMs`, checking each time that
 * the entry is still there; where it hands back an entry again, re-opens at once.
 * On a server that reports a majority commit point, an entry waits until it is majority-committed
 * on the member being read, judged by its full optime (optime.ts): an entry of an old primary
 * that a failover rolls back is never yielded, even once the new term's majority point passes
 * its ts; the tail then re-opens from the last yielded entry. Memory: one driver batch.
 */
export async function* tailOplog(source: Source, options: TailOptions, signal?: AbortSignal): AsyncGenerator<RawOplogEntry | null> {
  let last = options.from;
  // Null where the server reports no majority point: then no entry waits.
  let committed = await readMajorityPoint(source.client, source.readPreference);
  const oplog = source.client.db('local').collection('oplog.rs');
  while (!signal?.aborted) {
    const cursor = oplog.find({ ts: { $gte: tsToBson(last) } }, {
      raw: true,
      tailable: true,
      awaitData: true,
      maxAwaitTimeMS: options.idleMs,
      batchSize: OPLOG_BATCH_SIZE,
      readPreference: source.readPreference,
    });
    const abort = (): void => void cursor.close();
    signal?.addEventListener('abort', abort, { once: true });
    let stale = false;
    try {
      let first = true;
      while (!cursor.closed && !signal?.aborted) {
        const document = await cursor.tryNext();
        if (document === null) {
          yield null;
          continue;
        }
        const raw = asBuffer(document);
        const header = readOplogHeader(raw);
        if (first) {
          first = false;
          if (!tsEquals(header.ts, last)) throw new OplogGap(formatTs(last), formatTs(header.ts));
          continue;
        }
        // An open tailable cursor can hand back entries it already returned (FerretDB replays
        // older ones on getMore): a new query from the last entry is the reliable answer.
        if (compareTs(header.ts, last) <= 0) {
          stale = true;
          break;
        }
        let verdict: 'release' | 'rolledBack' = 'release';
        for (let decision = decide(header, committed); decision !== 'release'; decision = decide(header, committed)) {
          if (decision === 'verify') {
            verdict = sameEntry({ ts: header.ts, t: header.term }, await entryAt(source, header.ts)) ? 'release' : 'rolledBack';
            break;
          }
          yield null; // time passes while the entry waits; the caller may seal what it has
          await sleep(MAJORITY_POLL_MS, undefined, { signal });
          committed = await readMajorityPoint(source.client, source.readPreference);
        }
        if (verdict === 'rolledBack') {
          stale = true; // the entries after `last` are being rewritten: read them again
          break;
        }
        last = header.ts;
        yield { raw, header };
      }
      if (first && !signal?.aborted) throw new OplogGap(formatTs(last), await oldestTs(source));
    } catch (error) {
      if (signal?.aborted) return;
      if (!(error instanceof MongoServerError && LOST_CURSOR_CODES.includes(Number(error.code)))) throw error;
    } finally {
      signal?.removeEventListener('abort', abort);
      await cursor.close();
    }
    if (stale) continue;
    yield null;
    try {
      await sleep(options.idleMs, undefined, { signal });
    } catch {
      return; // aborted
    }
  }
}

/** The release rule for one entry (optime.ts); no majority point reported means no wait. */
function decide(header: RawOplogEntry['header'], committed: CommitPoint | null): 'release' | 'wait' | 'verify' {
  if (!committed) return 'release';
  if (!committed.ts) return 'wait';
  return releaseDecision({ ts: header.ts, t: header.term }, { ts: committed.ts, t: committed.term });
}

/** The optime of the entry at `ts` in the member's oplog now, or null when there is none. */
async function entryAt(source: Source, ts: Ts): Promise<OpTime | null> {
  const entry = await source.client.db('local').collection('oplog.rs').findOne({ ts: tsToBson(ts) }, { projection: { ts: 1, t: 1 }, readPreference: source.readPreference, ...timeLimit(source.deadline) });
  return entry ? { ts: tsFromBson(entry.ts), t: termOf(entry.t) } : null;
}

async function oldestTs(source: Source): Promise<string | null> {
  const [oldest] = await source.client
    .db('local')
    .collection('oplog.rs')
    .find({}, { projection: { ts: 1 }, readPreference: source.readPreference, ...timeLimit(source.deadline) })
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
