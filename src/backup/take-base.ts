// A base backup, the `mongodump --oplog` idea: note T0, dump every collection (documents,
// options, indexes), note T1, and store the oplog [T0, T1] with it. Replaying that oplog over
// the dump gives the state at T1, however the dump interleaved with writes, because oplog
// entries are idempotent by _id.
import pLimit from 'p-limit';
import { serializeMetadata } from '../archive/collection-metadata.ts';
import {
  addChain,
  type Base,
  type Chain,
  type CollectionEntry,
  type Manifest,
} from '../archive/manifest.ts';
import {
  baseId,
  baseOplogKey,
  collectionDataKey,
  collectionMetadataKey,
  newRunId,
} from '../archive/object-keys.ts';
import { readCatalog, type CatalogEntry } from '../source/catalog.ts';
import { readCommitPoint } from '../source/commit-point.ts';
import type { Source } from '../source/connect-source.ts';
import { dumpCollection } from '../source/dump-collection.ts';
import { readOplog } from '../source/oplog-reader.ts';
import type { Store } from '../store/store.ts';
import type { Ts } from '../timestamp.ts';
import type { ManifestCommitter } from './commit.ts';
import { storeGzipped } from './store-object.ts';
import { writeOplogObject } from './write-oplog-object.ts';

export const DEFAULT_DUMP_CONCURRENCY = 4;
/** An oplog that was empty when the base started: read it from its beginning. */
const ORIGIN: Ts = { t: 0, i: 0 };

export interface TakeBaseOptions {
  readonly source: Source;
  readonly store: Store;
  readonly committer: ManifestCommitter;
  readonly concurrency?: number;
  readonly includeAuth?: boolean;
  readonly signal?: AbortSignal;
  readonly onCollection?: (entry: CollectionEntry) => void;
}

export interface TakeBaseResult {
  readonly chain: Chain;
  readonly manifest: Manifest;
}

export async function takeBase(options: TakeBaseOptions): Promise<TakeBaseResult> {
  const { source, store, committer, signal } = options;
  const startedAt = new Date().toISOString();
  const t0 = await readCommitPoint(source.client, source.readPreference);
  const runId = newRunId();
  const id = baseId(t0.ts ?? ORIGIN, runId);

  const catalog = await readCatalog(source.client, { includeAuth: options.includeAuth });
  const limit = pLimit(options.concurrency ?? DEFAULT_DUMP_CONCURRENCY);
  const collections = await Promise.all(
    catalog.map((entry) =>
      limit(async () => {
        const dumped = await dumpOne(source, store, id, entry, signal);
        options.onCollection?.(dumped);
        return dumped;
      }),
    ),
  );

  const t1 = await readCommitPoint(source.client, source.readPreference);
  const { object: oplog } = await writeOplogObject(
    store,
    baseOplogKey(id),
    readOplog(source, { from: t0.ts, includeFrom: true, upTo: t1 }, signal),
    t0.ts ?? ORIGIN,
    signal,
  );
  const base: Base = {
    id,
    startTs: t0.ts ?? ORIGIN,
    endTs: oplog.lastTs,
    startedAt,
    finishedAt: new Date().toISOString(),
    collections,
    oplog,
    commitPoint: t1.kind,
  };
  const chain: Chain = { id, source: source.identity, base, chunks: [] };
  const manifest = await committer.commit((current) => addChain(current, chain));
  return { chain, manifest };
}

async function dumpOne(
  source: Source,
  store: Store,
  id: string,
  entry: CatalogEntry,
  signal?: AbortSignal,
): Promise<CollectionEntry> {
  const metadata = await storeGzipped(
    store,
    collectionMetadataKey(id, entry.db, entry.coll),
    serializeMetadata({
      collectionName: entry.coll,
      type: entry.type,
      options: entry.options,
      indexes: entry.indexes,
      uuid: entry.uuid,
    }),
    signal,
  );
  if (entry.type === 'view') return { db: entry.db, coll: entry.coll, type: entry.type, docs: 0, data: null, metadata };
  let docs = 0;
  const documents = dumpCollection(source.client, entry.db, entry.coll, signal);
  const data = await storeGzipped(
    store,
    collectionDataKey(id, entry.db, entry.coll),
    (async function* () {
      for await (const document of documents) {
        docs++;
        yield document;
      }
    })(),
    signal,
  );
  return { db: entry.db, coll: entry.coll, type: entry.type, docs, data, metadata };
}
