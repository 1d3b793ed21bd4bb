// Time-series collections in a base, laid out as mongodump lays them out: the time-series
// options (and the indexes, as listIndexes reports them on the time-series collection) in
// `<db>/<coll>.metadata.json`, type "timeseries"; the data as the raw bucket documents of
// `system.buckets.<coll>`, in `<db>/system.buckets.<coll>.bson`
// (mongo-tools mongodump/prepare.go and mongorestore/restore.go; the fixture
// ../shared/fixtures/mongo-tools/timeseries/ts_dump is such a dump).
// Why buckets and not measurements: the oplog speaks buckets. Every insert into a time-series
// collection is logged as an insert or a `$v:2` update of a bucket, by bucket `_id`; replay can
// only apply those onto the very buckets the source had, `_id`s included.
// Bases written before this layout dumped a time-series collection through its view, as
// measurements, in `<db>/<coll>.bson`: `holdsBuckets` tells the two apart by the data key.
// An encrypted base (opaque-base.ts) stores the buckets under its opaque key, like any data.
import type { CollectionEntry } from './manifest.ts';
import { collectionDataKey, escapeName, isOpaqueKey } from './object-keys.ts';

export const BUCKETS_PREFIX = 'system.buckets.';

/** The collection that holds a time-series collection's buckets. */
export function bucketsCollection(coll: string): string {
  return BUCKETS_PREFIX + coll;
}

/** The data key of a time-series collection's buckets in the base folder `id`. */
export function bucketsDataKey(id: string, db: string, coll: string): string {
  return collectionDataKey(id, db, bucketsCollection(coll));
}

/** True when a base entry's data is the raw buckets of a time-series collection. */
export function holdsBuckets(entry: CollectionEntry): boolean {
  if (entry.type !== 'timeseries' || entry.data === null) return false;
  // Encrypted bases postdate this layout: their time-series data is always the buckets.
  if (isOpaqueKey(entry.data.key)) return true;
  return entry.data.key.endsWith(`/${escapeName(entry.db)}/${escapeName(bucketsCollection(entry.coll))}.bson.gz`);
}
