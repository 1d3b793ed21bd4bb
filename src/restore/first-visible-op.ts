// `restore --before-first`: the first archived op a filter matches, by the time its write became
// VISIBLE, and the cutoff just before that moment.
//
// An op's oplog entry is not always where it became visible (how the server logs transactions:
// transaction-buffer.ts and prepared-cutoff.ts, from mongodb/mongo
// src/mongo/db/transaction/transaction_participant.cpp and op_observer/op_observer_impl.cpp):
//   - a plain op, or an unprepared transaction's single applyOps: at its own ts;
//   - an op in a `partialTxn: true` entry of an unprepared transaction: at the chain's final
//     applyOps (its commit). The server reserves all the chain's slots in one getNextOpTimes call
//     at commit (commitUnpreparedTransaction), so nothing else lies between them and cutting at
//     the partial entry or at the commit entry restores the same state; the commit entry is
//     where replay applies the transaction (transaction-buffer.ts unitTs), so it is the cutoff;
//   - an op in a PREPARED transaction (its partial entries or its `prepare: true` applyOps at P):
//     at the commitTimestamp T of its later `{commitTransaction: 1, commitTimestamp: T}` entry
//     (at X >= T >= P). Cutting at P would drop every other write in [P, T), on every shard of a
//     cluster, although they were visible before the match. Cutting at T applies them and not
//     the transaction (prepared-cutoff.ts: it applies iff T < cutoff);
//   - an op of a transaction that was ABORTED never became visible: it is no match at all;
//   - a `commitTransaction` entry matched itself: the state just before it is the one just
//     before its transaction became visible, so its commitTimestamp T, not its own ts X > T
//     (cutting at X would apply the transaction).
//
// So the answer is the match with the smallest visibility time V. Entries are read in ts order;
// an entry at ts >= V can still hold a better match only as a commitTransaction whose T < V, and
// that commit's prepare then sits before V (P <= T): the search stops at the first entry at or
// after V once every match waiting for its decision and every prepare before V is decided. It
// reads past the match only that far, bounded by the archive's end, where a match whose
// decision is still missing is refused (undecidedMatchError) as a cutoff past an undecided
// prepare is.
import { BSON } from 'mongodb';
import type { Chunk, OplogObject } from '../archive/manifest.ts';
import { chainsOfSource, type SourceChoice } from '../archive/source-choice.ts';
import { readOplogHeader } from '../archive/oplog-header.ts';
import { tsWords } from '../archive/window-words.ts';
import { readManifest } from '../backup/commit.ts';
import { UsageError } from '../errors.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import type { Store } from '../store/store.ts';
import { compareTs, formatTs, maxTs, tsFromBson, tsToDate, type Cutoff, type Ts } from '../timestamp.ts';
import { firstMatchIn, readObjectEntries, type FoundOp, type OpFilter } from './find-ops.ts';
import { commitTimestampOf, PrepareTracker } from './prepared-cutoff.ts';
import { kindOf, transactionId, type EntryKind } from './transaction-buffer.ts';

/** How the matched op became visible, which says where the cutoff is. */
export const VISIBLE_AT = {
  /** At its own entry's ts (a plain op, a one-entry unprepared transaction, an abort entry). */
  op: 'op',
  /** At the final applyOps of its unprepared partialTxn chain. */
  transactionCommit: 'transaction-commit',
  /** At its prepared transaction's commitTimestamp (the match is in the transaction or is its commitTransaction entry). */
  commitTimestamp: 'commit-timestamp',
} as const;
export type VisibleAt = (typeof VISIBLE_AT)[keyof typeof VISIBLE_AT];

export interface VisibleMatch {
  /** The op matched, as `find` reports it (at its own entry's ts). */
  readonly op: FoundOp;
  /** Where its write became visible: the cutoff (entries at or after it not applied). */
  readonly cutoff: Ts;
  readonly visibleAt: VisibleAt;
  /** The entry that made it visible, when not the op's own: the commit entry's ts. */
  readonly decidedBy?: Ts;
}

/** A match in a transaction whose commit (or abort) has not been read yet. */
interface WaitingMatch {
  readonly op: FoundOp;
  prepared: boolean;
}

/**
 * The search, pure: push entries in ts order with the first match each holds (firstMatchIn),
 * ask `settled(ts)` before the next one, read `result()` at the end. `bound`: a cutoff found
 * elsewhere (another cluster member); only a match visible before it counts.
 * Memory: one small record per prepared transaction open and per match awaiting its decision.
 */
export class FirstVisibleSearch {
  readonly #bound: Ts | undefined;
  readonly #waiting = new Map<string, WaitingMatch>();
  readonly #prepares = new PrepareTracker();
  #best: VisibleMatch | undefined;

  constructor(bound?: Ts) {
    this.#bound = bound;
  }

  /** The visibility time to beat: the best match's, or the bound. */
  limit(): Ts | undefined {
    if (!this.#best) return this.#bound;
    return this.#bound && compareTs(this.#bound, this.#best.cutoff) < 0 ? this.#bound : this.#best.cutoff;
  }

  /** Whether anything read from here on could still change the answer only through a decision. */
  awaitingDecision(): boolean {
    const limit = this.limit();
    const before = (ts: Ts): boolean => limit === undefined || compareTs(ts, limit) < 0;
    if ([...this.#waiting.values()].some((match) => before(match.op.ts))) return true;
    const prepare = this.#prepares.earliestUndecided();
    return limit !== undefined && prepare !== undefined && before(prepare);
  }

  /** True once entries from `next` on cannot change the answer. */
  settled(next: Ts): boolean {
    const limit = this.limit();
    return limit !== undefined && compareTs(next, limit) >= 0 && !this.awaitingDecision();
  }

  push(entry: OplogEntry, found: FoundOp | undefined): void {
    this.#prepares.push(entry);
    const kind = kindOf(entry);
    const ts = tsFromBson(entry.ts);
    const id = kind === 'plain' || kind === 'expand' ? undefined : transactionId(entry);
    const waiting = id === undefined ? undefined : this.#waiting.get(id);
    if (id !== undefined && waiting) {
      this.#decide(id, waiting, entry, kind, ts);
      // The commit entry may match too: decided by the same T, the earlier op stands for both.
      return;
    }
    if (!found) return;
    if (kind === 'txn-data' && id !== undefined) {
      // Not visible until its chain's commit: wait for it, unless it cannot beat the limit.
      if (this.#couldBeat(ts)) this.#waiting.set(id, { op: found, prepared: isPrepare(entry) });
    } else if (kind === 'commit') {
      const commitTimestamp = commitTimestampOf(entry) ?? ts;
      this.#offer({ op: found, cutoff: commitTimestamp, visibleAt: VISIBLE_AT.commitTimestamp, decidedBy: ts });
    } else {
      this.#offer({ op: found, cutoff: ts, visibleAt: VISIBLE_AT.op });
    }
  }

  #decide(id: string, waiting: WaitingMatch, entry: OplogEntry, kind: EntryKind, ts: Ts): void {
    if (kind === 'txn-data') {
      if (isPrepare(entry)) waiting.prepared = true;
      return;
    }
    this.#waiting.delete(id);
    if (kind === 'txn-commit-data') this.#offer({ op: waiting.op, cutoff: ts, visibleAt: VISIBLE_AT.transactionCommit, decidedBy: ts });
    else if (kind === 'commit') this.#offer({ op: waiting.op, cutoff: commitTimestampOf(entry) ?? ts, visibleAt: VISIBLE_AT.commitTimestamp, decidedBy: ts });
    // 'abort': its ops never became visible, so they match nothing.
  }

  #couldBeat(ts: Ts): boolean {
    const limit = this.limit();
    return limit === undefined || compareTs(ts, limit) < 0;
  }

  #offer(match: VisibleMatch): void {
    if (this.#couldBeat(match.cutoff)) this.#best = match;
  }

  /**
   * The first visible match, once every entry is pushed (or `settled`). A match that could be
   * first but whose transaction is not decided in what was read is refused: where it became
   * visible, if ever, is not archived.
   */
  result(filter: Pick<OpFilter, 'text'>): VisibleMatch | undefined {
    const limit = this.limit();
    const undecided = [...this.#waiting.values()]
      .filter((match) => limit === undefined || compareTs(match.op.ts, limit) < 0)
      .sort((a, b) => compareTs(a.op.ts, b.op.ts))[0];
    if (undecided) throw undecidedMatchError(filter, undecided.op);
    return this.#best;
  }
}

function isPrepare(entry: OplogEntry): boolean {
  const o = entry.o as { prepare?: unknown } | undefined;
  return entry.prepare === true || o?.prepare === true;
}

/** The undecided-prepare refusal (chain-window.ts undecidedPrepareError), said of the match. */
export function undecidedMatchError(filter: Pick<OpFilter, 'text'>, op: FoundOp): UsageError {
  return new UsageError(
    `the first match of --before-first ${filter.text}, ${op.op} ${op.ns} at ${tsWords(op.ts, { positions: true })}, is in a transaction whose commit or abort is not archived yet: where its write became visible, if ever, is unknown`,
    { hint: `restore to a cutoff at or before it (--until ${formatTs(op.ts)}, or ${tsToDate(op.ts).toISOString()}), or wait for the next oplog pass to archive its decision` },
  );
}

export interface FirstVisibleOptions {
  readonly signal?: AbortSignal;
  /** Which source's chains, where the store holds several (--set-name, --replica-set-id). */
  readonly source?: SourceChoice;
  /** Only a match visible before this counts (the best of the cluster members read so far). */
  readonly bound?: Ts;
}

/**
 * Reads one source's chains oldest first (overlapping chains once each, as findOps does) for the
 * first match by visibility time. Each object's sha256 is checked before its entries count.
 */
export async function findFirstVisibleOp(store: Store, filter: OpFilter, options: FirstVisibleOptions = {}): Promise<VisibleMatch | undefined> {
  const { manifest } = await readManifest(store);
  const search = new FirstVisibleSearch(options.bound);
  let upTo: Ts = { t: 0, i: 0 };
  let settled = false;
  for (const chain of chainsOfSource(manifest, options.source)) {
    for (const object of [chain.base.oplog, ...chain.chunks]) {
      const after = upTo;
      if (compareTs(object.lastTs, after) <= 0) continue;
      if (search.settled(object.firstTs)) return search.result(filter);
      if (needsObject(search, filter, object)) {
        await readObjectEntries(store, object, (raw) => {
          if (settled) return; // the rest is still streamed: the sha256 needs every byte
          const header = readOplogHeader(raw);
          if (compareTs(header.ts, after) <= 0) return;
          if (search.settled(header.ts)) return void (settled = true);
          const mayMatch = filter.mayMatchHeader(header);
          // Only commands move a transaction on; other entries count only as matches.
          if (header.op !== 'c' && !mayMatch) return;
          const entry = BSON.deserialize(raw) as OplogEntry;
          search.push(entry, mayMatch ? firstMatchIn(entry, filter, { chainId: chain.id, key: object.key }) : undefined);
        }, options.signal);
      }
      if (settled) return search.result(filter);
      upTo = maxTs(after, object.lastTs);
    }
  }
  return search.result(filter);
}

/** An object is read for a match it may hold before the limit, or for a decision awaited. */
function needsObject(search: FirstVisibleSearch, filter: OpFilter, object: OplogObject | Chunk): boolean {
  if (search.awaitingDecision()) return true;
  const limit = search.limit();
  return filter.mayMatchObject(object) && (limit === undefined || compareTs(object.firstTs, limit) < 0);
}

/** The cutoff that restores to just before the match became visible. */
export function visibleCutoff(match: VisibleMatch): Cutoff {
  return { ts: match.cutoff, input: `${formatTs(match.cutoff)} (${visibleWords(match)})` };
}

/** Why the cutoff is where it is, in a few words. */
export function visibleWords(match: VisibleMatch): string {
  const { op } = match;
  const what = `${op.op} ${op.ns} ${op.summary}`.trimEnd();
  const decided = match.decidedBy ? `, committed by the entry at ${formatTs(match.decidedBy)}` : '';
  switch (match.visibleAt) {
    case VISIBLE_AT.op:
      return `before ${what}`;
    case VISIBLE_AT.transactionCommit:
      return `before the commit of the transaction holding ${what} at ${formatTs(op.ts)}${decided}`;
    case VISIBLE_AT.commitTimestamp:
      return `before the commitTimestamp of the prepared transaction holding ${what} at ${formatTs(op.ts)}${decided}`;
  }
}

/** Where a transaction's match became visible, in words ("its transaction's commit, logged at …"). */
export function visibleReason(match: VisibleMatch): string {
  const commit = match.visibleAt === VISIBLE_AT.commitTimestamp ? "its prepared transaction's commitTimestamp" : "its transaction's commit";
  return `${commit}${match.decidedBy ? `, logged at ${formatTs(match.decidedBy)}` : ''}`;
}

/** The receipt's line: the cutoff, the match, and the --until that repeats this restore. */
export function visibleMatchLine(match: VisibleMatch, describe: (op: FoundOp) => string): string {
  const at = tsWords(match.cutoff, { positions: true });
  if (match.visibleAt === VISIBLE_AT.op) return `cutoff ${at}, the first match (not applied): ${describe(match.op)}`;
  return `cutoff ${at}, where the first match became visible (${visibleReason(match)}): the transaction and everything at or after it not applied, every write before it applied; repeat this restore with --until ${formatTs(match.cutoff)}; the match: ${describe(match.op)}`;
}

/** The JSON form: the op as find prints it, plus the cutoff, why, and the --until that repeats it. */
export function visibleMatchJson(match: VisibleMatch, opJson: (op: FoundOp) => Record<string, unknown>): Record<string, unknown> {
  return {
    ...opJson(match.op),
    cutoff: formatTs(match.cutoff),
    visibleAt: match.visibleAt,
    ...(match.decidedBy && { decidedBy: formatTs(match.decidedBy) }),
    until: formatTs(match.cutoff),
  };
}
