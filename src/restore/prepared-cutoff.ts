// Prepared (distributed) transactions at a cutoff. A shard logs `applyOps … prepare: true`, then
// later `{commitTransaction: 1, commitTimestamp: T}` at its own ts, later than T. The
// transaction is visible at the cutoff C iff T < C; so a replay keeps reading past C until every
// transaction prepared before C is decided. Pure.
import type { OplogEntry } from '../oplog-entry.ts';
import type { Cutoff, Ts } from '../timestamp.ts';
import { PitrError } from '../errors.ts';

class InternalStub extends PitrError {
  constructor(name: string) {
    super(`${name} is not implemented yet`);
  }
}

/** The commitTimestamp of a commitTransaction entry, or undefined for any other entry. */
export function commitTimestampOf(entry: OplogEntry): Ts | undefined {
  void entry;
  throw new InternalStub('commitTimestampOf');
}

/** Whether a prepared transaction committed at `commitTimestamp` is visible at the cutoff. */
export function preparedCommitApplies(commitTimestamp: Ts, cutoff: Cutoff | undefined): boolean {
  void commitTimestamp; void cutoff;
  throw new InternalStub('preparedCommitApplies');
}

/** Tracks prepares and their decisions in a stream of entries in ts order. */
export class PrepareTracker {
  push(entry: OplogEntry): void {
    void entry;
    throw new InternalStub('PrepareTracker.push');
  }

  /** The earliest prepare entry's ts whose commit or abort has not been pushed. */
  earliestUndecided(): Ts | undefined {
    throw new InternalStub('PrepareTracker.earliestUndecided');
  }
}

/** The earliest prepare ts whose decision is not in the input (undefined: all decided). */
export function undecidedPrepares(entries: Iterable<OplogEntry>): Ts | undefined {
  void entries;
  throw new InternalStub('undecidedPrepares');
}
