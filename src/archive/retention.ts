// Retention rules, pure: which chains a horizon keeps, and which listed objects nothing
// references. backup/prune.ts reads the manifest and the listing, commits and deletes.
//
// Rules, per source (replica set):
//   - the newest chain always stays, whole: chains are never trimmed chunk by chunk;
//   - a chain stays while its window ends at or after the horizon (now - keep): it either
//     restores to the horizon itself or to something newer;
//   - every other chain goes.
// An orphan is an object under bases/, chunks/ or index/ that no chain and no pending base
// references; one younger than the grace period is kept, since a running backup writes objects
// before it commits them. Objects a compaction replaced (the chunks a compacted object holds, the
// segments a compacted index holds) count as written when the compaction was recorded, so a
// restore that planned on the index before it still finds them for the grace period. A base is
// judged by its folder's newest object: its collections are stored one by one, long before its
// commit.
import { keysOf } from './chain-window.ts';
import { chainEnd, pendingFolders, pendingKeys, sameSource, type Chain, type Manifest } from './manifest.ts';
import { BASES_PREFIX, basePrefix, chainIndexPrefix, chunkKeyFirstTs, CHUNKS_PREFIX } from './object-keys.ts';
import { compareTs } from '../timestamp.ts';

/** 'cluster-base': a kept cluster base needs it (cluster/cluster-retention.ts). */
export type KeepReason = 'newest' | 'in-retention' | 'cluster-base';

export interface RetentionPlan {
  readonly keep: readonly { readonly chain: Chain; readonly reason: KeepReason }[];
  readonly remove: readonly Chain[];
}

/** When a chain's window ends, in ms: its newest op's wall clock, else the end of its ts second. */
export function chainEndMs(chain: Chain): number {
  const end = chainEnd(chain);
  return end.lastWall ? Date.parse(end.lastWall) : end.lastTs.t * 1000 + 999;
}

/** Which chains a horizon keeps. */
export function planRetention(manifest: Manifest, horizonMs: number): RetentionPlan {
  const keep: { chain: Chain; reason: KeepReason }[] = [];
  const remove: Chain[] = [];
  manifest.chains.forEach((chain, index) => {
    const newer = manifest.chains.slice(index + 1).some((other) => sameSource(other.source, chain.source));
    if (!newer) keep.push({ chain, reason: 'newest' });
    else if (chainEndMs(chain) >= horizonMs) keep.push({ chain, reason: 'in-retention' });
    else remove.push(chain);
  });
  return { keep, remove };
}

/**
 * The plan with the chains of `ids` kept whatever the horizon says: on a member of a cluster
 * store, a member base a kept cluster base names stays, or that cluster base restores nothing.
 */
export function protectChains(plan: RetentionPlan, ids: ReadonlySet<string>): RetentionPlan {
  const held = plan.remove.filter((chain) => ids.has(chain.id));
  if (held.length === 0) return plan;
  const keep = [...plan.keep, ...held.map((chain) => ({ chain, reason: 'cluster-base' as const }))];
  return { keep, remove: plan.remove.filter((chain) => !ids.has(chain.id)) };
}

export function withoutChains(manifest: Manifest, ids: ReadonlySet<string>): Manifest {
  return { ...manifest, chains: manifest.chains.filter((chain) => !ids.has(chain.id)) };
}

/** What the orphan rules need of a listed object; a store's listing has more, and keeps it. */
export interface ListedObject {
  readonly key: string;
  readonly lastModified: Date;
}

export interface OrphanScan<T extends ListedObject = ListedObject> {
  /** Unreferenced and older than the grace period: to delete. */
  readonly orphans: readonly T[];
  /** Unreferenced but young: kept, a backup may still commit them. */
  readonly young: readonly T[];
}

/** Splits a listing into referenced objects, orphans and young orphans. */
export function findOrphans<T extends ListedObject>(listing: readonly T[], manifests: readonly Manifest[], nowMs: number, graceMs: number): OrphanScan<T> {
  const keys = new Set<string>();
  const prefixes: string[] = [];
  for (const manifest of manifests) {
    for (const chain of manifest.chains) for (const key of keysOf(chain)) keys.add(key);
    // A pending base is still writing under its folder (and, once resumed, under each resuming
    // run's folder, whose objects it records): all of that is spoken for.
    for (const pending of manifest.pendingBases ?? []) {
      // Every folder a run recorded before writing into it, not only the base's first one.
      for (const folder of pendingFolders(pending)) prefixes.push(basePrefix(folder));
      for (const key of pendingKeys(pending)) keys.add(key);
    }
  }
  const unreferenced = listing.filter((object) => !keys.has(object.key) && !prefixes.some((prefix) => object.key.startsWith(prefix)));
  const retired = retiredAt(manifests);
  const newestByGroup = new Map<string, number>();
  for (const object of listing) {
    const group = groupOf(object.key);
    const time = Math.max(object.lastModified.getTime(), retired(object.key));
    newestByGroup.set(group, Math.max(newestByGroup.get(group) ?? 0, time));
  }
  const orphans: T[] = [];
  const young: T[] = [];
  for (const object of unreferenced) {
    const newest = newestByGroup.get(groupOf(object.key)) ?? object.lastModified.getTime();
    (nowMs - newest >= graceMs ? orphans : young).push(object);
  }
  return { orphans, young };
}

/** Objects judged together: a base's folder, or a chunk on its own. */
function groupOf(key: string): string {
  if (!key.startsWith(BASES_PREFIX)) return key;
  const end = key.indexOf('/', BASES_PREFIX.length);
  return end < 0 ? key : key.slice(0, end + 1);
}

/**
 * When a key was retired by a compaction (ms), or 0: a chunk key inside a compacted record's span
 * at that record's compactedAt; an index key of a chain at the chain's newest compaction.
 */
export function retiredAt(manifests: readonly Manifest[]): (key: string) => number {
  const byChain = new Map<string, Chain['chunks'][number][]>();
  const newestByChain = new Map<string, number>();
  for (const manifest of manifests) {
    for (const chain of manifest.chains) {
      const compacted = chain.chunks.filter((chunk) => chunk.compactedAt !== undefined);
      if (compacted.length === 0) continue;
      byChain.set(chain.id, [...(byChain.get(chain.id) ?? []), ...compacted].sort((a, b) => compareTs(a.firstTs, b.firstTs)));
      const newest = Math.max(...compacted.map((chunk) => Date.parse(chunk.compactedAt ?? '')));
      newestByChain.set(chain.id, Math.max(newestByChain.get(chain.id) ?? 0, newest));
    }
  }
  return (key) => {
    const chainId = key.split('/')[1] ?? '';
    if (key.startsWith(chainIndexPrefix(chainId))) return newestByChain.get(chainId) ?? 0;
    const firstTs = key.startsWith(CHUNKS_PREFIX) ? chunkKeyFirstTs(key) : undefined;
    const records = byChain.get(chainId);
    if (!firstTs || !records) return 0;
    let lo = 0;
    let hi = records.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const record = records[mid];
      if (!record) break;
      if (compareTs(firstTs, record.firstTs) < 0) hi = mid - 1;
      else if (compareTs(firstTs, record.lastTs) > 0) lo = mid + 1;
      else return Date.parse(record.compactedAt ?? '') || 0;
    }
    return 0;
  };
}
