// Where a base's consistency oplog must start so no transaction is cut in half. A large
// transaction (4.2+) is a chain of applyOps entries linked by prevOpTime, written in
// contiguous oplog slots; a commit point can fall between two of them. Starting the oplog at
// the chain's first entry lets replay apply the transaction whole.
// A prepared transaction (a shard's part of a distributed one) is not contiguous: its applyOps
// entries end with `prepare: true` long before its commitTransaction, and the dump cannot see
// its writes until then. One open at T0 must be replayed from its first entry too, or its
// commit (after T0) finds nothing to apply. The server tracks where each open transaction
// starts in config.transactions (`state` "prepared" or "inProgress", `startOpTime`: the
// oldest active transaction timestamp, db/transaction/transaction_participant.cpp
// getOldestActiveTimestamp); one that has decided since T0 is found from its last write
// (`lastWriteOpTime`, its commit) by following prevOpTime.
import type { Source } from './connect-source.ts';
import { timeLimit } from './time-limit.ts';
import type { CommitPoint } from './commit-point.ts';
import type { Document } from 'mongodb';
import { compareTs, tsEquals, tsFromBson, tsToBson, type Ts } from '../timestamp.ts';

/** Links followed at most: a transaction of this many 16 MB entries is far past any real one. */
const MAX_LINKS = 10_000;

/** The entry at `ts`'s prevOpTime, or null when it has none (or is gone). */
export type PrevOpTimeLookup = (ts: Ts) => Promise<Ts | null>;

export async function transactionSafeStart(source: Source, point: CommitPoint & { readonly ts: Ts }): Promise<Ts> {
  const oplog = source.client.db('local').collection('oplog.rs');
  const lookup: PrevOpTimeLookup = async (ts) => {
    const entry = await oplog.findOne({ ts: tsToBson(ts) }, { projection: { prevOpTime: 1 }, readPreference: source.readPreference, ...timeLimit(source.deadline) });
    return entry?.prevOpTime?.ts ? tsFromBson(entry.prevOpTime.ts) : null;
  };
  // Read after the commit point: a transaction open at T0 is either still open here (its
  // startOpTime) or decided since (its lastWriteOpTime is after T0).
  const records = await source.client
    .db('config')
    .collection('transactions')
    .find(openAtT0Filter(point.ts), { projection: { state: 1, startOpTime: 1, lastWriteOpTime: 1 }, readPreference: source.readPreference, ...timeLimit(source.deadline) })
    .toArray()
    .catch((error: unknown) => {
      // A user without read access to the config database (roles narrower than the built-in
      // backup role) cannot see open transactions: the base starts at the commit point's
      // chain, as it always did; only a transaction prepared across T0 is then at risk.
      if (codeOf(error) === UNAUTHORIZED) return [];
      throw error;
    });
  return openTransactionsStart(point, records, lookup);
}

/** ErrorCodes::Unauthorized (base/error_codes.yml). */
const UNAUTHORIZED = 13;

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** config.transactions records (db/session/session_txn_record.idl) that may name a transaction open at T0. */
function openAtT0Filter(t0: Ts): Document {
  return { $or: [{ state: { $in: ['prepared', 'inProgress'] } }, { state: 'committed', 'lastWriteOpTime.ts': { $gt: tsToBson(t0) } }] };
}

/**
 * The earliest of: the commit point's own chain start, the `startOpTime` of every prepared or
 * in-progress transaction record, and the chain start of every transaction committed after T0
 * (from its `lastWriteOpTime`). Pure but for the lookups.
 */
export async function openTransactionsStart(point: { readonly ts: Ts; readonly prevOpTime?: Ts | null }, records: Iterable<Document>, prevOpTimeOf: PrevOpTimeLookup): Promise<Ts> {
  let start = await chainStart(point, prevOpTimeOf);
  for (const record of records) {
    const candidate = await recordStart(record, point.ts, prevOpTimeOf);
    if (candidate && compareTs(candidate, start) < 0) start = candidate;
  }
  return start;
}

async function recordStart(record: Document, t0: Ts, prevOpTimeOf: PrevOpTimeLookup): Promise<Ts | null> {
  if (record.state === 'prepared' || record.state === 'inProgress') return opTimeTs(record.startOpTime);
  const last = opTimeTs(record.lastWriteOpTime);
  if (record.state !== 'committed' || !last || compareTs(last, t0) <= 0) return null;
  return chainStart({ ts: last }, prevOpTimeOf);
}

function opTimeTs(opTime: unknown): Ts | null {
  const ts = typeof opTime === 'object' && opTime !== null ? (opTime as { ts?: unknown }).ts : undefined;
  return typeof ts === 'object' && ts !== null && (ts as { _bsontype?: unknown })._bsontype === 'Timestamp' ? tsFromBson(ts as Parameters<typeof tsFromBson>[0]) : null;
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
