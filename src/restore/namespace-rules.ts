// mongorestore-compatible namespace selection and renaming, and how they apply to oplog entries.
//
// The flags, as mongorestore documents them
// (https://www.mongodb.com/docs/database-tools/mongorestore/):
//   --nsInclude / --nsExclude <pattern>  `*` matches any run of characters, dots included;
//                                        `\` escapes the next character (`\*`, `\\`); `$` is
//                                        not allowed. No --nsInclude means "everything".
//   --nsFrom / --nsTo <pattern>          in pairs. Either both use `*` wildcards, the same
//                                        number of them, the n-th `*` of --nsTo taking what the
//                                        n-th `*` of --nsFrom matched; or --nsFrom names parts
//                                        `$name$` that --nsTo reuses in any order (in this form
//                                        `*` and `\` are plain characters, as in mongorestore).
// Selection is decided on the source namespace, before renaming. When several --nsFrom match,
// the last pair given wins (mongo-tools mongorestore/ns/ns.go builds its list in reverse).
// Wildcards match lazily, left to right: `*.*` splits "a.b.c" into "a" and "b.c".
import type { OplogEntry } from '../oplog-entry.ts';
import { UsageError } from '../errors.ts';
import { joinNs, splitNs } from '../namespace.ts';
import type { Namespace } from '../namespace.ts';

export interface NamespaceRuleOptions {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly from?: readonly string[];
  readonly to?: readonly string[];
}

export interface NamespaceRules {
  /** True when no flag was given: every namespace is kept as it is. */
  readonly identity: boolean;
  /** Whether a source namespace ("db.coll") is restored. */
  accepts(ns: string): boolean;
  /** The target namespace of a source namespace (itself when no --nsFrom matches). */
  rename(ns: string): string;
}

/** Compiles the flags; a bad pattern or unpaired --nsFrom/--nsTo is a one-line UsageError. */
export function compileNamespaceRules(options: NamespaceRuleOptions): NamespaceRules {
  const include = (options.include ?? []).map((p) => matcher(p, '--nsInclude'));
  const exclude = (options.exclude ?? []).map((p) => matcher(p, '--nsExclude'));
  const from = options.from ?? [];
  const to = options.to ?? [];
  if (from.length !== to.length) {
    throw new UsageError(
      `--nsFrom and --nsTo come in pairs: got ${from.length} --nsFrom and ${to.length} --nsTo`,
    );
  }
  const renamers = from.map((pattern, index) => renamer(pattern, to[index])).reverse();
  const accepts = (ns: string): boolean =>
    (include.length === 0 || include.some((re) => re.test(ns))) &&
    !exclude.some((re) => re.test(ns));
  const rename = (ns: string): string => {
    for (const { regex, replace } of renamers) {
      const match = regex.exec(ns);
      if (match) return checkRenamed(ns, replace(match));
    }
    return ns;
  };
  const identity = include.length === 0 && exclude.length === 0 && renamers.length === 0;
  return { identity, accepts, rename };
}

// ---- patterns ---------------------------------------------------------------------------

/** A literal run, or a capture (a `*` or a `$name$`). */
type Token = { readonly text: string } | { readonly capture: string };

function matcher(pattern: string, flag: string): RegExp {
  return toRegExp(wildcardTokens(pattern, flag));
}

interface Renamer {
  readonly regex: RegExp;
  readonly replace: (match: RegExpExecArray) => string;
}

function renamer(from: string, to: string): Renamer {
  const variables = from.includes('$');
  const tokens = variables ? variableTokens : wildcardTokens;
  const fromTokens = tokens(from, '--nsFrom');
  const toTokens = tokens(to, '--nsTo');
  const groups = new Map<string, number>();
  for (const token of fromTokens) {
    if (!('capture' in token)) continue;
    if (groups.has(token.capture)) {
      throw new UsageError(`--nsFrom ${JSON.stringify(from)}: $${token.capture}$ is used twice`);
    }
    groups.set(token.capture, groups.size + 1);
  }
  const toCaptures = toTokens.filter((token) => 'capture' in token).length;
  if (!variables && toCaptures !== groups.size) {
    throw new UsageError(
      `--nsFrom ${JSON.stringify(from)} has ${groups.size} '*' but --nsTo ` +
        `${JSON.stringify(to)} has ${toCaptures}: they must have as many`,
    );
  }
  const parts = toTokens.map((token) => {
    if ('text' in token) return (): string => token.text;
    const group = groups.get(token.capture);
    if (group === undefined) {
      throw new UsageError(
        `--nsTo ${JSON.stringify(to)}: $${token.capture}$ is not in ` +
          `--nsFrom ${JSON.stringify(from)}`,
      );
    }
    return (match: RegExpExecArray): string => match[group] ?? '';
  });
  return {
    regex: toRegExp(fromTokens),
    replace: (match) => parts.map((part) => part(match)).join(''),
  };
}

/** `*` captures (named by rank: 1, 2, ...), `\` escapes the next character, `$` is refused. */
function wildcardTokens(pattern: string, flag: string): Token[] {
  if (pattern.length === 0) throw new UsageError(`${flag}: empty pattern`);
  const tokens: Token[] = [];
  let text = '';
  let rank = 0;
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    if (char === '\\') {
      if (index + 1 === pattern.length) {
        throw new UsageError(`${flag} ${JSON.stringify(pattern)}: ends with a lone '\\'`);
      }
      text += pattern[++index];
    } else if (char === '*') {
      if (text) tokens.push({ text });
      text = '';
      tokens.push({ capture: String(++rank) });
    } else if (char === '$') {
      throw new UsageError(
        `${flag} ${JSON.stringify(pattern)}: '$' is only allowed in --nsFrom/--nsTo $name$ parts`,
      );
    } else {
      text += char;
    }
  }
  if (text) tokens.push({ text });
  return tokens;
}

/** `$name$` captures; every other character is itself. */
function variableTokens(pattern: string, flag: string): Token[] {
  const tokens: Token[] = [];
  let rest = pattern;
  while (rest.length > 0) {
    const open = rest.indexOf('$');
    if (open < 0) {
      tokens.push({ text: rest });
      break;
    }
    if (open > 0) tokens.push({ text: rest.slice(0, open) });
    const close = rest.indexOf('$', open + 1);
    if (close < 0) throw new UsageError(`${flag} ${JSON.stringify(pattern)}: unbalanced '$'`);
    const name = rest.slice(open + 1, close);
    if (!name) throw new UsageError(`${flag} ${JSON.stringify(pattern)}: empty $$ name`);
    tokens.push({ capture: name });
    rest = rest.slice(close + 1);
  }
  if (tokens.length === 0) throw new UsageError(`${flag}: empty pattern`);
  return tokens;
}

function toRegExp(tokens: readonly Token[]): RegExp {
  const body = tokens
    .map((token) => ('text' in token ? token.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '(.*?)'))
    .join('');
  return new RegExp(`^${body}$`, 's');
}

function checkRenamed(ns: string, renamed: string): string {
  const { db, coll } = splitNs(renamed);
  if (!db || !coll) {
    throw new UsageError(
      `--nsFrom/--nsTo rename ${ns} to ${JSON.stringify(renamed)}, not a db.collection namespace`,
    );
  }
  return renamed;
}

// ---- oplog entries ----------------------------------------------------------------------

/** What replay does with an entry under the rules. */
export type MappedEntry =
  /** Apply this entry: the original when nothing changed, else a renamed copy without `ui`. */
  | { readonly kind: 'apply'; readonly entry: OplogEntry }
  /** Leave it out; `reason` is stable, for counting. */
  | { readonly kind: 'skip'; readonly reason: string }
  /**
   * A dropDatabase under selective or renaming rules: the target database may hold
   * namespaces the rules do not cover, or the source's collections may land in several
   * databases. The caller drops instead each collection of `db` it knows of (the base's
   * catalog plus the creates and renames replayed since): `dropDatabaseAsDrops(entry, names)`,
   * each result passed through `mapEntry` again.
   */
  | { readonly kind: 'dropDatabase'; readonly db: string; readonly entry: OplogEntry };

export const SKIP_EXCLUDED = 'excluded by --nsInclude/--nsExclude';
export const SKIP_RENAME_INTO_RESTORE =
  'renameCollection from an excluded namespace into a restored one';
export const SKIP_VIEW_ACROSS_DATABASES = 'view renamed into another database than its source';

/**
 * Commands whose first field names a collection of the entry's database. They are renamed
 * like the collection; other commands pass unchanged (planCommand skips the ones it does not
 * know).
 */
const COLLECTION_COMMANDS = new Set([
  'create',
  'drop',
  'collMod',
  'createIndexes',
  'commitIndexBuild',
  'startIndexBuild',
  'abortIndexBuild',
  'dropIndexes',
  'deleteIndexes',
  'dropIndex',
  'deleteIndex',
  'emptycapped',
  'convertToCapped',
]);

const BUCKETS_PREFIX = 'system.buckets.';

/**
 * Applies the rules to one entry (a transaction's entries one by one): CRUD entries by their
 * `ns`, commands by the namespaces they name (create with its `viewOn`, renameCollection's
 * source and `to`). A renamed entry loses `ui`: applyOps finds a collection by `ui` before `ns`.
 */
export function mapEntry(rules: NamespaceRules, entry: OplogEntry): MappedEntry {
  if (rules.identity || entry.op === 'n') return { kind: 'apply', entry };
  if (entry.op !== 'c') {
    const target = mapNamespace(rules, splitNs(entry.ns));
    if (!target) return { kind: 'skip', reason: SKIP_EXCLUDED };
    return { kind: 'apply', entry: withNs(entry, joinNs(target.db, target.coll), entry.o) };
  }
  const name = Object.keys(entry.o)[0];
  if (name === 'renameCollection') return mapRename(rules, entry);
  if (name === 'dropDatabase') return { kind: 'dropDatabase', db: splitNs(entry.ns).db, entry };
  if (name === undefined || !COLLECTION_COMMANDS.has(name)) return { kind: 'apply', entry };
  const coll = entry.o[name];
  if (typeof coll !== 'string') return { kind: 'apply', entry };
  const db = splitNs(entry.ns).db;
  const target = mapNamespace(rules, { db, coll });
  if (!target) return { kind: 'skip', reason: SKIP_EXCLUDED };
  let viewOn = entry.o.viewOn;
  // A view's source is renamed with it: in its create, and in the collMod that replay makes of
  // an update of system.views (view-entries.ts).
  if ((name === 'create' || name === 'collMod') && typeof viewOn === 'string') {
    const source = mapNamespace(rules, { db, coll: viewOn }, true);
    if (!source || source.db !== target.db) {
      return { kind: 'skip', reason: SKIP_VIEW_ACROSS_DATABASES };
    }
    viewOn = source.coll;
  }
  if (target.db === db && target.coll === coll && viewOn === entry.o.viewOn) {
    return { kind: 'apply', entry };
  }
  const o = { ...entry.o, [name]: target.coll };
  if (viewOn !== undefined) o.viewOn = viewOn;
  return { kind: 'apply', entry: withNs(entry, `${target.db}.$cmd`, o) };
}

/**
 * Expands a dropDatabase into one `drop` entry per collection the caller knows `entry`'s
 * database holds (same ts, wall and term).
 */
export function dropDatabaseAsDrops(
  entry: OplogEntry,
  collections: Iterable<string>,
): OplogEntry[] {
  const drops: OplogEntry[] = [];
  for (const coll of collections) {
    const { ui: _ui, ...rest } = entry;
    drops.push({ ...rest, o: { drop: coll } });
  }
  return drops;
}

/**
 * renameCollection names two full namespaces. Both kept: rename both. Source kept, target
 * excluded: the collection leaves the restore, so it is dropped. Source excluded, target kept:
 * the target would hold documents the restore does not have; skipped, with its own reason.
 */
function mapRename(rules: NamespaceRules, entry: OplogEntry): MappedEntry {
  const { renameCollection: from, to } = entry.o;
  if (typeof from !== 'string' || typeof to !== 'string') return { kind: 'apply', entry };
  const source = mapNamespace(rules, splitNs(from));
  const target = mapNamespace(rules, splitNs(to));
  if (!source && !target) return { kind: 'skip', reason: SKIP_EXCLUDED };
  if (!source) {
    return { kind: 'skip', reason: SKIP_RENAME_INTO_RESTORE };
  }
  if (!target) {
    return { kind: 'apply', entry: withNs(entry, `${source.db}.$cmd`, { drop: source.coll }) };
  }
  const renamedFrom = joinNs(source.db, source.coll);
  const renamedTo = joinNs(target.db, target.coll);
  if (renamedFrom === from && renamedTo === to) return { kind: 'apply', entry };
  const o = { ...entry.o, renameCollection: renamedFrom, to: renamedTo };
  return { kind: 'apply', entry: withNs(entry, `${source.db}.$cmd`, o) };
}

/**
 * The target namespace of a source one, or undefined when excluded (`always` skips the
 * selection, for names that are only referred to). A time-series buckets collection
 * (`system.buckets.X`) follows the rules of its collection `X`, the name users give.
 */
function mapNamespace(rules: NamespaceRules, ns: Namespace, always = false): Namespace | undefined {
  const buckets = ns.coll.startsWith(BUCKETS_PREFIX);
  const visible = joinNs(ns.db, buckets ? ns.coll.slice(BUCKETS_PREFIX.length) : ns.coll);
  if (!always && !rules.accepts(visible)) return undefined;
  const renamed = splitNs(rules.rename(visible));
  return { db: renamed.db, coll: buckets ? BUCKETS_PREFIX + renamed.coll : renamed.coll };
}

function withNs(entry: OplogEntry, ns: string, o: OplogEntry['o']): OplogEntry {
  if (ns === entry.ns && o === entry.o) return entry;
  const { ui: _ui, ...rest } = entry;
  return { ...rest, ns, o };
}
