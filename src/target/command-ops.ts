// Translates an `op: "c"` oplog entry into the command a target runs to make the same change.
// The oplog form of a command is not always the user form (createIndexes, commitIndexBuild,
// time-series creates), and some fields are server bookkeeping the user command rejects.
// Sources of truth: the command reference (https://www.mongodb.com/docs/manual/reference/command/),
// mongo-tools mongorestore/oplog.go (which oplog commands exist and how mongorestore replays
// them), and src/mongo/base/error_codes.yml in the server for the codes below.
//
// Replay may apply an entry to a target that already has its effect: the base is a fuzzy copy
// taken while the oplog ran, and a restore may be run twice. `ignoreCodes` lists, per command,
// the errors that only mean "already so".
import { BSON, type Document } from 'mongodb';
import { TargetError } from '../errors.ts';
import { isDocument, type OplogEntry } from '../oplog-entry.ts';
import { formatTs, tsFromBson } from '../timestamp.ts';
import type { CommandPlan } from './applier.ts';
import { isInternalNs, joinNs, splitNs } from '../namespace.ts';
import { createIndexSpec, type IndexTarget } from './index-spec.ts';

/** Server error codes (src/mongo/base/error_codes.yml). */
export const ServerErrorCode = {
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  NamespaceExists: 48,
  IndexAlreadyExists: 68,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
} as const;

/** A command entry replay does not run, and why (the caller counts the reasons). */
export interface SkippedCommand {
  readonly skip: string;
}

export function isSkippedCommand(result: CommandPlan | SkippedCommand): result is SkippedCommand {
  return 'skip' in result;
}

const {
  NamespaceNotFound,
  IndexNotFound,
  NamespaceExists,
  IndexAlreadyExists,
  IndexOptionsConflict,
  IndexKeySpecsConflict,
} = ServerErrorCode;

// Why each code is "already so" for the command that lists it:
/** create: the collection or view is there, from the base or a previous pass. */
const CREATE_IGNORES = [NamespaceExists];
/**
 * drop, convertToCapped: the collection is gone, dropped by a previous pass or by an entry
 * further on that a previous pass applied (drop of a missing collection errors before 7.0).
 */
const MISSING_COLLECTION_IGNORES = [NamespaceNotFound];
/**
 * renameCollection: NamespaceNotFound, the source was renamed away by a previous pass;
 * NamespaceExists, the target was renamed into by a previous pass and the source name was
 * created again further on in the oplog (both are then where the oplog leaves them).
 */
const RENAME_IGNORES = [NamespaceNotFound, NamespaceExists];
/**
 * createIndexes: the base or a previous pass already built the index, possibly in the shape
 * a later entry gave it: IndexAlreadyExists (builds racing an existing one), IndexOptionsConflict
 * (same keys under another name, or options since changed by collMod), IndexKeySpecsConflict
 * (the name now belongs to an index on other keys, dropped and re-created further on).
 */
const CREATE_INDEX_IGNORES = [IndexAlreadyExists, IndexOptionsConflict, IndexKeySpecsConflict];
/** dropIndexes, collMod: the index or the collection is already gone (dropped further on). */
const INDEX_OR_COLLECTION_GONE_IGNORES = [IndexNotFound, NamespaceNotFound];

/**
 * Fields of a logged `create` the create command rejects or should not get: `autoIndexId` and
 * `flags` (MMAPv1 era, refused on replicated collections since 4.0), `recordPreImages`
 * (removed in 6.0), `recordIdsReplicated` (8.0 cluster setting, not portable; mongorestore
 * drops it too), `temp` (server-internal: a $out/mapReduce staging collection is renamed into
 * place, and renameCollection with stayTemp false makes the result permanent either way).
 */
const CREATE_DROPPED_FIELDS = [
  'autoIndexId',
  'flags',
  'recordPreImages',
  'recordIdsReplicated',
  'temp',
];
/**
 * Fields of a logged `collMod` the command rejects: the MMAPv1 padding options (mongorestore
 * removes them for 4.1.11+) and `recordPreImages` (removed in 6.0).
 */
const COLLMOD_DROPPED_FIELDS = ['noPadding', 'usePowerOf2Sizes', 'recordPreImages'];

const BUCKETS_PREFIX = 'system.buckets.';

type Planned = CommandPlan | SkippedCommand;
type Planner = (db: string, o: Document, entry: OplogEntry, target: IndexTarget) => Planned;

const PLANNERS = new Map<string, Planner>([
  ['create', planCreate],
  ['drop', planDrop],
  ['dropDatabase', planDropDatabase],
  ['renameCollection', planRename],
  ['createIndexes', planCreateIndexes],
  ['commitIndexBuild', planCommitIndexBuild],
  ['dropIndexes', planDropIndexes],
  ['deleteIndexes', planDropIndexes],
  ['dropIndex', planDropIndexes],
  ['deleteIndex', planDropIndexes],
  ['collMod', planCollMod],
  ['emptycapped', planEmptyCapped],
  ['convertToCapped', planConvertToCapped],
]);

/** Commands seen in the oplog that replay deliberately leaves alone. */
const SKIP_REASONS = new Map<string, string>([
  ['applyOps', 'applyOps: expanded by the transaction buffer'],
  ['commitTransaction', 'commitTransaction: handled by the transaction buffer'],
  ['abortTransaction', 'abortTransaction: handled by the transaction buffer'],
  ['startIndexBuild', 'startIndexBuild: the commitIndexBuild entry carries the indexes'],
  ['abortIndexBuild', 'abortIndexBuild: the build never committed, so there is no index'],
  ['dbCheck', 'dbCheck: a consistency check, nothing to replay'],
  ['setMultikeyMetadata', 'setMultikeyMetadata: server bookkeeping, rebuilt by the target'],
  [
    'modifyCollectionShardingIndexCatalog',
    "modifyCollectionShardingIndexCatalog: a shard's copy of the sharded index catalog, not replica-set data",
  ],
  // Shards' own copy of the sharding catalog's database entries (CommandType in the server's
  // src/mongo/db/repl/oplog_entry.idl): not replica-set data.
  ['createDatabaseMetadata', "createDatabaseMetadata: a shard's copy of the sharding catalog, not replica-set data"],
  ['dropDatabaseMetadata', "dropDatabaseMetadata: a shard's copy of the sharding catalog, not replica-set data"],
  ['createGlobalIndex', 'createGlobalIndex: an internal global-index container, no user data'],
  ['dropGlobalIndex', 'dropGlobalIndex: an internal global-index container, no user data'],
  [
    'importCollection',
    'importCollection: the imported WiredTiger files are not in the oplog, so the collection cannot be rebuilt from it',
  ],
  [
    'upgradeDowngradeViewlessTimeseries',
    'upgradeDowngradeViewlessTimeseries: a time-series format conversion (FCV change between ' +
      '8.x and 9.0) cannot be replayed; restore to a point before it',
  ],
]);

/**
 * Commands the server logs that replay cannot reproduce: skipping one leaves the target
 * different from the source, so replay refuses it unless told to skip (refusedCommand).
 */
const UNREPLAYABLE = new Set(['importCollection', 'upgradeDowngradeViewlessTimeseries']);

/**
 * Every command the server's oplog applier accepts: the keys of kOpsMap in mongodb/mongo
 * src/mongo/db/repl/oplog.cpp, the CommandType values of src/mongo/db/repl/oplog_entry.idl, and
 * setMultikeyMetadata and upgradeDowngradeViewlessTimeseries of other versions. Each is planned
 * or skipped with a reason; a name outside this set is a command newer than this code.
 */
export const KNOWN_COMMANDS: ReadonlySet<string> = new Set([...PLANNERS.keys(), ...SKIP_REASONS.keys()]);

/**
 * Why replay must not skip this command entry silently, or undefined when it may run or skip
 * it: a command it does not know (a DDL newer than this code) or one it cannot replay
 * (importCollection). Skipping either would make the target differ from the source.
 */
export function refusedCommand(entry: OplogEntry): string | undefined {
  if (entry.op !== 'c' || !isDocument(entry.o)) return undefined;
  const name = Object.keys(entry.o)[0];
  if (name === undefined) return undefined;
  if (!KNOWN_COMMANDS.has(name)) return `unknown command "${name}"`;
  return UNREPLAYABLE.has(name) ? SKIP_REASONS.get(name) : undefined;
}

/**
 * The error replay raises for a refused command: where it is (ts, ns), the command itself, and
 * the two ways on.
 */
export function refusedCommandError(entry: OplogEntry, reason: string): TargetError {
  const ts = formatTs(tsFromBson(entry.ts));
  const command = BSON.EJSON.stringify(entry.o, { relaxed: true });
  return new TargetError(`oplog command at ${ts} on ${entry.ns} cannot be replayed (${reason}): ${truncate(command, 300)}`, {
    hint: `restore to a point before it (--until ${ts}), or pass --skip-unknown-commands to skip such commands knowingly`,
  });
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/**
 * Plans the command for a `c` entry, or says why replay skips it. `target`: how the target
 * applies (index specs differ, index-spec.ts); real MongoDB's form by default.
 */
export function planCommand(entry: OplogEntry, target: IndexTarget = 'applyOps'): CommandPlan | SkippedCommand {
  if (entry.op !== 'c') return { skip: `not a command entry (op "${entry.op}")` };
  if (!isDocument(entry.o)) return { skip: 'malformed command entry: o is not a document' };
  const name = Object.keys(entry.o)[0];
  if (name === undefined) return { skip: 'malformed command entry: empty o' };
  const skip = SKIP_REASONS.get(name);
  if (skip) return { skip };
  const planner = PLANNERS.get(name);
  if (!planner) return { skip: `unknown command "${name}"` };
  return planner(splitNs(entry.ns).db, entry.o, entry, target);
}

function planCreate(db: string, o: Document, entry: OplogEntry): Planned {
  const coll = collectionOf(o, 'create');
  if (coll === undefined) return malformed('create');
  if (isInternalNs(joinNs(db, coll))) return internal('create');
  if (typeof o.viewOn === 'string' && o.viewOn.startsWith(BUCKETS_PREFIX)) {
    return { skip: 'create: a time-series view, made with its buckets collection' };
  }
  const command = omit(o, CREATE_DROPPED_FIELDS);
  if (isDocument(o.idIndex)) command.idIndex = omit(o.idIndex, ['ns']);
  if (isDocument(o.timeseries)) {
    // 5.0-8.x log a time-series collection as the create of its buckets collection, with a
    // generated validator and `clusteredIndex: true`; users create it by its own name.
    command.timeseries = timeseriesOptions(o.timeseries);
    delete command.validator;
    if (typeof command.clusteredIndex === 'boolean') delete command.clusteredIndex;
    if (coll.startsWith(BUCKETS_PREFIX)) command.create = coll.slice(BUCKETS_PREFIX.length);
  }
  return plan(db, command, entry, CREATE_IGNORES);
}

/**
 * The bucketing parameters are derived from `granularity` when it is set, and the create
 * command refuses them next to a granularity they were not set with; keep them only for custom
 * bucketing (6.3+, no granularity).
 */
function timeseriesOptions(timeseries: Document): Document {
  if (timeseries.granularity === undefined) return { ...timeseries };
  return omit(timeseries, ['bucketMaxSpanSeconds', 'bucketRoundingSeconds']);
}

function planDrop(db: string, o: Document, entry: OplogEntry): Planned {
  const coll = collectionOf(o, 'drop');
  if (coll === undefined) return malformed('drop');
  if (isInternalNs(joinNs(db, coll))) return internal('drop');
  // Dropping a time-series collection by its own name drops its buckets too.
  return plan(db, { drop: viewOfBuckets(coll) }, entry, MISSING_COLLECTION_IGNORES);
}

function planDropDatabase(db: string, _o: Document, entry: OplogEntry): Planned {
  if (isInternalNs(joinNs(db, 'x'))) return internal('dropDatabase');
  // Dropping a database that does not exist succeeds: nothing to ignore.
  return plan(db, { dropDatabase: 1 }, entry, []);
}

function planRename(_db: string, o: Document, entry: OplogEntry): Planned {
  const from = o.renameCollection;
  const to = o.to;
  if (typeof from !== 'string' || typeof to !== 'string') return malformed('renameCollection');
  if (isInternalNs(from) || isInternalNs(to)) return internal('renameCollection');
  // Since 4.2 the oplog's dropTarget is the UUID of the collection it dropped (or absent);
  // the command takes a boolean.
  const command: Document = { renameCollection: from, to, dropTarget: isTruthy(o.dropTarget) };
  if (typeof o.stayTemp === 'boolean') command.stayTemp = o.stayTemp;
  // renameCollection runs on admin, whatever the databases (it may cross them).
  return plan('admin', command, entry, RENAME_IGNORES);
}

/** The oplog form is `{createIndexes: coll, v, key, name, ...options}`: one spec, inline. */
function planCreateIndexes(db: string, o: Document, entry: OplogEntry, target: IndexTarget): Planned {
  const coll = collectionOf(o, 'createIndexes');
  if (coll === undefined) return malformed('createIndexes');
  if (isInternalNs(joinNs(db, coll))) return internal('createIndexes');
  const spec = createIndexSpec(omit(o, ['createIndexes']), { target });
  if (!spec) return malformed('createIndexes');
  return plan(db, { createIndexes: coll, indexes: [spec] }, entry, CREATE_INDEX_IGNORES);
}

/** Two-phase index builds (4.4+): the commit entry lists every index of the build. */
function planCommitIndexBuild(db: string, o: Document, entry: OplogEntry, target: IndexTarget): Planned {
  const coll = collectionOf(o, 'commitIndexBuild');
  if (coll === undefined || !Array.isArray(o.indexes)) return malformed('commitIndexBuild');
  if (isInternalNs(joinNs(db, coll))) return internal('commitIndexBuild');
  const indexes: Document[] = [];
  for (const raw of o.indexes) {
    const spec = isDocument(raw) ? createIndexSpec(raw, { target }) : undefined;
    if (!spec) return malformed('commitIndexBuild');
    indexes.push(spec);
  }
  if (indexes.length === 0) return malformed('commitIndexBuild');
  return plan(db, { createIndexes: coll, indexes }, entry, CREATE_INDEX_IGNORES);
}

/** The oplog logs one entry per dropped index, by name; the spec dropped is in `o2`. */
function planDropIndexes(db: string, o: Document, entry: OplogEntry): Planned {
  const name = Object.keys(o)[0];
  const coll = collectionOf(o, name);
  const index = o.index ?? (isDocument(entry.o2) ? entry.o2.name : undefined);
  if (coll === undefined || index === undefined) return malformed(name);
  if (isInternalNs(joinNs(db, coll))) return internal(name);
  return plan(db, { dropIndexes: coll, index }, entry, INDEX_OR_COLLECTION_GONE_IGNORES);
}

function planCollMod(db: string, o: Document, entry: OplogEntry): Planned {
  const coll = collectionOf(o, 'collMod');
  if (coll === undefined) return malformed('collMod');
  if (isInternalNs(joinNs(db, coll))) return internal('collMod');
  const command = omit(o, COLLMOD_DROPPED_FIELDS);
  command.collMod = viewOfBuckets(coll);
  // The command names an index by `name` or by `keyPattern`, never both.
  if (isDocument(o.index) && o.index.name !== undefined && o.index.keyPattern !== undefined) {
    command.index = omit(o.index, ['keyPattern']);
  }
  return plan(db, command, entry, INDEX_OR_COLLECTION_GONE_IGNORES);
}

/**
 * emptycapped is a test-only command (enableTestCommands), absent on production targets; a
 * delete of every document leaves the same state and works on capped collections since 5.0.
 */
function planEmptyCapped(db: string, o: Document, entry: OplogEntry): Planned {
  const coll = collectionOf(o, 'emptycapped');
  if (coll === undefined) return malformed('emptycapped');
  if (isInternalNs(joinNs(db, coll))) return internal('emptycapped');
  return plan(db, { delete: coll, deletes: [{ q: {}, limit: 0 }] }, entry, []);
}

function planConvertToCapped(db: string, o: Document, entry: OplogEntry): Planned {
  const coll = collectionOf(o, 'convertToCapped');
  if (coll === undefined || o.size === undefined) return malformed('convertToCapped');
  if (isInternalNs(joinNs(db, coll))) return internal('convertToCapped');
  return plan(db, { convertToCapped: coll, size: o.size }, entry, MISSING_COLLECTION_IGNORES);
}

/** `system.buckets.X` → `X`: the name users (and commands) know a time-series collection by. */
function viewOfBuckets(coll: string): string {
  return coll.startsWith(BUCKETS_PREFIX) ? coll.slice(BUCKETS_PREFIX.length) : coll;
}

function plan(
  db: string,
  command: Document,
  entry: OplogEntry,
  ignoreCodes: readonly number[],
): CommandPlan {
  return { db, command, entry, ignoreCodes };
}

function malformed(name: string): SkippedCommand {
  return { skip: `${name}: malformed entry` };
}

function internal(name: string): SkippedCommand {
  return { skip: `${name}: internal namespace` };
}

function collectionOf(o: Document, name: string | undefined): string | undefined {
  const value = name === undefined ? undefined : o[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A copy without `fields`, keys in their original order (the command name stays first). */
function omit(doc: Document, fields: readonly string[]): Document {
  const copy: Document = {};
  for (const [key, value] of Object.entries(doc)) if (!fields.includes(key)) copy[key] = value;
  return copy;
}

/** BSON truthiness: false, null, absent and numeric zero (decoded or not) are false. */
function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (typeof value === 'number') return value !== 0;
  const type = (value as { _bsontype?: unknown })._bsontype;
  if (type === 'Int32' || type === 'Double' || type === 'Long') return Number(value) !== 0;
  return true;
}

