// A source's history as one row of characters: each column is an equal slice of time from the
// oldest base to now, drawn as the most telling thing in it (damage, then a base, then a gap,
// then archived oplog; after the archive's end, time since its newest op: not restorable yet,
// whether or not the source wrote anything since). Pure.
import { pointMs, type SpanKind, type TimelineSpan } from '../archive/source-summary.ts';

export const TIMELINE_CHARS: Readonly<Record<SpanKind | 'pending' | 'none', string>> = {
  damaged: '!',
  base: 'B',
  gap: '.',
  oplog: '=',
  pending: '-',
  none: ' ',
};

export const TIMELINE_LEGEND = `${TIMELINE_CHARS.base} base  ${TIMELINE_CHARS.oplog} oplog chunks  ${TIMELINE_CHARS.gap} gap  ${TIMELINE_CHARS.damaged} damaged  ${TIMELINE_CHARS.pending} after the newest archived op`;

/** Lower wins when two things share a column: a short gap or damage must stay visible. */
const PRIORITY: readonly SpanKind[] = ['damaged', 'base', 'gap', 'oplog'];

export interface TimelineRow {
  readonly bar: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Time one column stands for. */
  readonly secondsPerColumn: number;
}

/** Draws `spans` over [startMs, endMs] in `width` columns; time after the last span is "pending". */
export function drawTimeline(spans: readonly TimelineSpan[], startMs: number, endMs: number, width: number): TimelineRow {
  const columns = Math.max(1, Math.floor(width));
  const total = Math.max(1, endMs - startMs);
  const perColumn = total / columns;
  const archivedEnd = Math.max(...spans.map((span) => pointMs(span.to)));
  let bar = '';
  for (let column = 0; column < columns; column++) {
    const from = startMs + column * perColumn;
    const to = from + perColumn;
    bar += TIMELINE_CHARS[kindAt(spans, from, to, archivedEnd)];
  }
  return { bar, startMs, endMs, secondsPerColumn: perColumn / 1000 };
}

function kindAt(spans: readonly TimelineSpan[], from: number, to: number, archivedEnd: number): SpanKind | 'pending' | 'none' {
  // A span touches a column when it overlaps [from, to) (half-open, so a span ending on a
  // column's edge does not spill into the next); a span of one instant (a base taken in under a
  // second) still gets the column it falls in.
  const touching = spans.filter((span) => {
    const start = pointMs(span.from);
    return start < to && (pointMs(span.to) > from || start >= from);
  });
  for (const kind of PRIORITY) if (touching.some((span) => span.kind === kind)) return kind;
  return from >= archivedEnd ? 'pending' : 'none';
}
