// After a cluster restore's member data and metadata: the routing metadata must name each
// sharded collection by the UUID it has on the shards holding its chunks. On a real cluster the
// routing table is keyed by that UUID (config.collections.uuid, config.chunks.uuid since 5.0)
// and the server's own consistency hook demands it equal the shards' (mongodb/mongo
// jstests/libs/check_uuids.js, checkUUIDsConsistentAcrossCluster).
//
// Why read the target instead of trusting the restored metadata: the shards' collections get the
// source UUIDs only where the target could create them so (applyOps, with --drop:
// restore/preserve-uuid.ts); there the restored config.collections.uuid already equals them and
// nothing is rewritten. Where it could not (no --drop, or a target without applyOps such as the
// FerretDB simulation), the shards' collections have UUIDs of their own and the metadata is
// rewritten to them. So the metadata ends equal to what the shards hold on either kind of target.
// A collection spread over shards that gave it different UUIDs (possible only without
// preservation) cannot be named consistently: the shard owning its lowest chunk wins, and the
// result lists the collection as mismatched.
import { Binary, type Document, type MongoClient } from 'mongodb';
import { splitNs } from '../namespace.ts';
import type { ShardedCollection } from './config-restore.ts';
import { compareBsonValues } from '../bson-order.ts';

const MAJORITY = { w: 'majority' } as const;

export interface UuidMismatch {
  readonly ns: string;
  /** Each shard's UUID (hex) for the collection. */
  readonly shards: Record<string, string>;
  /** The shard whose UUID the metadata names. */
  readonly chosen: string;
}

export interface UuidAlignment {
  /** Collections whose metadata already named the shards' UUID. */
  readonly matched: number;
  /** Collections whose metadata was rewritten to the shards' UUID. */
  readonly rewritten: number;
  readonly mismatched: readonly UuidMismatch[];
}

export type UuidDecision =
  | { readonly kind: 'keep' }
  | { readonly kind: 'rewrite'; readonly uuid: Binary; readonly mismatch?: UuidMismatch }
  | { readonly kind: 'absent' };

/** Hex of a BSON UUID (Binary subtype 4), else undefined. */
export function uuidHex(value: unknown): string | undefined {
  return value instanceof Binary ? Buffer.from(value.buffer).toString('hex') : undefined;
}

/**
 * What the metadata should say, given each holding shard's UUID (undefined: the shard has no such
 * collection, e.g. it owns chunks but held no documents and no base entry). Pure.
 * `holders` is ordered: the shard owning the lowest chunk first.
 */
export function decideUuid(metadataUuid: unknown, holders: readonly string[], found: ReadonlyMap<string, Binary | undefined>): UuidDecision {
  const present = holders.flatMap((shard) => {
    const uuid = found.get(shard);
    return uuid === undefined ? [] : [{ shard, uuid }];
  });
  const first = present[0];
  if (!first) return { kind: 'absent' };
  const distinct = new Set(present.map(({ uuid }) => uuidHex(uuid)));
  const mismatch = distinct.size > 1
    ? { ns: '', shards: Object.fromEntries(present.map(({ shard, uuid }) => [shard, uuidHex(uuid) ?? ''])), chosen: first.shard }
    : undefined;
  if (!mismatch && uuidHex(first.uuid) === uuidHex(metadataUuid)) return { kind: 'keep' };
  return { kind: 'rewrite', uuid: first.uuid, ...(mismatch && { mismatch }) };
}

/** The shards owning chunks of the collection, the lowest chunk's owner first. */
export function holdersOf(collection: ShardedCollection): string[] {
  const sorted = [...collection.chunks].sort((a, b) => compareBsonValues(a.min, b.min));
  return [...new Set(sorted.map((chunk) => chunk.shard))];
}

/**
 * Reads each sharded collection's UUID on the target shards holding it (listCollections
 * info.uuid) and rewrites config.collections.uuid and the chunks' uuid where they differ.
 */
export async function alignRoutingUuids(config: MongoClient, shards: ReadonlyMap<string, MongoClient>, collections: readonly ShardedCollection[]): Promise<UuidAlignment> {
  let matched = 0;
  let rewritten = 0;
  const mismatched: UuidMismatch[] = [];
  for (const collection of collections) {
    const holders = holdersOf(collection);
    const found = new Map<string, Binary | undefined>();
    for (const shard of holders) {
      const client = shards.get(shard);
      if (client) found.set(shard, await collectionUuid(client, collection.ns));
    }
    const decision = decideUuid(collection.uuid, holders, found);
    if (decision.kind === 'keep') matched++;
    if (decision.kind !== 'rewrite') continue;
    await rewriteUuid(config, collection, decision.uuid);
    rewritten++;
    if (decision.mismatch) mismatched.push({ ...decision.mismatch, ns: collection.ns });
  }
  return { matched, rewritten, mismatched };
}

async function collectionUuid(client: MongoClient, ns: string): Promise<Binary | undefined> {
  const { db, coll } = splitNs(ns);
  const [info] = await client.db(db).listCollections({ name: coll }).toArray() as Document[];
  const uuid: unknown = info?.info?.uuid;
  return uuid instanceof Binary ? uuid : undefined;
}

/** config.collections' entry and its chunks (keyed by uuid since 5.0; older chunks carry ns only). */
async function rewriteUuid(config: MongoClient, collection: ShardedCollection, uuid: Binary): Promise<void> {
  const db = config.db('config');
  await db.collection('chunks').updateMany({ uuid: collection.uuid }, { $set: { uuid } }, { writeConcern: MAJORITY });
  await db.collection('collections').updateOne({ _id: collection.ns } as Document, { $set: { uuid } }, { writeConcern: MAJORITY });
}
