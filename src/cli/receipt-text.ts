// Words and times in receipts: counts with their noun in the right number ("1 chunk",
// "2 chunks"), and instants in UTC and in the operator's local time, since a cutoff typed in one
// is read in the other.
import type { Cutoff, Ts } from '../timestamp.ts';
import { formatTs } from '../timestamp.ts';
import { instantText } from '../words.ts';

export { counted } from '../words.ts';

/**
 * The cutoff a restore resolved, as one line: what was typed, the instant local first with UTC
 * beside it (as status gives times, words.ts instantText, to the millisecond since a cutoff may
 * be), and in brackets the oplog position it stops at: what --until or mongorestore's
 * --oplogLimit takes to repeat exactly this restore. Without one, the restore runs to the chain's end.
 */
export function cutoffLine(cutoff: Cutoff | undefined, windowEnd: { ts: string; wall: string | null } | undefined, timeZone?: string): string {
  if (!cutoff) {
    const end = windowEnd ? `${instantText(endMs(windowEnd), { timeZone, milliseconds: windowEnd.wall !== null })} [${windowEnd.ts}]` : 'the chain\'s end';
    return `cutoff: none, everything archived is applied, up to ${end}`;
  }
  const ms = cutoff.wallMs ?? cutoff.ts.t * 1000;
  const position: Ts = cutoff.ts;
  const inSecond = cutoff.wallMs === undefined ? '' : ' (in its second, by each entry\'s wall clock)';
  return `cutoff: ${cutoff.input} = ${instantText(ms, { timeZone, milliseconds: true })}; entries at or after it [${formatTs(position)}]${inSecond} are not applied`;
}

/** The window end's instant: its wall clock, or its second where none was recorded. */
function endMs(windowEnd: { ts: string; wall: string | null }): number {
  return windowEnd.wall ? Date.parse(windowEnd.wall) : Number(windowEnd.ts.split(':')[0]) * 1000;
}
