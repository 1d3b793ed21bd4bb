// What a base backup dumps: every database except the server's own, every collection, view and
// time-series collection with its options, indexes and UUID (listDatabases, listCollections,
// listIndexes). Users and roles (admin.system.users/roles) only when asked.
import type { Document, MongoClient } from 'mongodb';
import { isInternalNs } from '../namespace.ts';
import { timeLimit, type Deadline } from './time-limit.ts';

export interface CatalogEntry {
  readonly db: string;
  readonly coll: string;
  readonly type: 'collection' | 'view' | 'timeseries';
  /** listCollections options: validator, collation, capped/size/max, clusteredIndex, timeseries, viewOn/pipeline. */
  readonly options: Document;
  readonly indexes: readonly Document[];
  /** Collection UUID as 32 hex digits, where the server reports one. */
  readonly uuid: string | null;
}

export async function readCatalog(client: MongoClient, options: { includeAuth?: boolean; deadline?: Deadline } = {}): Promise<CatalogEntry[]> {
  const limit = (): ReturnType<typeof timeLimit> => timeLimit(options.deadline);
  const { databases } = await client.db('admin').command({ listDatabases: 1, nameOnly: true }, limit());
  const names = (databases as { name: string }[]).map((db) => db.name).sort();
  const entries: CatalogEntry[] = [];
  for (const db of names) {
    if (db === 'local' || db === 'config') continue;
    const collections = await client.db(db).listCollections({}, { nameOnly: false, ...limit() }).toArray();
    for (const info of collections.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const ns = `${db}.${info.name}`;
      // Time-series buckets are dumped through their time-series view, as measurements.
      if (info.name.startsWith('system.buckets.')) continue;
      if (isInternalNs(ns, options)) continue;
      entries.push(await describe(client, db, info, options.deadline));
    }
  }
  return entries;
}

async function describe(client: MongoClient, db: string, info: Document, deadline: Deadline | undefined): Promise<CatalogEntry> {
  const type = info.type === 'view' ? 'view' : info.type === 'timeseries' ? 'timeseries' : 'collection';
  const indexes = type === 'view' ? [] : await client.db(db).collection(info.name).listIndexes(timeLimit(deadline)).toArray();
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
