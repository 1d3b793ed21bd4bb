// The newest op that is safe to archive. Real MongoDB reports the majority commit point in
// hello.lastWrite.majorityOpTime: ops after it could still be rolled back, so they wait for the
// next run. A server that reports none (FerretDB) has nothing to wait for: every written op is
// archived, and the manifest says so (commitPoint: 'lastWritten').
import type { MongoClient, ReadPreference } from 'mongodb';
import { Timestamp } from 'mongodb';
import type { CommitPointKind } from '../archive/manifest.ts';
import { tsFromBson, type Ts } from '../timestamp.ts';
import { termOf } from './optime.ts';
import { timeLimit, type Deadline } from './time-limit.ts';

export interface CommitPoint {
  /** null when the oplog is empty. */
  readonly ts: Ts | null;
  readonly kind: CommitPointKind;
  /** The source's wall clock for that op, where known (for lag). */
  readonly wall: Date | null;
  /** The term of the majority point's optime (hello.lastWrite.majorityOpTime.t), where reported. */
  readonly term?: number | undefined;
  /**
   * The op's prevOpTime link (a transaction chain's previous entry), when the commit point was
   * read off the op itself: null when it has none. Absent when not read (the majority point).
   */
  readonly prevOpTime?: Ts | null;
}

/**
 * The majority commit point, or null where the server reports none. Readers that stop at
 * whatever is written by the time they get there need nothing more: asking such a server for its
 * newest op first would cost a second pass over the oplog (FerretDB answers it with a full scan).
 */
export async function readMajorityPoint(client: MongoClient, readPreference: ReadPreference, deadline?: Deadline): Promise<CommitPoint | null> {
  const hello = await client.db('admin').command({ hello: 1 }, { readPreference, ...timeLimit(deadline) });
  const majority: unknown = hello.lastWrite?.majorityOpTime?.ts;
  if (!(majority instanceof Timestamp)) return null;
  const wall: unknown = hello.lastWrite?.majorityWriteDate;
  const term = termOf(hello.lastWrite?.majorityOpTime?.t);
  return { ts: tsFromBson(majority), kind: 'majority', wall: wall instanceof Date ? wall : null, ...(term === undefined ? {} : { term }) };
}

/** The majority commit point, else the newest written op. */
export async function readCommitPoint(client: MongoClient, readPreference: ReadPreference, deadline?: Deadline): Promise<CommitPoint> {
  const majority = await readMajorityPoint(client, readPreference, deadline);
  if (majority) return majority;
  const [newest] = await client
    .db('local')
    .collection('oplog.rs')
    .find({}, { readPreference, projection: { ts: 1, wall: 1, prevOpTime: 1 }, ...timeLimit(deadline) })
    .sort({ $natural: -1 })
    .limit(1)
    .toArray();
  if (!newest) return { ts: null, kind: 'lastWritten', wall: null };
  const prev: unknown = newest.prevOpTime?.ts;
  return {
    ts: tsFromBson(newest.ts),
    kind: 'lastWritten',
    wall: newest.wall instanceof Date ? newest.wall : null,
    prevOpTime: prev instanceof Timestamp ? tsFromBson(prev) : null,
  };
}
