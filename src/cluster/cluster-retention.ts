// Retention of a cluster store, pure: which cluster bases a horizon keeps, and which member chains
// those need. A cluster base restores only through every member base it names (cluster-window.ts),
// so it is kept or dropped as one:
//   - the newest cluster base always stays (the newest cluster window stays whole);
//   - a cluster base stays while its window ends at or after the horizon: its window ends where
//     the first of its member chains ends (a member that restarted on its own ends it there);
//   - every other cluster base goes from cluster.json.
// The member chains a kept (or pending) cluster base needs are protected on their member; every
// other member chain follows the member's own rules (archive/retention.ts: its newest chain stays).
import type { ClusterBase, ClusterManifest } from '../archive/cluster-manifest.ts';
import type { Chain } from '../archive/manifest.ts';
import { chainEndMs, type KeepReason } from '../archive/retention.ts';

export interface ClusterRetentionPlan {
  readonly keep: readonly { readonly base: ClusterBase; readonly reason: Exclude<KeepReason, 'cluster-base'> }[];
  readonly remove: readonly ClusterBase[];
  /** Per member, the chain ids kept cluster bases (and the one in progress) need. */
  readonly protect: ReadonlyMap<string, ReadonlySet<string>>;
}

/** When a cluster base's window ends (ms): its first member chain to end; -Infinity if one is gone. */
export function clusterBaseEndMs(base: ClusterBase, memberChains: ReadonlyMap<string, readonly Chain[]>): number {
  let end = Number.POSITIVE_INFINITY;
  for (const part of base.members) {
    const chain = memberChains.get(part.name)?.find((candidate) => candidate.id === part.baseId);
    end = Math.min(end, chain ? chainEndMs(chain) : Number.NEGATIVE_INFINITY);
  }
  return end;
}

export function planClusterRetention(manifest: ClusterManifest, memberChains: ReadonlyMap<string, readonly Chain[]>, horizonMs: number): ClusterRetentionPlan {
  const keep: { base: ClusterBase; reason: Exclude<KeepReason, 'cluster-base'> }[] = [];
  const remove: ClusterBase[] = [];
  manifest.bases.forEach((base, index) => {
    if (index === manifest.bases.length - 1) keep.push({ base, reason: 'newest' });
    else if (clusterBaseEndMs(base, memberChains) >= horizonMs) keep.push({ base, reason: 'in-retention' });
    else remove.push(base);
  });
  const protect = new Map<string, Set<string>>();
  const hold = (name: string, id: string) => protect.set(name, (protect.get(name) ?? new Set()).add(id));
  for (const { base } of keep) for (const part of base.members) hold(part.name, part.baseId);
  // A cluster base in progress: the member bases it already has are the chains started within it
  // (cluster-base.ts baseChainOf), not yet named in cluster.json.
  const pending = manifest.pendingBase;
  if (pending) {
    for (const name of pending.members) {
      for (const chain of memberChains.get(name) ?? []) if (chain.base.startedAt >= pending.startedAt) hold(name, chain.id);
    }
  }
  return { keep, remove, protect };
}

export function withoutClusterBases(manifest: ClusterManifest, ids: ReadonlySet<string>): ClusterManifest {
  return { ...manifest, bases: manifest.bases.filter((base) => !ids.has(base.id)) };
}
