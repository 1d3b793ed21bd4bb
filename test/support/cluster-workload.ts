// What the cluster e2e test does to a simulated cluster (sim-cluster.ts) and how it reads one
// back: cutoffs every member agrees on, snapshots counted through chunk ownership, and a
// cross-shard transaction written straight into the shards' oplogs in the server's shapes.
import { randomUUID, createHash } from 'node:crypto';
import { BSON, Binary, Long, Timestamp, UUID, type Document } from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChunkOwnership } from '../../src/cluster/chunk-ownership.ts';
import { withOpenEnds } from '../../src/cluster/config-restore.ts';
import type { SimCluster, SimMember } from './sim-cluster.ts';

export interface Ts { readonly t: number; readonly i: number }

const CLOCK_NS = { db: 'sim', coll: 'clock' } as const;

export function tsOf(value: Timestamp): Ts {
  return { t: value.high, i: value.low };
}

function cmp(a: Ts, b: Ts): number {
  return a.t - b.t || a.i - b.i;
}

/** The newest entry of a member's oplog, by natural (insertion) order. */
export async function lastOplogTs(member: SimMember): Promise<Ts> {
  const last = await member.client.db('local').collection('oplog.rs').find({}).sort({ $natural: -1 }).limit(1).next();
  if (!last) return { t: 0, i: 0 };
  return tsOf(last.ts as Timestamp);
}

/** Writes to sim.clock (left out of every comparison) until the member's oplog reaches `at`. */
export async function advancePast(member: SimMember, at: Ts): Promise<Ts> {
  for (;;) {
    await member.client.db(CLOCK_NS.db).collection(CLOCK_NS.coll).insertOne({ at: new Date() });
    const last = await lastOplogTs(member);
    if (cmp(last, at) >= 0) return last;
    await sleep(100);
  }
}

/**
 * A cutoff "secs:0" that every member agrees on: everything written so far on any member is
 * before it, and nothing written from now on is (each member's oplog is moved past it first).
 * FerretDB members keep separate clocks; the seconds come from the machine's one clock.
 */
export async function markCutoff(cluster: SimCluster): Promise<Ts> {
  const members = [cluster.config, ...cluster.shards];
  const newest = (await Promise.all(members.map(lastOplogTs))).reduce((a, b) => (cmp(a, b) >= 0 ? a : b));
  const cutoff = { t: newest.t + 1, i: 0 };
  return cutoff;
}

/** Moves every member's oplog to or past the cutoff, after a snapshot at it was taken. */
export async function passCutoff(cluster: SimCluster, cutoff: Ts): Promise<void> {
  await Promise.all([cluster.config, ...cluster.shards].map((member) => advancePast(member, cutoff)));
}

/**
 * The cluster's documents as a router would return them: each sharded collection's documents
 * from the shard that owns them by config.chunks (orphans left out), each unsharded database's
 * from its primary shard. Keyed "ns/_id", values as canonical extended JSON. `duplicates`
 * counts documents owned twice (must stay 0) and `orphans` what ownership left out.
 */
export async function snapshotThroughRouter(cluster: SimCluster, dbs: readonly string[]): Promise<{ docs: Map<string, string>; orphans: number; duplicates: number }> {
  const config = cluster.config.client.db('config');
  const docs = new Map<string, string>();
  let orphans = 0;
  let duplicates = 0;
  const sharded = await config.collection('collections').find({}).toArray();
  const databases = await config.collection('databases').find({}).toArray();
  for (const db of dbs) {
    const primary = String(databases.find((entry) => entry._id === (db as unknown))?.primary ?? '');
    for (const shard of cluster.shards) {
      const names = (await shard.client.db(db).listCollections({}, { nameOnly: true }).toArray()).map((info) => String(info.name));
      for (const coll of names) {
        const ns = `${db}.${coll}`;
        const meta = sharded.find((entry) => entry._id === (ns as unknown));
        // Outer bounds read as MinKey/MaxKey, as the restore reads them (config-restore.ts withOpenEnds).
        const ranges = meta ? (await config.collection('chunks').find({ uuid: meta.uuid }).toArray()).map((chunk) => ({ min: chunk.min as Document, max: chunk.max as Document, shard: String(chunk.shard) })) : [];
        const ownership = meta ? new ChunkOwnership(meta.key as Document, withOpenEnds(ranges)) : undefined;
        for await (const doc of shard.client.db(db).collection(coll).find({})) {
          const owned = ownership ? ownership.ownerOf(doc) === shard.name : shard.name === primary;
          if (!owned) {
            orphans++;
            continue;
          }
          const key = `${ns}/${BSON.EJSON.stringify(doc._id, { relaxed: false })}`;
          if (docs.has(key)) duplicates++;
          docs.set(key, BSON.EJSON.stringify(doc, { relaxed: false }));
        }
      }
    }
  }
  return { docs, orphans, duplicates };
}

/** A logical session as drivers send it (lsid {id: UUID, uid: sha256 of the user}). */
function session(): Document {
  return { id: new UUID(randomUUID()), uid: new Binary(createHash('sha256').update('').digest()) };
}

function oplogEntry(ts: Ts, fields: Document): Document {
  return { ts: new Timestamp({ t: ts.t, i: ts.i }), t: Long.fromNumber(1), v: Long.fromNumber(2), wall: new Date(ts.t * 1000), ...fields };
}

/** Inserts one entry at the member's next ts; FerretDB then logs that insert itself (local.*, skipped). */
async function inject(member: SimMember, build: (ts: Ts) => Document): Promise<Ts> {
  const last = await lastOplogTs(member);
  const ts = { t: last.t, i: last.i + 1 };
  await member.client.db('local').collection('oplog.rs').insertOne(oplogEntry(ts, build(ts)));
  return ts;
}

export interface CrossShardTransaction {
  /** Documents it inserts, per shard. */
  readonly inserts: ReadonlyMap<string, readonly Document[]>;
  readonly commitTimestamp: Ts;
  /** A cutoff after commitTimestamp and before the second shard's commit entry. */
  readonly cutoff: Ts;
}

/**
 * A distributed transaction over two shards in the oplog shapes the server writes
 * (db/op_observer/op_observer_impl.cpp: the prepare applyOps with `prepare: true`, lsid,
 * txnNumber, prevOpTime; the commit `{commitTransaction: 1, commitTimestamp}`;
 * db/s/transaction_coordinator.cpp: one commitTimestamp for every participant, the largest
 * prepare timestamp + 1; db/transaction/transaction_participant.cpp: each shard's commit entry at
 * its own ts, at or after commitTimestamp). FerretDB has no transactions, so nothing is written
 * to the collections: the snapshot adds the documents itself when the cutoff is after
 * commitTimestamp. The second shard's commit is logged after the returned cutoff.
 */
export async function crossShardTransaction(cluster: SimCluster, ns: string, inserts: ReadonlyMap<string, readonly Document[]>): Promise<CrossShardTransaction> {
  const [first, second] = [...inserts.keys()].map((name) => cluster.shard(name));
  if (!first || !second) throw new Error('a cross-shard transaction needs two shards');
  const lsid = session();
  const txnNumber = Long.fromNumber(7);
  const prepares = new Map<string, Ts>();
  for (const shard of [first, second]) {
    const docs = inserts.get(shard.name) ?? [];
    prepares.set(shard.name, await inject(shard, () => ({
      op: 'c', ns: 'admin.$cmd', lsid, txnNumber, stmtId: docs.map((_, n) => n),
      prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) },
      o: { applyOps: docs.map((doc) => ({ op: 'i', ns, o: doc, o2: { _id: doc._id } })), prepare: true },
    })));
  }
  const newestPrepare = [...prepares.values()].reduce((a, b) => (cmp(a, b) >= 0 ? a : b));
  const commitTimestamp = { t: newestPrepare.t, i: newestPrepare.i + 1 };
  const commit = (shard: SimMember) => inject(shard, () => ({
    op: 'c', ns: 'admin.$cmd', lsid, txnNumber,
    prevOpTime: { ts: new Timestamp(prepares.get(shard.name) ?? { t: 0, i: 0 }), t: Long.fromNumber(1) },
    o: { commitTransaction: 1, commitTimestamp: new Timestamp(commitTimestamp) },
  }));
  // The first shard's commit at or after commitTimestamp; the second's after the next second
  // starts, so the cutoff at that second's start falls between commitTimestamp and it.
  await advancePast(first, commitTimestamp);
  await commit(first);
  const cutoff = { t: commitTimestamp.t + 1, i: 0 };
  await advancePast(second, cutoff);
  await commit(second);
  return { inserts, commitTimestamp, cutoff };
}

export function formatCutoff(ts: Ts): string {
  return `${ts.t}:${ts.i}`;
}

/** A distributed transaction's identity, shared by every participant's entries. */
export interface TransactionIdentity {
  readonly lsid: Document;
  readonly txnNumber: Long;
}

export function newTransaction(): TransactionIdentity {
  return { lsid: session(), txnNumber: Long.fromNumber(7) };
}

/**
 * One shard's prepare of a distributed transaction (op_observer_impl.cpp onTransactionPrepare:
 * applyOps with `prepare: true`, lsid, txnNumber, the null prevOpTime) at the shard's next ts,
 * which it returns. Nothing is written to the collection: FerretDB has no transactions.
 */
export async function prepareOnShard(member: SimMember, txn: TransactionIdentity, ns: string, docs: readonly Document[]): Promise<Ts> {
  return inject(member, () => ({
    op: 'c', ns: 'admin.$cmd', lsid: txn.lsid, txnNumber: txn.txnNumber, stmtId: docs.map((_, n) => n),
    prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) },
    o: { applyOps: docs.map((doc) => ({ op: 'i', ns, o: doc, o2: { _id: doc._id } })), prepare: true },
  }));
}

/**
 * That shard's `{commitTransaction: 1, commitTimestamp}`, linked to its prepare, in a slot at or
 * after commitTimestamp (transaction_participant.cpp commitPreparedTransaction); returns its ts.
 */
export async function commitOnShard(member: SimMember, txn: TransactionIdentity, prepareTs: Ts, commitTimestamp: Ts): Promise<Ts> {
  await advancePast(member, commitTimestamp);
  return inject(member, () => ({
    op: 'c', ns: 'admin.$cmd', lsid: txn.lsid, txnNumber: txn.txnNumber,
    prevOpTime: { ts: new Timestamp(prepareTs), t: Long.fromNumber(1) },
    o: { commitTransaction: 1, commitTimestamp: new Timestamp(commitTimestamp) },
  }));
}

/** The coordinator's commitTimestamp: the newest participant prepare + 1 ordinal (db/s/transaction_coordinator_util.cpp). */
export function commitTimestampFor(prepares: readonly Ts[]): Ts {
  const newest = prepares.reduce((a, b) => (cmp(a, b) >= 0 ? a : b));
  return { t: newest.t, i: newest.i + 1 };
}

export function compareSimTs(a: Ts, b: Ts): number {
  return cmp(a, b);
}
