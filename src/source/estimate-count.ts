// How many documents a dump is about to read, for its progress bar's total: one
// estimatedDocumentCount per collection, which the driver sends as a `count` without a query;
// mongod answers that from the collection's record count, kept by the storage engine, without
// scanning (src/mongo/db/commands/count_cmd.cpp, the query-less fast path), so the estimate costs
// one round trip per collection. It may be off (an unclean shutdown, writes during the dump): it
// only sizes a bar, never decides anything.
import type { Source } from './connect-source.ts';
import type { CatalogEntry } from './catalog.ts';
import { timeLimit } from './time-limit.ts';

/**
 * The estimated documents of the collections a dump reads (`coll` as dumped: a time-series
 * collection's buckets); views hold none. Null when the source will not say (a restricted
 * user, a server without the command): the bar then counts collections only.
 */
export async function estimateDocuments(source: Source, entries: readonly { db: string; coll: string; type: CatalogEntry['type'] }[]): Promise<number | null> {
  let total = 0;
  for (const entry of entries) {
    if (entry.type === 'view') continue;
    try {
      total += await source.client.db(entry.db).collection(entry.coll).estimatedDocumentCount(timeLimit(source.deadline));
    } catch (error) {
      if (source.deadline?.signal.aborted) throw error;
      return null;
    }
  }
  return total;
}
