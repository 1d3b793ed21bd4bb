// Filters that select documents by `_id` exactly, for any BSON `_id` a replayed entry can carry.
//
// A regular expression is the one `_id` value a plain filter does not compare by equality:
// `{_id: /a/}` and `{_id: {$in: [/a/]}}` match every string `_id` the pattern matches, besides
// the regex itself. `{_id: {$eq: /a/}}` compares exactly
// (https://www.mongodb.com/docs/manual/reference/operator/query/eq/#regex-match-behavior), and
// `$in` takes no `$eq`, so a regex `_id` is always selected on its own. (MongoDB refuses a regex
// `_id`; other servers, or a hand-built oplog, may still carry one.)
// (An array cannot be an `_id`; a document `_id` is compared whole, regexes inside it included.)
import { BSON, BSONRegExp } from 'mongodb';
import type { Document } from 'mongodb';

/** Ids per `$in` list, and their encoded size, well under the 16 MiB command limit. */
export const DEFAULT_IDS_PER_LIST = 10_000;
const MAX_IN_LIST_BYTES = 8 * 1024 * 1024;

/**
 * The filter for the one document whose `_id` is `id`. Typed as a plain Document because the
 * driver's Filter type assumes an ObjectId `_id`, while a replayed `_id` can be any BSON value.
 */
export function byId(id: unknown): Document {
  return { _id: isRegex(id) ? { $eq: id } : id };
}

/** A filter for the documents whose `_id` is one of `ids`, none of them a regex (inList). */
export function byIdIn(ids: readonly unknown[]): Document {
  return { _id: { $in: ids } };
}

/** Whether `id` may go in a `$in` list and select only the document it names. */
export function inList(id: unknown): boolean {
  return !isRegex(id);
}

function isRegex(id: unknown): boolean {
  return id instanceof RegExp || id instanceof BSONRegExp;
}

/**
 * Splits items into lists of at most `perList` whose `_id`s (as `idOf` gives them) encode to at
 * most 8 MiB, so that one `$in` list stays far below the maximum command size.
 */
export function chunkByIds<T>(items: readonly T[], idOf: (item: T) => unknown, perList = DEFAULT_IDS_PER_LIST): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = BSON.calculateObjectSize({ _id: idOf(item) });
    if (current.length > 0 && (current.length >= perList || bytes + size > MAX_IN_LIST_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
