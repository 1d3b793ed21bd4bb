// The newest op that is safe to archive. Real MongoDB reports the majority commit point in
// hello.lastWrite.majorityOpTime: ops after it could still be rolled back, so they wait for the
// next run. A server that reports none (FerretDB) falls back to the last written op, and the
// manifest says so (commitPoint: 'lastWritten').
import type { MongoClient, ReadPreference } from 'mongodb';
import { Timestamp } from 'mongodb';
import type { CommitPointKind } from '../archive/manifest.ts';
import { tsFromBson, type Ts } from '../timestamp.ts';

export interface CommitPoint {
  /** null when the oplog is empty. */
  readonly ts: Ts | null;
  readonly kind: CommitPointKind;
  /** The source's wall clock for that op, where known (for lag). */
  readonly wall: Date | null;
}

export async function readCommitPoint(client: MongoClient, readPreference: ReadPreference): Promise<CommitPoint> {
  const hello = await client.db('admin').command({ hello: 1 }, { readPreference });
  const majority: unknown = hello.lastWrite?.majorityOpTime?.ts;
  if (majority instanceof Timestamp) {
    const wall: unknown = hello.lastWrite?.majorityWriteDate;
    return { ts: tsFromBson(majority), kind: 'majority', wall: wall instanceof Date ? wall : null };
  }
  const [newest] = await client
    .db('local')
    .collection('oplog.rs')
    .find({}, { readPreference, projection: { ts: 1, wall: 1 } })
    .sort({ $natural: -1 })
    .limit(1)
    .toArray();
  if (!newest) return { ts: null, kind: 'lastWritten', wall: null };
  return { ts: tsFromBson(newest.ts), kind: 'lastWritten', wall: newest.wall instanceof Date ? newest.wall : null };
}
