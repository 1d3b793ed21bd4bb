// Which users and roles a restore brings back, and the command that merges them: pure data.
//
// `backup --include-auth` stores admin.system.users and admin.system.roles like collections.
// They cannot be restored by writing those collections: the server keeps them behind its
// user-management lock and caches. mongorestore loads the dump's documents into temporary
// collections of `admin` and has the server move them into place with `_mergeAuthzCollections`
// (mongo-tools mongorestore/metadata.go, RestoreUsersOrRoles); mongo-pitr does the same, and
// replays the oplog's writes to admin.system.users/roles after T0 (inserts, `$v:2` updates,
// deletes: the server logs user-management commands as CRUD on those collections, see
// ../shared/fixtures/pbm/ops_admin_users_roles.json) onto the temporary collections too, so the
// merge installs the users and roles as they were at the cutoff.
//
// The server's merge (mongodb/mongo, src/mongo/db/commands/user_management_commands.cpp,
// CmdMergeAuthzCollections): for each document of the temporary collection, with `drop: false`
// the user or role is inserted, and one that already exists on the target is left as it is;
// with `drop: true` an existing one is replaced, and every user or role of the target that the
// temporary collection lacks is removed afterwards (never all at once, so the caller is not
// locked out midway). `db: ""` means every database. That is mongorestore --drop's meaning, and
// `restore --drop` passes it through.
import type { Document } from 'mongodb';
import type { Base, CollectionEntry } from '../archive/manifest.ts';
import { joinNs } from '../namespace.ts';

export const AUTH_KINDS = ['users', 'roles'] as const;
export type AuthKind = (typeof AUTH_KINDS)[number];

/** The source namespace of each kind. */
export const AUTH_NAMESPACES: Readonly<Record<AuthKind, string>> = {
  users: 'admin.system.users',
  roles: 'admin.system.roles',
};

/**
 * Where a restore stages each kind: collections of `admin` (the merge command reads them from
 * there). Named after mongorestore's `tempusers`/`temproles`, with a prefix of our own so that a
 * target's collections of those names are never touched.
 */
export const AUTH_TEMP_COLLECTIONS: Readonly<Record<AuthKind, string>> = {
  users: 'mongo_pitr_tempusers',
  roles: 'mongo_pitr_temproles',
};

/** One kind a restore brings back. */
export interface AuthCollectionPlan {
  readonly kind: AuthKind;
  /** admin.system.users or admin.system.roles. */
  readonly source: string;
  /** Its temporary collection, as a full namespace. */
  readonly temp: string;
  /** Its documents in the base, when the base has the collection. */
  readonly base: CollectionEntry | undefined;
}

export interface AuthPlan {
  readonly collections: readonly AuthCollectionPlan[];
  /** Source namespace → temporary namespace, for the oplog's entries. */
  readonly routes: ReadonlyMap<string, string>;
}

/**
 * The users and roles to restore from `base`, or undefined when there are none: the base has
 * neither collection (backed up without --include-auth), or the namespace rules exclude both
 * (`--nsExclude 'admin.system.*'`, or an --nsInclude that does not name them). A kind the rules
 * accept is staged even if the base lacks it (no role existed at T0), so that the ones the
 * oplog creates later are restored too. --nsFrom/--nsTo do not apply: a user document names
 * its own database.
 */
export function planAuthRestore(base: Base, accepts: (ns: string) => boolean): AuthPlan | undefined {
  const inBase = new Map<string, CollectionEntry>();
  for (const entry of base.collections) {
    const ns = joinNs(entry.db, entry.coll);
    if (AUTH_KINDS.some((kind) => AUTH_NAMESPACES[kind] === ns)) inBase.set(ns, entry);
  }
  if (inBase.size === 0) return undefined;
  const collections = AUTH_KINDS.filter((kind) => accepts(AUTH_NAMESPACES[kind])).map((kind) => ({
    kind,
    source: AUTH_NAMESPACES[kind],
    temp: joinNs('admin', AUTH_TEMP_COLLECTIONS[kind]),
    base: inBase.get(AUTH_NAMESPACES[kind]),
  }));
  if (collections.length === 0) return undefined;
  return { collections, routes: new Map(collections.map((each) => [each.source, each.temp])) };
}

/**
 * The `_mergeAuthzCollections` command for the kinds to merge: those the base held, and those
 * the oplog wrote (`written`), as mongorestore builds it (temporary collections by full
 * namespace, `db: ""` for every database). Undefined when there is nothing to merge.
 */
export function mergeAuthzCommand(
  plan: AuthPlan,
  written: ReadonlySet<AuthKind>,
  drop: boolean,
): Document | undefined {
  const merged = plan.collections.filter((each) => each.base !== undefined || written.has(each.kind));
  if (merged.length === 0) return undefined;
  const command: Document = { _mergeAuthzCollections: 1 };
  for (const each of merged) {
    command[each.kind === 'users' ? 'tempUsersCollection' : 'tempRolesCollection'] = each.temp;
  }
  command.drop = drop;
  command.db = '';
  return command;
}

/** Server error codes (src/mongo/base/error_codes.yml) that mean the target cannot merge. */
const CANNOT_MERGE: ReadonlyMap<number, string> = new Map([
  [13, 'not authorized (the restore role grants it)'],
  [59, 'no such command there (FerretDB, DocumentDB and shared tiers lack it)'],
  [115, 'not supported there'],
]);

/**
 * Why the target cannot run `_mergeAuthzCollections`, from the error code of a probe (the
 * command without temporary collections, which a MongoDB server that allows it answers with
 * BadValue), or undefined when it can.
 */
export function mergeRefusal(code: number | undefined): string | undefined {
  return code === undefined ? undefined : CANNOT_MERGE.get(code);
}
