// An oplog entry's optime {ts, t} and the rule that says when an entry read from the pinned
// member's oplog is in the majority-committed history. Pure: the reader feeds it what hello and
// the oplog say.
//
// Facts from the server (mongodb/mongo):
// - src/mongo/db/repl/optime.h: every entry is labelled by (ts, term); optimes order by term
//   first, then ts; a term of -1 (protocol version 0) compares by ts alone.
// - One primary per term writes one linear history, so two entries with the same term lie on the
//   same branch: a majority point of term T at or past ts X commits every term-T entry up to X.
// - hello.lastWrite.majorityOpTime is the member's own commit point, an optime on its own oplog
//   branch (repl/topology_coordinator.cpp ignores a commit point from another branch), and
//   rollback never removes a committed entry.
// So comparing ts alone is wrong across a failover: an entry of term 1 that is rolled back and a
// majority point of term 2 past its ts look "committed" by ts. With a different term the entry is
// committed only if the member's oplog still holds that very optime once the majority point has
// passed its ts (the entry at a ts at or before a commit point never changes again).
// FerretDB reports no majority point and no terms: there every written entry is released, and
// none of this can be shown against it; the unit tests feed real shapes instead.
import { compareTs, formatTs, type Ts } from '../timestamp.ts';

export interface OpTime {
  readonly ts: Ts;
  /** The term; undefined where the server wrote none (protocol version 0, FerretDB). */
  readonly t?: number | undefined;
}

/**
 * What to do with an entry given the member's majority point:
 * - 'release': it is majority-committed;
 * - 'wait': the majority point has not reached it yet;
 * - 'verify': the point passed its ts in another term: committed if the member's oplog still
 *   holds an entry at its ts with its term, rolled back otherwise.
 */
export type ReleaseDecision = 'release' | 'wait' | 'verify';

export function releaseDecision(entry: OpTime, majority: OpTime): ReleaseDecision {
  if (compareTs(majority.ts, entry.ts) < 0) return 'wait';
  if (!hasTerm(entry) || !hasTerm(majority) || entry.t === majority.t) return 'release';
  return 'verify';
}

/** True when an entry found at the same ts is the same entry: its term is the one first read. */
export function sameEntry(entry: OpTime, found: OpTime | null): boolean {
  if (!found || compareTs(found.ts, entry.ts) !== 0) return false;
  return !hasTerm(entry) || found.t === entry.t;
}

function hasTerm(optime: OpTime): optime is OpTime & { readonly t: number } {
  return typeof optime.t === 'number' && optime.t >= 0;
}

/** Reads {ts, t} from a hello or oplog document: t is int64 (a number or a Long from the driver). */
export function termOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value && typeof (value as { toNumber?: unknown }).toNumber === 'function') return (value as { toNumber(): number }).toNumber();
  return undefined;
}

export function formatOpTime(optime: OpTime): string {
  return optime.t === undefined ? formatTs(optime.ts) : `${formatTs(optime.ts)} (term ${optime.t})`;
}
