// `verify` on a cluster store: each member store verified exactly as a replica-set store is
// (backup/verify-store.ts), then cluster.json's references checked against what the members
// hold (cluster-references.ts). Every member is verified even after one fails, so one run names
// every damaged member; the caller turns any failure into the integrity exit code.
import type { ClusterMember } from '../archive/cluster-manifest.ts';
import { verifyStore, type StoreVerifyResult } from '../backup/verify-store.ts';
import type { Store } from '../store/store.ts';
import { readClusterManifest } from './cluster-committer.ts';
import { clusterReferenceProblems, type ReferenceProblem } from './cluster-references.ts';
import { memberStore } from './member-store.ts';

export type MemberVerify =
  | { readonly member: ClusterMember; readonly ok: true; readonly result: StoreVerifyResult }
  | { readonly member: ClusterMember; readonly ok: false; readonly error: unknown };

export interface ClusterVerifyResult {
  readonly members: readonly MemberVerify[];
  readonly clusterBases: number;
  readonly problems: readonly ReferenceProblem[];
  readonly ok: boolean;
}

export async function verifyCluster(store: Store, onMember?: (outcome: MemberVerify) => void): Promise<ClusterVerifyResult> {
  const { manifest } = await readClusterManifest(store);
  const members: MemberVerify[] = [];
  // One member at a time: each already reads 4 objects at once, and the lines come in order.
  for (const member of manifest.members) {
    let outcome: MemberVerify;
    try {
      outcome = { member, ok: true, result: await verifyStore(memberStore(store, member.prefix)) };
    } catch (error) {
      outcome = { member, ok: false, error };
    }
    members.push(outcome);
    onMember?.(outcome);
  }
  // A member that failed is reported as such; its references are checked once it verifies.
  const chainIds = new Map(members.flatMap((outcome) => (outcome.ok ? [[outcome.member.name, new Set(outcome.result.chainIds)] as const] : [])));
  const problems = clusterReferenceProblems(manifest, chainIds);
  return { members, clusterBases: manifest.bases.length, problems, ok: problems.length === 0 && members.every((outcome) => outcome.ok) };
}
