// A cluster member's view of the command's log: its progress bars and waits go to a row of its
// own (log.ts rowProgress/rowStatus), so members working in parallel each keep one line on a
// terminal instead of fighting over the one progress line; its events are the command's events.
// The replica-set progress code (dump-progress.ts) draws into it unchanged.
import type { Log } from '../log.ts';

export function memberLog(log: Log, member: string): Log {
  return {
    event: (type, message, fields) => log.event(type, message, { member, ...fields }),
    warn: (message, fields) => log.warn(message, { member, ...fields }),
    progress: (stage, done, total, unit) => log.rowProgress?.(member, stage, done, total, unit),
    status: (_type, message) => log.rowStatus?.(member, message),
    // The member's row ends with its work (memberDone), not when something else is printed.
    settle: () => undefined,
  };
}

/** The member's work is over: its row is cleared. */
export function memberDone(log: Log, member: string): void {
  log.rowDone?.(member);
}
