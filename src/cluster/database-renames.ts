// --nsFrom/--nsTo on a cluster restore: whole databases only, one to one. Pure.
//
// Why only whole databases: a database's unsharded collections live on its primary shard and are
// routed by its one config.databases entry, {_id: db, primary: <shard>} (mongodb/mongo
// src/mongo/s/catalog/type_database.idl). A rename that moved some collections of a database
// into another, or joined two databases, would need one target database whose collections sit on
// two primaries: no routing says that. `--nsFrom 'a.*' --nsTo 'b.*'` keeps every collection of a
// on a's primary shard, now as b's.
//
// The metadata then renamed (config-metadata.ts): config.databases `_id` (a new version uuid: a
// database version names one database incarnation), config.collections `_id` (the namespace,
// type_collection.idl), config.chunks `ns` and its `<ns>-<min>` `_id` before 5.0 (since 5.0 a
// chunk names its collection by `uuid`, type_chunk.cpp, which routing-uuids.ts then sets to the
// renamed collection's), config.tags `ns` and an `{ns, min}` `_id` (type_tags.cpp).
import { UsageError } from '../errors.ts';
import { splitNs } from '../namespace.ts';

export interface DatabaseRenames {
  /** True when no rename was given. */
  readonly identity: boolean;
  /** Source database → target database. */
  readonly map: ReadonlyMap<string, string>;
  /** A source database's target name (itself when not renamed). */
  db(db: string): string;
  /** A source namespace's target name. */
  ns(ns: string): string;
  /** A target namespace back to its source name (the map is one to one). */
  sourceNs(ns: string): string;
}

const SYSTEM_DATABASES = new Set(['admin', 'config', 'local']);

const WHOLE_DATABASE = /^([^.*$\\/"\s]+)\.\*$/;

/**
 * The pairs as database renames; anything but `db.*` → `otherdb.*`, a database renamed twice or
 * two onto one is a UsageError.
 */
export function databaseRenames(from: readonly string[], to: readonly string[]): DatabaseRenames {
  if (from.length !== to.length) throw new UsageError(`--nsFrom and --nsTo come in pairs: got ${from.length} --nsFrom and ${to.length} --nsTo`);
  const map = new Map<string, string>();
  const targets = new Set<string>();
  from.forEach((pattern, index) => {
    const source = WHOLE_DATABASE.exec(pattern)?.[1];
    const target = WHOLE_DATABASE.exec(to[index] ?? '')?.[1];
    if (source === undefined || target === undefined) {
      throw new UsageError(`--nsFrom ${pattern} --nsTo ${to[index] ?? ''}: a cluster restore renames whole databases only, as --nsFrom 'db.*' --nsTo 'newdb.*'`, {
        hint: 'a database has one primary shard for its unsharded collections (config.databases): moving some of its collections to another database, or joining two, has no routing',
      });
    }
    if (SYSTEM_DATABASES.has(source) || SYSTEM_DATABASES.has(target)) throw new UsageError(`--nsFrom ${pattern} --nsTo ${to[index] ?? ''}: the admin, config and local databases are the cluster's own and are not renamed`);
    if (map.has(source)) throw new UsageError(`--nsFrom ${pattern}: database ${source} is renamed twice`);
    if (targets.has(target)) throw new UsageError(`--nsTo ${to[index] ?? ''}: two databases renamed onto ${target}`);
    map.set(source, target);
    targets.add(target);
  });
  const inverse = new Map([...map].map(([source, target]) => [target, source]));
  const swap = (ns: string, names: ReadonlyMap<string, string>): string => {
    const { db, coll } = splitNs(ns);
    const renamed = names.get(db);
    return renamed === undefined ? ns : `${renamed}.${coll}`;
  };
  return {
    identity: map.size === 0,
    map,
    db: (db) => map.get(db) ?? db,
    ns: (ns) => swap(ns, map),
    sourceNs: (ns) => swap(ns, inverse),
  };
}

/**
 * A rename onto a database the source also has at the cutoff (its config.databases entries), not
 * renamed itself, could join the two under one primary: refused once those are known, before
 * any shard is written. (Kept simple: even a database the rules exclude counts.)
 */
export function checkRenameTargets(renames: DatabaseRenames, sourceDatabases: Iterable<string>): void {
  const kept = new Set([...sourceDatabases].filter((db) => !renames.map.has(db)));
  for (const [source, target] of renames.map) {
    if (kept.has(target)) {
      throw new UsageError(`--nsFrom ${source}.* --nsTo ${target}.*: the backup has a database ${target} of its own at the cutoff; the two would be joined`, {
        hint: `rename ${target} too (--nsFrom '${target}.*' --nsTo '<another>.*'), or pick a name the backup does not have`,
      });
    }
  }
}

export const NO_RENAMES: DatabaseRenames = databaseRenames([], []);
