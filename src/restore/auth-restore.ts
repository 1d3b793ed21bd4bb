// Restoring users and roles (auth-plan.ts says what and why): before anything is written, ask
// the target whether it can merge them, and refuse in one line if not; stage the base's
// documents in temporary collections of `admin`; let replay write the oplog's user and role
// changes there (the namespace mapper routes them); after replay, merge with
// `_mergeAuthzCollections` and drop the temporary collections, also when the restore fails.
// Memory bound: one insert batch (load-base.ts's limits) at a time.
import { MongoServerError, type MongoClient } from 'mongodb';
import { TargetError } from '../errors.ts';
import { readBsonFile } from '../archive/bson-frames.ts';
import { decodeDocument } from '../archive/bson-decode.ts';
import type { Base } from '../archive/manifest.ts';
import { splitNs } from '../namespace.ts';
import { batchFrames } from './load-base.ts';
import type { NamespaceMapper } from './namespace-mapper.ts';
import {
  mergeAuthzCommand,
  mergeRefusal,
  planAuthRestore,
  type AuthKind,
  type AuthPlan,
} from './auth-plan.ts';

export interface AuthRestoreOptions {
  readonly client: MongoClient;
  readonly base: Base;
  /** Local files by object key (restore/download-chain.ts). */
  readonly files: ReadonlyMap<string, string>;
  readonly namespaces: NamespaceMapper;
  /** restore --drop: the target's users and roles become exactly the restored ones. */
  readonly drop: boolean;
  readonly signal?: AbortSignal;
}

/** What the merge was given: documents per kind, as staged at the cutoff. */
export type AuthRestoreResult = Partial<Record<AuthKind, number>>;

export class AuthRestore {
  readonly #client: MongoClient;
  readonly #plan: AuthPlan;
  readonly #drop: boolean;
  #discarded = false;

  private constructor(client: MongoClient, plan: AuthPlan, drop: boolean) {
    this.#client = client;
    this.#plan = plan;
    this.#drop = drop;
  }

  /**
   * Checks the target and stages the base's users and roles; undefined when the restore has
   * none to bring back (then their oplog entries stay skipped as internal).
   */
  static async start(options: AuthRestoreOptions): Promise<AuthRestore | undefined> {
    const plan = planAuthRestore(options.base, (ns) => options.namespaces.accepts(ns));
    if (!plan) return undefined;
    await requireMerge(options.client, plan, options.drop);
    const auth = new AuthRestore(options.client, plan, options.drop);
    try {
      for (const each of plan.collections) {
        await auth.#recreate(each.temp);
        const file = each.base?.data ? options.files.get(each.base.data.key) : undefined;
        if (file) await auth.#load(each.temp, file, options.signal);
      }
    } catch (error) {
      await auth.discard();
      throw error;
    }
    options.namespaces.routeAuth(plan.routes);
    return auth;
  }

  /** Merges the staged users and roles into the target's, then drops the staging. */
  async finish(): Promise<AuthRestoreResult> {
    const counts: AuthRestoreResult = {};
    const written = new Set<AuthKind>();
    for (const each of this.#plan.collections) {
      const count = await this.#collection(each.temp).countDocuments({});
      counts[each.kind] = count;
      if (count > 0) written.add(each.kind);
    }
    const command = mergeAuthzCommand(this.#plan, written, this.#drop);
    try {
      if (command) await this.#client.db('admin').command(command);
    } catch (error) {
      throw new TargetError(`merging the restored users and roles failed: ${oneLine(error)}`, {
        cause: error,
        hint: 'the restore role grants what _mergeAuthzCollections needs',
      });
    } finally {
      await this.discard();
    }
    return counts;
  }

  /** Drops the temporary collections (best effort: they hold password hashes); once. */
  async discard(): Promise<void> {
    if (this.#discarded) return;
    this.#discarded = true;
    for (const each of this.#plan.collections) {
      await this.#collection(each.temp).drop().catch(() => false);
    }
  }

  async #recreate(temp: string): Promise<void> {
    const { db, coll } = splitNs(temp);
    // A previous restore that was killed may have left it.
    await this.#collection(temp).drop().catch(() => false);
    await this.#client.db(db).createCollection(coll);
  }

  async #load(temp: string, file: string, signal: AbortSignal | undefined): Promise<void> {
    for await (const raws of batchFrames(readBsonFile(file, { signal }))) {
      signal?.throwIfAborted();
      try {
        await this.#collection(temp).insertMany(raws.map(decodeDocument), { ordered: false });
      } catch (error) {
        throw new TargetError(`staging users and roles in ${temp} failed: ${oneLine(error)}`, { cause: error });
      }
    }
  }

  #collection(ns: string) {
    const { db, coll } = splitNs(ns);
    return this.#client.db(db).collection(coll);
  }
}

/**
 * Asks the target to merge nothing, with the privileges the real merge needs: a server that can
 * merge answers BadValue ("Must provide at least one of..."), others a code mergeRefusal knows.
 */
async function requireMerge(client: MongoClient, plan: AuthPlan, drop: boolean): Promise<void> {
  let code: number | undefined;
  try {
    await client.db('admin').command({ _mergeAuthzCollections: 1, drop, db: '' });
  } catch (error) {
    if (!(error instanceof MongoServerError)) throw new TargetError(`asking the target about _mergeAuthzCollections failed: ${oneLine(error)}`, { cause: error });
    code = typeof error.code === 'number' ? error.code : undefined;
  }
  const refusal = mergeRefusal(code);
  if (refusal === undefined) return;
  const names = plan.collections.map((each) => each.source).join(' and ');
  throw new TargetError(`restoring ${names} (backed up with --include-auth) needs _mergeAuthzCollections, which the target refuses: ${refusal}`, {
    hint: "exclude them with --nsExclude 'admin.system.*', or restore to a MongoDB server",
  });
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ');
}
