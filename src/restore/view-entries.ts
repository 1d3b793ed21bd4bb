// Views in the oplog: the server keeps a database's views as documents of `<db>.system.views`
// and logs creating, modifying and dropping a view as an insert, an update and a delete of that
// collection, never as commands. Replay turns each such entry into the view commands that make
// the same change on the target (create / collMod / drop), so the namespace rules and both
// appliers treat them like any other command.
//
// What the server writes (mongodb/mongo, src/mongo/db/catalog/views_for_database.cpp,
// ViewsForDatabase::_upsertIntoCatalog and ::remove; op_observer/op_observer_impl.cpp,
// replLogUpdate and replLogDelete):
//   - the document is `{_id: "<db>.<view>", viewOn: "<coll>", pipeline: [...], collation?}`
//     (no collation field when the view has the simple collation);
//   - createView inserts it: `{op: "i", ns: "<db>.system.views", o: <document>}`;
//   - collMod of a view replaces it whole: `{op: "u", o: <document>, o2: {_id: "<db>.<view>"}}`,
//     a replacement, never a `$v:2` diff (the update is the new document itself);
//   - dropping a view deletes it: `{op: "d", o: {_id: "<db>.<view>"}}`.
// No `c` entry accompanies them: DatabaseImpl::createView calls no op observer, and coll_mod.cpp
// observes "only non-view collMods, as view operations are observed as operations on the
// system.views collection". The `create` of `system.views` itself (the first view of a
// database) is an internal command and stays skipped.
//
// Idempotence: an insert or update becomes a `create` (NamespaceExists ignored: the base or a
// previous pass made the view) followed by a `collMod` to the same definition, so the view ends
// as the entry defines it whether or not it existed; a delete becomes a `drop`
// (NamespaceNotFound ignored). A `create` entry with `viewOn`, should one appear (an applyOps
// written by hand), meets the same NamespaceExists rule, so nothing applies twice.
import type { Document } from 'mongodb';
import { joinNs, splitNs } from '../namespace.ts';
import type { OplogEntry } from '../oplog-entry.ts';

export const SYSTEM_VIEWS = 'system.views';
const BUCKETS_PREFIX = 'system.buckets.';

export const SKIP_TIMESERIES_VIEW = 'system.views: a time-series view, made with its buckets collection';
export const SKIP_MALFORMED_VIEW = 'system.views: malformed view definition';
export const SKIP_VIEW_UPDATE_NOT_REPLACEMENT = 'system.views: update without the whole view definition';

/** What becomes of one system.views entry: command entries to apply, or why it is skipped. */
export type ViewTranslation = { readonly apply: readonly OplogEntry[] } | { readonly skip: string };

/** True for a CRUD entry on a database's view catalog (`<db>.system.views`). */
export function isViewCatalogEntry(entry: OplogEntry): boolean {
  return (entry.op === 'i' || entry.op === 'u' || entry.op === 'd') && splitNs(entry.ns).coll === SYSTEM_VIEWS;
}

/** The view commands, as `c` entries of the view's database, for one system.views entry. */
export function viewCommandEntries(entry: OplogEntry): ViewTranslation {
  const { db } = splitNs(entry.ns);
  if (entry.op === 'd') {
    const view = viewName(db, entry.o._id);
    return view === undefined ? { skip: SKIP_MALFORMED_VIEW } : { apply: [command(entry, db, { drop: view })] };
  }
  if (Object.keys(entry.o).some((key) => key.startsWith('$'))) return { skip: SKIP_VIEW_UPDATE_NOT_REPLACEMENT };
  const view = viewName(db, entry.op === 'u' ? (entry.o2?._id ?? entry.o._id) : entry.o._id);
  const { viewOn, pipeline, collation } = entry.o;
  if (view === undefined || typeof viewOn !== 'string' || viewOn === '' || !Array.isArray(pipeline)) {
    return { skip: SKIP_MALFORMED_VIEW };
  }
  // A time-series collection's view is created and dropped with its buckets collection
  // (target/command-ops.ts creates the collection by its own name); collMod cannot touch it.
  if (viewOn.startsWith(BUCKETS_PREFIX)) return { skip: SKIP_TIMESERIES_VIEW };
  const create: Document = { create: view, viewOn, pipeline };
  if (isDocument(collation)) create.collation = collation;
  return {
    apply: [command(entry, db, create), command(entry, db, { collMod: view, viewOn, pipeline })],
  };
}

/** `"<db>.<view>"` → `<view>`, when the _id names a view of the entry's own database. */
function viewName(db: string, id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const { db: idDb, coll } = splitNs(id);
  return idDb === db && coll !== '' ? coll : undefined;
}

/** A `c` entry at the same place in the oplog (ts, term, wall), without the catalog's ui. */
function command(entry: OplogEntry, db: string, o: Document): OplogEntry {
  const { ui: _ui, o2: _o2, ...rest } = entry;
  return { ...rest, op: 'c', ns: joinNs(db, '$cmd'), o };
}

function isDocument(value: unknown): value is Document {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
