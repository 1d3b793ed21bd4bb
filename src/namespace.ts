// Namespaces ("db.coll"): splitting, joining, and which ones are the server's own business.

export interface Namespace {
  readonly db: string;
  readonly coll: string;
}

/** Splits at the first dot: collection names may contain dots, database names may not. */
export function splitNs(ns: string): Namespace {
  const dot = ns.indexOf('.');
  if (dot < 0) return { db: ns, coll: '' };
  return { db: ns.slice(0, dot), coll: ns.slice(dot + 1) };
}

export function joinNs(db: string, coll: string): string {
  return coll ? `${db}.${coll}` : db;
}

/** Databases never dumped nor replayed: node-local state and sharding/session metadata. */
const INTERNAL_DBS = new Set(['local', 'config']);

/**
 * The config server's sharding metadata, which a cluster backup keeps in the config server
 * member's chain (option `includeConfigMetadata`): what a cluster restore rewrites for the target
 * (cluster/config-metadata.ts). Collection names as the config server has them
 * (src/mongo/db/namespace_string.h: kConfigDatabasesNamespace, kConfigsvrCollectionsNamespace,
 * kConfigsvrChunksNamespace, kConfigsvrTagsNamespace, kConfigsvrShardsNamespace, kConfigSettingsNamespace).
 */
export const CONFIG_METADATA_COLLECTIONS: ReadonlySet<string> = new Set(['databases', 'collections', 'chunks', 'tags', 'shards', 'settings', 'version']);

export interface InternalNsOptions {
  readonly includeAuth?: boolean;
  /** config.databases/collections/chunks/tags/shards/settings/version are kept (a config server member). */
  readonly includeConfigMetadata?: boolean;
}

/** admin.system.* is the server's own (keys, version, ...), but users and roles are opt-in. */
const ADMIN_AUTH = /^system\.(users|roles)$/;

/**
 * True for namespaces that a backup skips and a replay ignores: `local.*`, `config.*`
 * (config.system.sessions, config.transactions, config.cache.*, ...), `admin.system.*`
 * (users and roles only when `includeAuth`), and every `<db>.system.profile`/`system.js`-like
 * server bookkeeping that mongodump also skips.
 */
export function isInternalNs(ns: string, options: InternalNsOptions = {}): boolean {
  const { db, coll } = splitNs(ns);
  if (db === 'config' && options.includeConfigMetadata === true && CONFIG_METADATA_COLLECTIONS.has(coll)) return false;
  if (INTERNAL_DBS.has(db)) return true;
  if (db === 'admin' && coll.startsWith('system.')) {
    if (ADMIN_AUTH.test(coll)) return !options.includeAuth;
    return true;
  }
  // system.views is never dumped nor written as documents: a base records each view by its
  // options (viewOn + pipeline), and replay turns the oplog's writes to it into view commands
  // (restore/view-entries.ts).
  return coll === 'system.profile' || coll === 'system.indexBuilds' || coll === 'system.views';
}
