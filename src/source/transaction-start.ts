// Where a base's consistency oplog must start so no transaction is cut in half. A large
// transaction (4.2+) is a chain of applyOps entries linked by prevOpTime, written in
// contiguous oplog slots; a commit point can fall between two of them. Starting the oplog at
// the chain's first entry lets replay apply the transaction whole.
import type { Source } from './connect-source.ts';
import { timeLimit } from './time-limit.ts';
import type { CommitPoint } from './commit-point.ts';
import { tsEquals, tsFromBson, tsToBson, type Ts } from '../timestamp.ts';

/** Links followed at most: a transaction of this many 16 MB entries is far past any real one. */
const MAX_LINKS = 10_000;

/** The entry at `ts`'s prevOpTime, or null when it has none (or is gone). */
export type PrevOpTimeLookup = (ts: Ts) => Promise<Ts | null>;

export async function transactionSafeStart(source: Source, point: CommitPoint & { readonly ts: Ts }): Promise<Ts> {
  const oplog = source.client.db('local').collection('oplog.rs');
  return chainStart(point, async (ts) => {
    const entry = await oplog.findOne({ ts: tsToBson(ts) }, { projection: { prevOpTime: 1 }, readPreference: source.readPreference, ...timeLimit(source.deadline) });
    return entry?.prevOpTime?.ts ? tsFromBson(entry.prevOpTime.ts) : null;
  });
}

/**
 * Follows prevOpTime links back from the commit point to the first entry of its chain. The
 * point's own link is used when it was read with the point (one lookup fewer: on a server whose
 * oplog queries are scans, the whole cost for the usual point that is in no transaction).
 */
export async function chainStart(point: { readonly ts: Ts; readonly prevOpTime?: Ts | null }, prevOpTimeOf: PrevOpTimeLookup): Promise<Ts> {
  let start = point.ts;
  let previous = point.prevOpTime !== undefined ? point.prevOpTime : await prevOpTimeOf(start);
  for (let links = 0; links < MAX_LINKS; links++) {
    // {t: 0, i: 0} is how MongoDB marks a chain's first entry.
    if (!previous || (previous.t === 0 && previous.i === 0) || tsEquals(previous, start)) return start;
    start = previous;
    previous = await prevOpTimeOf(start);
  }
  return start;
}
