// `prune` on a cluster store: cluster bases are dropped as one (cluster-retention.ts), then every
// member store is pruned by the replica-set prune (backup/prune.ts) with the member chains the
// kept cluster bases need protected.
//
// Order: cluster.json first (a compare-and-swap without the dropped cluster bases), member chains
// after, the same rule backup/prune.ts keeps between manifest.json and its objects: a reference
// goes before what it references. So cluster.json never names a member base that is gone (verify
// checks exactly that), and a crash between the two leaves member chains no cluster base names,
// which the next prune removes by the member's own rules.
import { ConflictError } from '../errors.ts';
import type { ClusterManifest } from '../archive/cluster-manifest.ts';
import type { Chain } from '../archive/manifest.ts';
import { readHead } from '../backup/commit.ts';
import { prune, type PruneOptions, type PruneResult } from '../backup/prune.ts';
import type { Store } from '../store/store.ts';
import { formatTs, type Ts } from '../timestamp.ts';
import { ClusterCommitter } from './cluster-committer.ts';
import { planClusterRetention, withoutClusterBases, type ClusterRetentionPlan } from './cluster-retention.ts';
import { memberStore } from './member-store.ts';

/** A backup committing cluster.json meanwhile makes the prune's commit lose; it re-plans. */
const COMMIT_ATTEMPTS = 3;

/** A replica-set prune's options; what each member protects is the cluster's to decide. */
export type ClusterPruneOptions = Omit<PruneOptions, 'protect'>;

export interface ClusterPruneResult {
  readonly horizon: string;
  readonly dryRun: boolean;
  /** restorableFrom as "secs:ordinal" (--json), restorableFromTs for the text. */
  readonly keptClusterBases: readonly { readonly id: string; readonly reason: string; readonly restorableFrom: string; readonly restorableFromTs: Ts }[];
  readonly removedClusterBases: readonly { readonly id: string; readonly finishedAt: string }[];
  readonly members: readonly { readonly name: string; readonly result: PruneResult }[];
}

export async function pruneCluster(options: ClusterPruneOptions): Promise<ClusterPruneResult> {
  const now = options.now ?? new Date();
  const horizonMs = now.getTime() - options.keepMs;
  const dryRun = options.dryRun ?? false;
  const { manifest, plan } = await commitClusterRetention(options.store, horizonMs, dryRun);
  const members: { name: string; result: PruneResult }[] = [];
  // One member at a time: each prune already deletes 8 objects at once.
  for (const member of manifest.members) {
    const result = await prune({
      store: memberStore(options.store, member.prefix),
      keepMs: options.keepMs,
      ...(options.orphanGraceMs !== undefined && { orphanGraceMs: options.orphanGraceMs }),
      dryRun,
      now,
      ...(options.signal && { signal: options.signal }),
      protect: plan.protect.get(member.name) ?? new Set(),
    });
    members.push({ name: member.name, result });
  }
  return {
    horizon: new Date(horizonMs).toISOString(),
    dryRun,
    keptClusterBases: plan.keep.map(({ base, reason }) => ({ id: base.id, reason, restorableFrom: formatTs(base.restorableFromTs), restorableFromTs: base.restorableFromTs })),
    removedClusterBases: plan.remove.map((base) => ({ id: base.id, finishedAt: base.finishedAt })),
    members,
  };
}

async function commitClusterRetention(store: Store, horizonMs: number, dryRun: boolean): Promise<{ manifest: ClusterManifest; plan: ClusterRetentionPlan }> {
  for (let attempt = 1; ; attempt++) {
    const committer = await ClusterCommitter.open(store);
    const manifest = committer.manifest;
    const plan = planClusterRetention(manifest, await memberChainsOf(store, manifest), horizonMs);
    if (dryRun || plan.remove.length === 0) return { manifest, plan };
    const ids = new Set(plan.remove.map((base) => base.id));
    try {
      return { manifest: await committer.commit((current) => withoutClusterBases(current, ids)), plan };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= COMMIT_ATTEMPTS) throw error;
    }
  }
}

/** Each member's chains from its manifest's head (ends and base starts are all the plan reads). */
async function memberChainsOf(store: Store, manifest: ClusterManifest): Promise<Map<string, readonly Chain[]>> {
  const entries = await Promise.all(manifest.members.map(async (member) => [member.name, (await readHead(memberStore(store, member.prefix))).manifest.chains] as const));
  return new Map(entries);
}
