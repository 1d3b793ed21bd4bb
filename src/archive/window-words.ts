// A restore window as a person reads it, the way status says it: times first (local, UTC beside
// it), the oplog positions (seconds:ordinal) in brackets only where asked for, i.e. where the
// reader must type one (an error that suggests a --until value). The JSON results keep the
// positions (formatWindow) and carry the same points structured (windowPoints).
import { instantText } from '../words.ts';
import type { Ts } from '../timestamp.ts';
import type { RestoreWindow } from './chain-window.ts';
import { pointMs, timePoint, type TimePoint } from './source-summary.ts';

/** A window's ends as --json gives them: {t, i, iso, wall}. */
export interface WindowPoints {
  readonly from: TimePoint;
  readonly to: TimePoint;
  /** Where the window stops early, at a prepare the archive has no decision for yet. */
  readonly heldByPrepare?: TimePoint;
}

export interface WindowWordsOptions {
  /** IANA zone for local times; undefined: the host's. */
  readonly timeZone?: string;
  /** Print each end's position [seconds:ordinal] beside its time. */
  readonly positions?: boolean;
}

export function windowPoints(window: RestoreWindow): WindowPoints {
  return {
    from: timePoint(window.from, window.fromWall),
    to: timePoint(window.to, window.toWall),
    ...(window.heldByPrepare && { heldByPrepare: timePoint(window.heldByPrepare) }),
  };
}

/** "from 2026-12-01 12:00:00 UTC to 2026-12-01 12:10:00 UTC", held at a prepare when it is. */
export function windowWords(window: RestoreWindow | WindowPoints, options: WindowWordsOptions = {}): string {
  const points = 'chainId' in window ? windowPoints(window) : window;
  const held = points.heldByPrepare ? ` (held at a transaction prepared at ${pointWords(points.heldByPrepare, options)}, undecided in the archive)` : '';
  return `from ${pointWords(points.from, options)} to ${pointWords(points.to, options)}${held}`;
}

/** An instant (its wall clock where recorded, else its second), with its position when asked. */
export function pointWords(point: TimePoint, options: WindowWordsOptions = {}): string {
  return `${instantText(pointMs(point), options)}${options.positions ? ` [${point.t}:${point.i}]` : ''}`;
}

/** An oplog position with no wall recorded: its second's instant, and the position when asked. */
export function tsWords(ts: Ts, options: WindowWordsOptions = {}): string {
  return pointWords(timePoint(ts), options);
}
