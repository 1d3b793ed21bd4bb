// What a base backup dumps: every database except the server's own, every collection, view and
// time-series collection with its options, indexes and UUID (listDatabases, listCollections,
// listIndexes). Users and roles (admin.system.users/roles) only when asked.
import type { Document, MongoClient } from 'mongodb';
import { isInternalNs } from '../namespace.ts';
import { timeLimit, type Deadline } from './time-limit.ts';
import { bucketsCollection } from '../archive/timeseries-layout.ts';

export interface CatalogEntry {
  readonly db: string;
  readonly coll: string;
  readonly type: 'collection' | 'view' | 'timeseries';
  /** listCollections options: validator, collation, capped/size/max, clusteredIndex, timeseries, viewOn/pipeline. */
  readonly options: Document;
  readonly indexes: readonly Document[];
  /** Collection UUID as 32 hex digits, where the server reports one. */
  readonly uuid: string | null;
  /**
   * Time-series only: whether `system.buckets.<coll>` was listed beside it. MongoDB 8.3+ keeps
   * "viewless" time-series collections with no such namespace (mongo-tools intent.go
   * DataCollection), which this backup does not dump yet: it refuses them instead of dumping nothing.
   */
  readonly bucketsListed?: boolean;
}

export async function readCatalog(client: MongoClient, options: { includeAuth?: boolean; includeConfigMetadata?: boolean; deadline?: Deadline } = {}): Promise<CatalogEntry[]> {
  const limit = (): ReturnType<typeof timeLimit> => timeLimit(options.deadline);
  const { databases } = await client.db('admin').command({ listDatabases: 1, nameOnly: true }, limit());
  const names = (databases as { name: string }[]).map((db) => db.name).sort();
  const entries: CatalogEntry[] = [];
  for (const db of names) {
    if (db === 'local' || (db === 'config' && options.includeConfigMetadata !== true)) continue;
    const collections = await client.db(db).listCollections({}, { nameOnly: false, ...limit() }).toArray();
    const listed = new Set(collections.map((info) => String(info.name)));
    for (const info of collections.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const ns = `${db}.${info.name}`;
      // A time-series collection's buckets are dumped under its own entry (type "timeseries",
      // options.timeseries), raw, as mongodump does: see archive/timeseries-layout.ts.
      if (info.name.startsWith('system.buckets.')) continue;
      if (isInternalNs(ns, options)) continue;
      const entry = await describe(client, db, info, options.deadline);
      if (entry === null) continue;
      entries.push(entry.type === 'timeseries' ? { ...entry, bucketsListed: listed.has(bucketsCollection(entry.coll)) } : entry);
    }
  }
  return entries;
}

/**
 * A collection dropped (or renamed away) between listCollections and listIndexes: the server
 * answers listIndexes with NamespaceNotFound (code 26; src/mongo/db/commands/list_indexes.cpp).
 * It was listed after T0, so its drop or rename is in the base's oplog [T0, T1], which replay
 * applies (a rename of a collection older than T0 makes the base be taken again:
 * backup/base-oplog-check.ts). Skipping it is exact at every cutoff the base restores to.
 */
const NAMESPACE_NOT_FOUND = 26;

async function describe(client: MongoClient, db: string, info: Document, deadline: Deadline | undefined): Promise<CatalogEntry | null> {
  const type = info.type === 'view' ? 'view' : info.type === 'timeseries' ? 'timeseries' : 'collection';
  let indexes: Document[] = [];
  if (type !== 'view') {
    try {
      indexes = await client.db(db).collection(info.name).listIndexes(timeLimit(deadline)).toArray();
    } catch (error) {
      if ((error as { code?: unknown }).code === NAMESPACE_NOT_FOUND) return null;
      throw error;
    }
  }
  const uuid: unknown = info.info?.uuid;
  return {
    db,
    coll: info.name,
    type,
    options: (info.options as Document | undefined) ?? {},
    indexes,
    uuid: uuid && typeof (uuid as { toHexString?: unknown }).toHexString === 'function'
      ? (uuid as { toHexString(): string }).toHexString()
      : null,
  };
}
