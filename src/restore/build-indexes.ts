// Builds the indexes the IndexCatalog ends with, once replay is done: one createIndexes per
// collection (the server builds them in one scan), `concurrency` collections at once.
import { MongoServerError, type Document, type MongoClient } from 'mongodb';
import pLimit from 'p-limit';
import { TargetError } from '../errors.ts';
import { splitNs } from '../namespace.ts';
import { createIndexSpec, type IndexTarget } from '../target/index-spec.ts';
import type { CollectionIndexes } from './index-catalog.ts';

export const DEFAULT_INDEX_BUILD_CONCURRENCY = 2;

export interface BuildIndexesOptions {
  readonly client: MongoClient;
  readonly collections: readonly CollectionIndexes[];
  readonly target: IndexTarget;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onCollection?: (ns: string, indexes: number) => void;
}

/** Returns the number of indexes sent; a collection replay left absent (dropped) is passed over. */
export async function buildIndexes(options: BuildIndexesOptions): Promise<number> {
  const limit = pLimit(options.concurrency ?? DEFAULT_INDEX_BUILD_CONCURRENCY);
  let built = 0;
  await Promise.all(
    options.collections.map((collection) =>
      limit(async () => {
        options.signal?.throwIfAborted();
        const sent = await buildCollectionIndexes(options, collection);
        built += sent;
        if (sent > 0) options.onCollection?.(collection.ns, sent);
      }),
    ),
  );
  return built;
}

async function buildCollectionIndexes(options: BuildIndexesOptions, collection: CollectionIndexes): Promise<number> {
  const { db, coll } = splitNs(collection.ns);
  const info = await options.client.db(db).listCollections({ name: coll }, { nameOnly: false }).next();
  if (!info || info.type === 'view') return 0;
  const indexes = collection.specs.flatMap((raw) => {
    // The target collection carries the source's default collation (created with its options).
    const spec = createIndexSpec(raw, { target: options.target, collectionCollation: collationOf(info.options) });
    return spec ? [spec] : [];
  });
  if (indexes.length === 0) return 0;
  try {
    await options.client.db(db).command({ createIndexes: coll, indexes });
  } catch (error) {
    const code = error instanceof MongoServerError ? ` (code ${String(error.code)})` : '';
    throw new TargetError(
      `building ${indexes.map((spec) => String(spec.name)).join(', ')} on ${collection.ns} after replay failed${code}: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'the restored documents violate an index the source had at the cutoff, or the target already holds a conflicting index: restore into an empty target (--drop)',
      },
    );
  }
  return indexes.length;
}

function collationOf(options: unknown): Document | undefined {
  const collation = (options as { collation?: unknown } | undefined)?.collation;
  return typeof collation === 'object' && collation !== null ? (collation as Document) : undefined;
}
