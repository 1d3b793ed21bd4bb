// Retention: drop the chains no restore inside the kept span needs, and the objects nothing
// references (a crashed run's, a lost race's), without ever breaking the newest window. The
// rules themselves, which chain stays and what is an orphan, are archive/retention.ts.
//
// Order: manifest first (a conditional commit without those chains), objects after, so a crash
// mid-prune leaves only orphans, which the next prune removes.
//
// Memory bound: the manifest (loaded whole: format 2 reads the index segments) and one listing of
// keys under bases/, chunks/ and index/ (key, size, time).
import pLimit from 'p-limit';
import { formatWindow, keysOf, windowOf } from '../archive/chain-window.ts';
import { windowPoints, type WindowPoints } from '../archive/window-words.ts';
import { collectionObjectsOf, type Chain, type Manifest } from '../archive/manifest.ts';
import { BASES_PREFIX, CHUNKS_PREFIX, INDEX_PREFIX } from '../archive/object-keys.ts';
import { findOrphans, planRetention, protectChains, withoutChains, type KeepReason, type RetentionPlan } from '../archive/retention.ts';
import { ConflictError } from '../errors.ts';
import type { ObjectInfo, Store } from '../store/store.ts';
import { ManifestCommitter, readManifest } from './commit.ts';
import { loadChain } from './read-manifest.ts';

const HOUR_MS = 60 * 60 * 1000;
/** How long an unreferenced object may be a running backup's, not yet committed. */
export const DEFAULT_ORPHAN_GRACE_MS = 1 * HOUR_MS;
const DELETE_CONCURRENCY = 8;
/** A backup committing meanwhile makes the prune's commit lose; it re-plans this many times. */
const COMMIT_ATTEMPTS = 3;

export interface PruneOptions {
  readonly store: Store;
  /** Keep every chain a restore to (now - keepMs) or later needs. */
  readonly keepMs: number;
  readonly orphanGraceMs?: number;
  readonly dryRun?: boolean;
  readonly now?: Date;
  readonly signal?: AbortSignal;
  /** Chain ids kept whatever the horizon (a cluster store's member: the kept cluster bases'). */
  readonly protect?: ReadonlySet<string>;
}

export interface PrunedChain {
  readonly id: string;
  /** Positions first, as before; restoreWindow gives the same ends structured. */
  readonly window: string;
  readonly restoreWindow: WindowPoints;
  readonly objects: number;
  readonly storedBytes: number;
}

export interface KeptChain {
  readonly id: string;
  /** Positions first, as before; restoreWindow gives the same ends structured. */
  readonly window: string;
  readonly restoreWindow: WindowPoints;
  readonly reason: KeepReason;
}

export interface PruneResult {
  /** now - keep, ISO. */
  readonly horizon: string;
  readonly dryRun: boolean;
  readonly removedChains: readonly PrunedChain[];
  readonly keptChains: readonly KeptChain[];
  readonly orphans: readonly { readonly key: string; readonly size: number; readonly lastModified: string }[];
  readonly youngOrphans: number;
  /** Objects deleted (or, in a dry run, that would be). */
  readonly deletedObjects: number;
  readonly deletedBytes: number;
}

export async function prune(options: PruneOptions): Promise<PruneResult> {
  const { store, signal } = options;
  const nowMs = (options.now ?? new Date()).getTime();
  const horizonMs = nowMs - options.keepMs;
  const dryRun = options.dryRun ?? false;
  const { manifest: head, plan: headPlan } = await commitRetention(store, horizonMs, dryRun, options.protect);
  // The chains whole (format 2: their sealed records and index objects), to delete and to keep.
  const plan: RetentionPlan = {
    keep: await Promise.all(headPlan.keep.map(async ({ chain, reason }) => ({ chain: await loadChain(store, chain), reason }))),
    remove: await Promise.all(headPlan.remove.map((chain) => loadChain(store, chain))),
  };
  // What the store references after this prune (a dry run changes nothing: every chain still).
  const manifest: Manifest = { ...head, chains: dryRun ? [...plan.keep.map(({ chain }) => chain), ...plan.remove] : plan.keep.map(({ chain }) => chain) };

  const limit = pLimit(DELETE_CONCURRENCY);
  const remove = async (key: string): Promise<void> => {
    signal?.throwIfAborted();
    await store.delete(key);
  };
  if (!dryRun) await Promise.all(plan.remove.flatMap((chain) => keysOf(chain)).map((key) => limit(() => remove(key))));

  // Listed after the commit, then the manifest read again: a chain committed by a backup while
  // we listed is referenced by one of the two, so only uncommitted objects can be orphans.
  const listing = [...(await listAll(store, BASES_PREFIX)), ...(await listAll(store, CHUNKS_PREFIX)), ...(await listAll(store, INDEX_PREFIX))];
  const { manifest: fresh } = dryRun ? { manifest } : await readManifest(store);
  const scan = findOrphans(listing, [manifest, fresh], nowMs, options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS);
  if (!dryRun) await Promise.all(scan.orphans.map((object) => limit(() => remove(object.key))));

  const removedChains = plan.remove.map(describeRemoved);
  return {
    horizon: new Date(horizonMs).toISOString(),
    dryRun,
    removedChains,
    keptChains: plan.keep.map(({ chain, reason }) => ({ id: chain.id, window: formatWindow(windowOf(chain)), restoreWindow: windowPoints(windowOf(chain)), reason })),
    orphans: scan.orphans.map((object) => ({ key: object.key, size: object.size, lastModified: object.lastModified.toISOString() })),
    youngOrphans: scan.young.length,
    deletedObjects: removedChains.reduce((sum, chain) => sum + chain.objects, 0) + scan.orphans.length,
    deletedBytes: removedChains.reduce((sum, chain) => sum + chain.storedBytes, 0) + scan.orphans.reduce((sum, object) => sum + object.size, 0),
  };
}

/**
 * Plans on the current manifest and commits it without the removed chains. A backup that
 * commits first makes this commit lose (ConflictError): it re-reads and re-plans.
 */
async function commitRetention(store: Store, horizonMs: number, dryRun: boolean, protect: ReadonlySet<string> = new Set()): Promise<{ manifest: Manifest; plan: RetentionPlan }> {
  for (let attempt = 1; ; attempt++) {
    const committer = await ManifestCommitter.open(store);
    const plan = protectChains(planRetention(committer.manifest, horizonMs), protect);
    if (dryRun || plan.remove.length === 0) return { manifest: committer.manifest, plan };
    const ids = new Set(plan.remove.map((chain) => chain.id));
    try {
      return { manifest: await committer.commit((current) => withoutChains(current, ids)), plan };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= COMMIT_ATTEMPTS) throw error;
    }
  }
}

async function listAll(store: Store, prefix: string): Promise<ObjectInfo[]> {
  const objects: ObjectInfo[] = [];
  for await (const object of store.list(prefix)) objects.push(object);
  return objects;
}

function describeRemoved(chain: Chain): PrunedChain {
  const base = chain.base;
  const objects = [
    ...collectionObjectsOf(base),
    base.oplog,
    ...chain.chunks,
  ];
  return {
    id: chain.id,
    window: formatWindow(windowOf(chain)),
    restoreWindow: windowPoints(windowOf(chain)),
    objects: objects.length,
    storedBytes: objects.reduce((sum, object) => sum + object.storedBytes, 0),
  };
}
