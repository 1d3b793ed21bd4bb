// Prepared (distributed) transactions at a cutoff. Pure.
//
// How a shard logs one (db/transaction/transaction_participant.cpp, db/op_observer/
// op_observer_impl.cpp onTransactionPrepare / onPreparedTransactionCommit, db/repl/oplog_entry.h):
//   - `applyOps [...]` with `prepare: true` (after any `partialTxn` entries), lsid, txnNumber and
//     prevOpTime, at the prepare timestamp P;
//   - later `{commitTransaction: 1, commitTimestamp: T}` at its own ts X, or
//     `{abortTransaction: 1}`, with the same lsid and txnNumber and prevOpTime = P.
// The coordinator (db/s/transaction_coordinator*.cpp) picks T from the participants' prepare
// timestamps (their max, plus one ordinal), the same T for every shard; each participant checks
// T >= P ("'commitTimestamp' must be greater than or equal to 'prepareTimestamp'") and writes
// its commit entry in a slot reserved after T (invariant "Commit oplog entry must be greater than
// or equal to commit timestamp"): P <= T <= X.
//
// Its writes become visible at T (the storage engine commits at T). So at a cutoff C (entries
// before C are applied) it is applied iff T < C, on every shard alike — although X may be after
// C. A replay therefore reads past C until every transaction prepared before C is decided, and
// a cutoff is restorable only where those decisions are archived.
//
// A cutoff with milliseconds decides the entries of its own second by each entry's wall clock,
// which no two shards share; T has none. A transaction whose T falls in the cutoff's second is
// therefore not applied (T.t < the cutoff's second is the rule), on every shard alike: all or none.
import type { OplogEntry } from '../oplog-entry.ts';
import { compareTs, isBeforeCutoff, tsFromBson, type Cutoff, type Ts } from '../timestamp.ts';
import { transactionId, unitTs, unitWall, type ReplayUnit } from './transaction-buffer.ts';

/** The commitTimestamp of a commitTransaction entry, or undefined for any other entry. */
export function commitTimestampOf(entry: OplogEntry): Ts | undefined {
  if (entry.op !== 'c' || !isRecord(entry.o) || !('commitTransaction' in entry.o)) return undefined;
  const value = entry.o.commitTimestamp;
  return isTimestamp(value) ? tsFromBson(value) : undefined;
}

/** Whether a prepared transaction committed at `commitTimestamp` is visible at the cutoff. */
export function preparedCommitApplies(commitTimestamp: Ts, cutoff: Cutoff | undefined): boolean {
  if (!cutoff) return true;
  if (cutoff.wallMs === undefined) return compareTs(commitTimestamp, cutoff.ts) < 0;
  return commitTimestamp.t < cutoff.ts.t;
}

/**
 * Whether the decision of a transaction prepared at (ts, wall) is needed to restore to the
 * cutoff: whether its commit could be applied there. T >= P, so a prepare at or after the cutoff
 * never is; under a millisecond cutoff only a prepare in an earlier second can be.
 */
export function prepareNeedsDecision(prepareTs: Ts, prepareWall: Date | undefined, cutoff: Cutoff | undefined): boolean {
  if (!cutoff) return false;
  if (cutoff.wallMs === undefined) return compareTs(prepareTs, cutoff.ts) < 0;
  void prepareWall;
  return prepareTs.t < cutoff.ts.t;
}

/** Whether replay applies a unit under the cutoff: a prepared transaction's by its commitTimestamp. */
export function unitApplies(unit: ReplayUnit, cutoff: Cutoff | undefined): boolean {
  if (unit.commitTimestamp !== undefined) return preparedCommitApplies(unit.commitTimestamp, cutoff);
  return isBeforeCutoff(unitTs(unit), unitWall(unit), cutoff);
}

/** A prepare seen without its decision. */
export interface UndecidedPrepare {
  readonly ts: Ts;
  readonly wall: Date | undefined;
}

/**
 * An undecided prepare in a form to keep between reads (JSON-friendly): an archiver can carry
 * the open set from one chunk to the next instead of rereading the chain.
 */
export interface OpenPrepare {
  /** The transaction: transaction-buffer.ts transactionId (lsid and txnNumber). */
  readonly id: string;
  readonly ts: Ts;
  readonly wall: string | null;
}

/**
 * Tracks prepares and their decisions in entries pushed in ts order, from anywhere in a chain
 * (a tail read from a chunk boundary): only `prepare: true` applyOps and commitTransaction /
 * abortTransaction entries count, and a decision whose prepare was not seen is ignored.
 * Memory: one small record per transaction prepared and not yet decided.
 */
export class PrepareTracker {
  readonly #open = new Map<string, UndecidedPrepare>();

  /** Starts from the prepares left open by what was read before (`open()` of an earlier tracker). */
  constructor(open: readonly OpenPrepare[] = []) {
    for (const prepare of open) this.#open.set(prepare.id, { ts: prepare.ts, wall: prepare.wall === null ? undefined : new Date(prepare.wall) });
  }

  /** The prepares still open, oldest first, to carry over. */
  open(): OpenPrepare[] {
    return [...this.#open]
      .map(([id, prepare]) => ({ id, ts: prepare.ts, wall: prepare.wall ? prepare.wall.toISOString() : null }))
      .sort((a, b) => compareTs(a.ts, b.ts));
  }

  /** Takes the next entry; for the commit or abort of an open prepare, returns that prepare. */
  push(entry: OplogEntry): UndecidedPrepare | undefined {
    if (entry.op !== 'c' || !isRecord(entry.o) || entry.lsid === undefined || entry.txnNumber === undefined) return undefined;
    const o = entry.o;
    if ('applyOps' in o && (o.prepare === true || entry.prepare === true)) {
      this.#open.set(transactionId(entry), { ts: tsFromBson(entry.ts), wall: entry.wall });
    } else if ('commitTransaction' in o || 'abortTransaction' in o) {
      const id = transactionId(entry);
      const decided = this.#open.get(id);
      this.#open.delete(id);
      return decided;
    }
    return undefined;
  }

  /** The open prepares whose decision the cutoff needs (prepareNeedsDecision), oldest first. */
  awaitingDecision(cutoff: Cutoff | undefined): UndecidedPrepare[] {
    return this.undecided().filter((prepare) => prepareNeedsDecision(prepare.ts, prepare.wall, cutoff));
  }

  /** Every prepare not decided yet, oldest first. */
  undecided(): UndecidedPrepare[] {
    return [...this.#open.values()].sort((a, b) => compareTs(a.ts, b.ts));
  }

  /** The earliest prepare entry's ts whose commit or abort has not been pushed. */
  earliestUndecided(): Ts | undefined {
    return this.undecided()[0]?.ts;
  }
}

/** The earliest prepare ts whose decision is not in the input (undefined: all decided). */
export function undecidedPrepares(entries: Iterable<OplogEntry>): Ts | undefined {
  const tracker = new PrepareTracker();
  for (const entry of entries) tracker.push(entry);
  return tracker.earliestUndecided();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTimestamp(value: unknown): value is import('mongodb').Timestamp {
  return typeof value === 'object' && value !== null && (value as { _bsontype?: unknown })._bsontype === 'Timestamp';
}
