// Words and times in receipts: counts with their noun in the right number ("1 chunk",
// "2 chunks"), and instants in UTC and in the operator's local time, since a cutoff typed in one
// is read in the other.
import type { Cutoff, Ts } from '../timestamp.ts';
import { formatTs } from '../timestamp.ts';

export { counted } from '../words.ts';

/** "2026-12-01 12:01:00.250 UTC (13:01:00.250 CET local)": the day is repeated only when it differs. */
export function utcAndLocal(ms: number, timeZone?: string): string {
  const utc = new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(ms));
  const part = (type: string) => parts.find((entry) => entry.type === type)?.value ?? '';
  const day = `${part('year')}-${part('month')}-${part('day')}`;
  const time = `${part('hour')}:${part('minute')}:${part('second')}.${String(ms % 1000).padStart(3, '0')}`;
  const localDay = day === utc.slice(0, 10) ? '' : `${day} `;
  return `${utc} (${localDay}${time} ${part('timeZoneName')} local)`;
}

/**
 * The cutoff a restore resolved, as one line: what was typed, the oplog position, and the instant
 * in UTC and local time. Without one, the restore runs to the chain's end.
 */
export function cutoffLine(cutoff: Cutoff | undefined, windowEnd: { ts: string; wall: string | null } | undefined, timeZone?: string): string {
  if (!cutoff) {
    const end = windowEnd ? `${windowEnd.ts}${windowEnd.wall ? ` = ${utcAndLocal(Date.parse(windowEnd.wall), timeZone)}` : ''}` : 'the chain\'s end';
    return `cutoff: none, everything archived is applied, up to ${end}`;
  }
  const ms = cutoff.wallMs ?? cutoff.ts.t * 1000;
  const position: Ts = cutoff.ts;
  return `cutoff: ${cutoff.input} = ${utcAndLocal(ms, timeZone)}; entries at or after ${formatTs(position)}${cutoff.wallMs === undefined ? '' : ` (in that second, wall clock ${new Date(cutoff.wallMs).toISOString()} or later)`} are not applied`;
}
