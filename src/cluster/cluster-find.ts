// `find` on a cluster store: the replica-set find (restore/find-ops.ts) on each member store in
// turn (the config servers first, then the shards in cluster.json's order), each match tagged with
// the member it was found on. A shard's oplog holds only that shard's writes, so a document's
// history is on the shard(s) that owned it; the tag says which. --limit counts across members.
import type { ClusterMember } from '../archive/cluster-manifest.ts';
import type { SourceChoice } from '../archive/source-choice.ts';
import { UsageError } from '../errors.ts';
import { findOps, type FindOpsOptions, type FoundOp } from '../restore/find-ops.ts';
import type { Store } from '../store/store.ts';
import { readClusterManifest } from './cluster-committer.ts';
import { memberStore } from './member-store.ts';

export interface ClusterFoundOp {
  readonly member: ClusterMember;
  readonly op: FoundOp;
}

export type ClusterFindOptions = Omit<FindOpsOptions, 'store' | 'source'> & {
  readonly store: Store;
  /** --set-name / --replica-set-id: only the members they name (a member's name or its set name). */
  readonly source?: SourceChoice;
};

export async function* findOpsInCluster(options: ClusterFindOptions): AsyncGenerator<ClusterFoundOp> {
  const { manifest } = await readClusterManifest(options.store);
  const members = chosenMembers(manifest.members, options.source);
  let remaining = options.limit ?? Number.POSITIVE_INFINITY;
  for (const member of members) {
    if (remaining <= 0) return;
    const { store: _, source: __, ...rest } = options;
    const found = findOps({ ...rest, store: memberStore(options.store, member.prefix), limit: remaining });
    for await (const op of found) {
      remaining--;
      yield { member, op };
    }
  }
}

function chosenMembers(members: readonly ClusterMember[], choice: SourceChoice | undefined): readonly ClusterMember[] {
  if (!choice || (choice.setName === undefined && choice.replicaSetId === undefined)) return members;
  const chosen = members.filter((member) =>
    (choice.setName === undefined || member.name === choice.setName || member.setName === choice.setName) &&
    (choice.replicaSetId === undefined || member.replicaSetId === choice.replicaSetId));
  if (chosen.length === 0) {
    throw new UsageError(`no member of this cluster store is ${[choice.setName, choice.replicaSetId].filter(Boolean).join(' / ')}`, {
      hint: `members: ${members.map((member) => `${member.name} (${member.setName})`).join(', ')}`,
    });
  }
  return chosen;
}
