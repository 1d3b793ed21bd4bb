// Oplog timestamps: a BSON Timestamp is (t = seconds since the epoch, i = ordinal in that second).
// This file is the one place that compares, prints, parses and orders them.
import { Timestamp } from 'mongodb';
import { UsageError } from './errors.ts';

/** A plain, JSON-friendly oplog timestamp. */
export interface Ts {
  readonly t: number;
  readonly i: number;
}

export function tsFromBson(ts: Timestamp): Ts {
  return { t: ts.high >>> 0, i: ts.low >>> 0 };
}

export function tsToBson(ts: Ts): Timestamp {
  return new Timestamp({ t: ts.t, i: ts.i });
}

export function compareTs(a: Ts, b: Ts): number {
  return a.t !== b.t ? a.t - b.t : a.i - b.i;
}

export function tsEquals(a: Ts, b: Ts): boolean {
  return a.t === b.t && a.i === b.i;
}

export function maxTs(a: Ts, b: Ts): Ts {
  return compareTs(a, b) >= 0 ? a : b;
}

/** "seconds:ordinal", the form mongorestore's --oplogLimit takes. */
export function formatTs(ts: Ts): string {
  return `${ts.t}:${ts.i}`;
}

/** Fixed-width and sortable, for object keys: "0001700000000-0000000042". */
export function tsKey(ts: Ts): string {
  return `${String(ts.t).padStart(13, '0')}-${String(ts.i).padStart(10, '0')}`;
}

export function parseTsKey(key: string): Ts {
  const match = /^(\d{13})-(\d{10})$/.exec(key);
  if (!match) throw new UsageError(`not a timestamp key: ${key}`);
  return { t: Number(match[1]), i: Number(match[2]) };
}

export function tsToDate(ts: Ts): Date {
  return new Date(ts.t * 1000);
}

/**
 * Where a restore stops. Entries at or after the cutoff are not applied (mongorestore
 * --oplogLimit). `wallMs` refines the cutoff inside second `ts.t`: an ISO time with milliseconds
 * is decided by each entry's `wall` clock, since the oplog ts carries only whole seconds.
 */
export interface Cutoff {
  readonly ts: Ts;
  readonly wallMs?: number;
  /** What the user typed, for messages. */
  readonly input: string;
}

const MAX_UINT32 = 0xffffffff;

/**
 * Parses --until: "secs:ordinal", epoch seconds (fractions allowed), or an ISO-8601 time.
 * `flag` names the option in messages (find's --from takes the same forms).
 */
export function parseCutoff(input: string, flag = '--until'): Cutoff {
  const text = input.trim();
  const ordinal = /^(\d+):(\d+)$/.exec(text);
  if (ordinal) {
    const t = Number(ordinal[1]);
    const i = Number(ordinal[2]);
    if (t > MAX_UINT32 || i > MAX_UINT32) throw new UsageError(`${flag} ${input}: out of range`);
    return { ts: { t, i }, input };
  }
  const epoch = /^(\d+)(?:\.(\d{1,3})\d*)?$/.exec(text);
  if (epoch) {
    const t = Number(epoch[1]);
    if (t > MAX_UINT32) throw new UsageError(`${flag} ${input}: out of range`);
    if (epoch[2] === undefined) return { ts: { t, i: 0 }, input };
    const ms = Number(epoch[2].padEnd(3, '0'));
    return cutoffFromMs(t * 1000 + ms, input, flag);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new UsageError(`${flag} ${input}: not a valid ISO-8601 time`);
    return cutoffFromMs(ms, input, flag);
  }
  throw new UsageError(
    `${flag} ${input}: expected an ISO-8601 time, epoch seconds, or seconds:ordinal`,
  );
}

function cutoffFromMs(ms: number, input: string, flag: string): Cutoff {
  if (ms < 0) throw new UsageError(`${flag} ${input}: before 1970`);
  const t = Math.floor(ms / 1000);
  if (ms % 1000 === 0) return { ts: { t, i: 0 }, input };
  return { ts: { t, i: 0 }, wallMs: ms, input };
}

/**
 * True when an entry is applied under the cutoff. Without `wallMs` this is `ts < cutoff.ts`.
 * With it, entries of second `ts.t` are decided by `wall`; an entry of that second without a
 * wall clock (MongoDB before 3.6) is treated as at the cutoff and not applied.
 */
export function isBeforeCutoff(ts: Ts, wall: Date | undefined, cutoff: Cutoff | undefined): boolean {
  if (!cutoff) return true;
  if (cutoff.wallMs === undefined || ts.t !== cutoff.ts.t) return compareTs(ts, cutoff.ts) < 0;
  return wall !== undefined && wall.getTime() < cutoff.wallMs;
}
