// One index spec, as recorded (a base's metadata.json, listIndexes) or as logged (the oplog's
// createIndexes / commitIndexBuild), turned into the spec the target's createIndexes is sent.
// Both the base loader and command replay go through here, so an index built from the dump and
// the same index built from the oplog are sent alike.
import { isDocument } from '../oplog-entry.ts';
import type { Document } from 'mongodb';
import type { Applier } from './applier.ts';

/** How the target applies the oplog: decides which fields it accepts (open-target.ts). */
export type IndexTarget = Applier['mode'];

/**
 * Index versions a server builds when asked: src/mongo/db/catalog/index_key_validate.cpp
 * (isIndexVersionAllowedForCreation) accepts v 1 and 2 and refuses any other; without `v` it
 * builds its default version (IndexDescriptor::getDefaultIndexVersion, v 2).
 */
const CREATABLE_VERSIONS = new Set([1, 2]);

/**
 * Fields that describe how an index came to be rather than what it is: `ns` (written by servers
 * before 4.4; it names the source namespace, wrong after a rename), `background` (ignored since
 * 4.2: every build is hybrid).
 */
const HISTORY_FIELDS = ['ns', 'background'];

export interface IndexSpecOptions {
  readonly target: IndexTarget;
  /**
   * The collection's default collation, when not simple. listIndexes (and so the dump and the
   * oplog) writes no `collation` for an index with the simple collation, and createIndexes gives
   * an index without one the collection's default: such a spec must say `simple` explicitly
   * (mongo-tools common/idx/index_catalog.go GetIndexes does the same).
   */
  readonly collectionCollation?: Document;
}

/**
 * The spec to send, or undefined when `raw` is not one (`key` and `name` are required).
 *
 * `v` is kept for real MongoDB (applyOps mode): the server accepts the versions it logs, and
 * keeping it rebuilds the source's exact index version (a v 1 index stays v 1, as with
 * `mongorestore --keepIndexVersion`). Portable targets get no `v`: FerretDB refuses the field,
 * and a version is a storage detail there.
 */
export function createIndexSpec(raw: Document, options: IndexSpecOptions): Document | undefined {
  if (!isDocument(raw.key) || typeof raw.name !== 'string' || raw.name.length === 0) return undefined;
  const spec: Document = {};
  for (const [field, value] of Object.entries(raw)) {
    if (HISTORY_FIELDS.includes(field)) continue;
    if (field === 'v' && !(options.target === 'applyOps' && CREATABLE_VERSIONS.has(Number(value)))) continue;
    spec[field] = value;
  }
  if (spec.collation === undefined && options.collectionCollation && !isSimpleCollation(options.collectionCollation)) {
    spec.collation = { locale: 'simple' };
  }
  return spec;
}

/**
 * The `_id` index comes with the collection (its create's idIndex, or a clustered collection's
 * clusteredIndex, which listIndexes shows with `clustered: true` under the name it was given):
 * never built by createIndexes.
 */
export function isIdIndex(spec: Document): boolean {
  return spec.name === '_id_' || spec.clustered === true;
}

/** `{locale: "simple"}` (or no collation at all) is the binary comparison every index has by default. */
export function isSimpleCollation(collation: unknown): boolean {
  return !isDocument(collation) || collation.locale === 'simple';
}

