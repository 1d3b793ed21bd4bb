// The command that creates a restored collection with the UUID it had at the source, as
// `mongorestore --preserveUUID` does: a `create` command op carried by applyOps, with the
// collection's UUID in the op's `ui` field. Pure: nothing is sent here.
//
// Why the UUID matters: on a sharded cluster the routing metadata names each sharded collection
// by UUID (config.collections.uuid, and config.chunks.uuid since 5.0), and it must equal the UUID
// of the collection on every shard holding its chunks; the server's own test hook checks exactly
// that (mongodb/mongo jstests/libs/check_uuids.js, checkUUIDsConsistentAcrossCluster: "a shard
// owns chunks for a sharded collection, then the shard has an entry for the collection in its
// storage catalog, with the same UUID as the collection has in the sharding catalog").
//
// Why applyOps: the `create` command takes no UUID; the oplog application path does. In
// mongodb/mongo src/mongo/db/repl/oplog.cpp the "create" entry of the command-op table hands the
// op's `ui` to createCollectionForApplyOps (src/mongo/db/catalog/create_collection.cpp), which
// creates the collection with that UUID; an `idIndex` in `o` is used as the _id index's spec
// (without one a v:1 _id index is built, so it is passed, as the dump lists it).
// jstests/replsets/apply_ops_create_with_uuid.js shows listCollections' info.uuid equal to the
// `ui` given. createCollectionForApplyOps renames an existing collection holding that UUID to
// the new name, so mongorestore demands --drop with --preserveUUID, and so does restore
// (restore/preserve-uuid.ts).
import { UUID, type Document } from 'mongodb';

/** Options listCollections reports that create does not take (the UUID goes in `ui`). */
const NOT_CREATE_OPTIONS = new Set(['uuid']);

export interface PlannedCreate {
  /** The database the command runs on: the collection's own for create, admin for applyOps. */
  readonly db: string;
  readonly command: Document;
  /** Whether the command carries the source UUID. */
  readonly preservesUuid: boolean;
}

export interface CreateInput {
  readonly db: string;
  readonly coll: string;
  /** listCollections' options as the base's metadata stores them. */
  readonly options: Document;
  /** The metadata's index specs: the `_id_` one becomes the op's idIndex. */
  readonly indexes?: readonly Document[];
  /** The source UUID as 32 hex digits (mongodump's metadata shape), or null. */
  readonly uuid: string | null;
}

/** The create options of a collection: what listCollections reported, less what create refuses. */
export function createOptions(options: Document): Document {
  const out: Document = {};
  for (const [key, value] of Object.entries(options)) if (!NOT_CREATE_OPTIONS.has(key)) out[key] = value;
  return out;
}

/**
 * The plain create command (views, collections without a recorded UUID), or the applyOps
 * command that creates the collection with its source UUID.
 */
export function planCreate(input: CreateInput, preserveUuid: boolean): PlannedCreate {
  const options = createOptions(input.options);
  // A view has no UUID (listCollections reports none: it is a catalog entry, not a collection).
  const isView = typeof options.viewOn === 'string';
  if (!preserveUuid || isView || input.uuid === null) {
    return { db: input.db, command: { create: input.coll, ...options }, preservesUuid: false };
  }
  const idIndex = idIndexOf(input.indexes ?? [], options);
  const op: Document = {
    op: 'c',
    ns: `${input.db}.$cmd`,
    ui: new UUID(input.uuid),
    o: { create: input.coll, ...options, ...(idIndex && { idIndex }) },
  };
  return { db: 'admin', command: { applyOps: [op] }, preservesUuid: true };
}

/**
 * The `_id_` index spec as the oplog's create op carries it (`v`, `key`, `name`, and a collation
 * when the index has one), or none: a clustered collection has no separate _id index (its
 * `clusteredIndex` option is the _id order itself).
 */
function idIndexOf(indexes: readonly Document[], options: Document): Document | undefined {
  if (options.clusteredIndex !== undefined) return undefined;
  const spec = indexes.find((index) => index.name === '_id_');
  if (!spec) return undefined;
  const { ns: _ns, ...rest } = spec;
  return rest;
}
