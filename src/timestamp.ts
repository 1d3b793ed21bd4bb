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
/** hh:mm or hh:mm:ss, hours 0-23. */
const CLOCK_TIME = /^([01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?$/;

/**
 * Parses --until: "secs:ordinal", epoch seconds (fractions allowed), or an ISO-8601 time.
 * `flag` names the option in messages (find's --from takes the same forms).
 */
export function parseCutoff(input: string, flag = '--until'): Cutoff {
  const text = input.trim();
  // "12:01" or "12:01:30" is a clock time, not seconds:ordinal (second 12 of 1970): no oplog
  // has entries there, so the form is refused rather than read as the start of the epoch.
  if (CLOCK_TIME.test(text)) {
    throw new UsageError(`${flag} ${input}: a time of day has no date or zone`, {
      hint: 'give both, e.g. 2026-11-30T12:01:00Z or 2026-11-30T12:01:00+01:00; seconds:ordinal takes epoch seconds, e.g. 1764504060:1',
    });
  }
  const ordinal = /^(\d+):(\d+)$/.exec(text);
  if (ordinal) {
    const t = Number(ordinal[1]);
    const i = Number(ordinal[2]);
    if (t > MAX_UINT32 || i > MAX_UINT32) throw new UsageError(`${flag} ${input}: out of range`);
    return { ts: { t, i }, input };
  }
  const epoch = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (epoch) {
    const seconds = Number(epoch[1]);
    if (seconds > MAX_UINT32) throw new UsageError(`${flag} ${input}: out of range`);
    return cutoffFromMs(seconds * 1000 + fractionMs(epoch[2]), input, flag);
  }
  if (/^\d{4}-/.test(text)) return cutoffFromMs(parseIsoMs(text, input, flag), input, flag);
  throw new UsageError(
    `${flag} ${input}: expected an ISO-8601 time, epoch seconds, or seconds:ordinal`,
  );
}

/**
 * A bare date (UTC midnight) or an RFC 3339 date-time: "YYYY-MM-DDTHH:MM[:SS[.fraction]]" then
 * "Z" or a numeric offset (+05:30, -0800). Date.parse is not used: it rolls 2026-11-31 over to
 * December 1st and reads a date-time without an offset in the host's zone, so one --until would
 * mean different instants on different machines. 24:00 and leap seconds are refused too: each
 * instant has one spelling here, and MongoDB's wall clocks never show a 60th second.
 */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

function parseIsoMs(text: string, input: string, flag: string): number {
  const bad = (why: string): UsageError =>
    new UsageError(`${flag} ${input}: ${why}`, { hint: 'e.g. 2026-11-30T10:00:00Z, 2026-11-30T15:30:00+05:30, or the date alone (UTC midnight)' });
  const date = ISO_DATE.exec(text);
  const dateTime = date ? undefined : ISO_DATE_TIME.exec(text);
  const parts = date ?? dateTime;
  if (!parts) throw bad('not an ISO-8601 date or date-time');
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw bad(`${parts[1]}-${parts[2]}-${parts[3]} is not a date`);
  const midnight = Date.UTC(year, month - 1, day);
  if (!dateTime) return midnight;
  const [hour, minute, second] = [Number(dateTime[4]), Number(dateTime[5]), Number(dateTime[6] ?? '0')];
  if (hour === 24) throw bad('24:00 is refused; write the next day\'s 00:00');
  if (hour > 23 || minute > 59 || second > 59) throw bad(`${dateTime[4]}:${dateTime[5]}${dateTime[6] ? `:${dateTime[6]}` : ''} is not a time of day`);
  const zulu = dateTime[8] !== undefined;
  const sign = dateTime[9];
  if (!zulu && sign === undefined) throw bad('a date-time needs Z or an offset (+05:30), so that it means the same instant on every host');
  const [offsetHours, offsetMinutes] = [Number(dateTime[10] ?? '0'), Number(dateTime[11] ?? '0')];
  if (offsetHours > 23 || offsetMinutes > 59) throw bad(`${sign}${dateTime[10]}:${dateTime[11]} is not an offset`);
  const offsetMs = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return midnight + ((hour * 60 + minute) * 60 + second) * 1000 + fractionMs(dateTime[7]) - offsetMs;
}

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one (proleptic Gregorian, as Date.UTC is).
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * A decimal fraction of a second in whole milliseconds, rounded up: wall clocks are whole
 * milliseconds, so ".2501" applies exactly the ops with wall <= .250, as the cutoff .251 does.
 */
function fractionMs(digits: string | undefined): number {
  if (!digits) return 0;
  const ms = Number(digits.slice(0, 3).padEnd(3, '0'));
  return /[1-9]/.test(digits.slice(3)) ? ms + 1 : ms;
}

function cutoffFromMs(ms: number, input: string, flag: string): Cutoff {
  if (ms < 0) throw new UsageError(`${flag} ${input}: before 1970`);
  const t = Math.floor(ms / 1000);
  if (t > MAX_UINT32) throw new UsageError(`${flag} ${input}: out of range of an oplog Timestamp`);
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
