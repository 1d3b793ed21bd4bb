// Which namespaces a restore writes, and under which names: the server's internal namespaces
// never, then the user's --nsInclude/--nsExclude/--nsFrom/--nsTo rules (namespace-rules.ts),
// applied alike to base collections and to oplog entries (commands included, before they are
// planned, so a command and the CRUD around it always agree on the name). Two kinds of internal
// writes are translated instead of skipped: those to `<db>.system.views`, which are how the
// server logs view DDL (view-entries.ts), and, when a restore brings users and roles back, those
// to admin.system.users/roles, sent to its staging collections (auth-restore.ts).
import { isInternalNs, joinNs, splitNs, type InternalNsOptions } from '../namespace.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import {
  compileNamespaceRules,
  dropDatabaseAsDrops,
  mapEntry,
  SKIP_EXCLUDED,
  type NamespaceRules,
} from './namespace-rules.ts';
import { isViewCatalogEntry, viewCommandEntries } from './view-entries.ts';

export interface NamespaceOptions {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly from?: readonly string[];
  readonly to?: readonly string[];
  /** The config server's sharding metadata is restored like user data (a cluster restore's config member). */
  readonly includeConfigMetadata?: boolean;
}

export const SKIP_INTERNAL = 'internal namespace';

/** What becomes of one oplog entry: entries to apply (renamed), or the reason it is skipped. */
export type EntryMapping = { readonly apply: readonly OplogEntry[] } | { readonly skip: string };

export class NamespaceMapper {
  readonly #rules: NamespaceRules;
  /** Source collections known per database, so a filtered dropDatabase can become drops. */
  readonly #known = new Map<string, Set<string>>();
  /** admin.system.users/roles → where a restore stages them (restore/auth-restore.ts). */
  #authRoutes: ReadonlyMap<string, string> = new Map();
  readonly #internal: InternalNsOptions;

  constructor(options: NamespaceOptions) {
    this.#internal = { includeConfigMetadata: options.includeConfigMetadata === true };
    this.#rules = compileNamespaceRules({
      include: [...(options.include ?? [])],
      exclude: [...(options.exclude ?? [])],
      from: [...(options.from ?? [])],
      to: [...(options.to ?? [])],
    });
  }

  /** The target namespace for a source collection, or undefined when it is not restored. */
  map(ns: string): string | undefined {
    this.#remember(ns);
    if (isInternalNs(ns, this.#internal) || !this.#rules.accepts(ns)) return undefined;
    return this.#rules.rename(ns);
  }

  /** Whether the rules select a source namespace, internal or not (admin.system.users...). */
  accepts(ns: string): boolean {
    return this.#rules.accepts(ns);
  }

  /**
   * Sends the CRUD entries of the given source namespaces (the users and roles collections) to
   * other namespaces, unrenamed by the rules, instead of skipping them as internal.
   */
  routeAuth(routes: ReadonlyMap<string, string>): void {
    this.#authRoutes = routes;
  }

  /** Maps one CRUD or command entry. */
  mapEntry(entry: OplogEntry): EntryMapping {
    if (entry.op !== 'c') {
      const route = this.#authRoutes.get(entry.ns);
      if (route !== undefined && entry.op !== 'n') return { apply: [routed(entry, route)] };
      if (isViewCatalogEntry(entry) && !isInternalNs(joinNs(splitNs(entry.ns).db, 'x'))) return this.#mapView(entry);
      if (isInternalNs(entry.ns, this.#internal)) return { skip: SKIP_INTERNAL };
      this.#remember(entry.ns);
    } else if (namesInternalNs(entry)) {
      // Before renaming: a --nsFrom/--nsTo rule would otherwise turn config.$cmd into a user database.
      return { skip: SKIP_INTERNAL };
    } else if (typeof entry.o.create === 'string') {
      this.#remember(joinNs(splitNs(entry.ns).db, entry.o.create));
    }
    const mapped = mapEntry(this.#rules, entry);
    if (mapped.kind === 'skip') return { skip: mapped.reason };
    if (mapped.kind === 'apply') return { apply: [mapped.entry] };
    // dropDatabase under rules: only the collections the rules restore may go, by name.
    const drops = dropDatabaseAsDrops(entry, this.#known.get(mapped.db) ?? []).flatMap((drop) => {
      const each = mapEntry(this.#rules, drop);
      return each.kind === 'apply' ? [each.entry] : [];
    });
    return drops.length > 0 ? { apply: drops } : { skip: SKIP_EXCLUDED };
  }

  /** A write to `<db>.system.views` is a view command (view-entries.ts), then mapped as one. */
  #mapView(entry: OplogEntry): EntryMapping {
    const commands = viewCommandEntries(entry);
    if ('skip' in commands) return commands;
    const mapped = commands.apply.map((command) => this.mapEntry(command));
    const apply = mapped.flatMap((each) => ('apply' in each ? each.apply : []));
    const skipped = mapped.find((each) => 'skip' in each);
    return apply.length === 0 && skipped ? skipped : { apply };
  }

  #remember(ns: string): void {
    const { db, coll } = splitNs(ns);
    if (!coll || coll.startsWith('$cmd')) return;
    let known = this.#known.get(db);
    if (!known) this.#known.set(db, (known = new Set()));
    known.add(coll);
  }
}

/** A copy of a CRUD entry on another namespace, without the source collection's `ui`. */
function routed(entry: OplogEntry, ns: string): OplogEntry {
  const { ui: _ui, ...rest } = entry;
  return { ...rest, ns };
}

/**
 * True for a command on the server's own namespaces: any command of `local`/`config`, or one
 * whose first field names an internal collection (renameCollection: either end).
 */
function namesInternalNs(entry: OplogEntry): boolean {
  const { db } = splitNs(entry.ns);
  if (isInternalNs(joinNs(db, 'x'))) return true;
  const [name] = Object.keys(entry.o);
  if (name === 'renameCollection') {
    return [entry.o.renameCollection, entry.o.to].some((ns) => typeof ns === 'string' && isInternalNs(ns));
  }
  const coll = name === undefined ? undefined : entry.o[name];
  return typeof coll === 'string' && coll !== '' && isInternalNs(joinNs(db, coll));
}

export function compileNamespaceMapper(options: NamespaceOptions): NamespaceMapper {
  return new NamespaceMapper(options);
}
