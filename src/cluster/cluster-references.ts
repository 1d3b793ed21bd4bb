// What cluster.json names must exist: a cluster base is restorable only through every member base
// it lists (cluster-window.ts), so a member base gone from its member's manifest (a member store
// pruned or damaged outside mongo-pitr, or a prune that crashed in the wrong order) makes that
// cluster base useless. Pure: the member chain ids come from each member's manifest.
import { memberNamed, type ClusterManifest } from '../archive/cluster-manifest.ts';

export interface ReferenceProblem {
  readonly clusterBaseId: string;
  readonly member: string;
  readonly message: string;
}

/**
 * Every member base a cluster base names that its member's manifest does not hold. A member with
 * no entry in `memberChainIds` (its manifest could not be read) is not judged here: its own
 * failure is the report.
 */
export function clusterReferenceProblems(manifest: ClusterManifest, memberChainIds: ReadonlyMap<string, ReadonlySet<string>>): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  for (const base of manifest.bases) {
    for (const part of base.members) {
      if (!memberNamed(manifest, part.name)) {
        problems.push({ clusterBaseId: base.id, member: part.name, message: `cluster base ${base.id} names member ${part.name}, which cluster.json does not list` });
        continue;
      }
      const held = memberChainIds.get(part.name);
      if (held && !held.has(part.baseId)) {
        problems.push({ clusterBaseId: base.id, member: part.name, message: `cluster base ${base.id} needs base ${part.baseId} of ${part.name}, which ${part.name}'s manifest does not hold` });
      }
    }
  }
  return problems;
}
