// A direct connection to every replica set of the cluster, each with the replica-set rules
// (connect-source.ts: one pinned member, its own majority point, its own oplog).
import { connectSource, type ConnectSourceOptions, type Source } from '../source/connect-source.ts';
import type { MemberRole, SeenMember } from '../archive/cluster-manifest.ts';
import type { ClusterTopology, MemberAddress } from './topology.ts';

export interface MemberSource {
  readonly name: string;
  readonly role: MemberRole;
  readonly source: Source;
}

export interface MemberSources {
  readonly members: readonly MemberSource[];
  close(): Promise<void>;
}

export function addressesOf(topology: ClusterTopology): { address: MemberAddress; role: MemberRole }[] {
  return [{ address: topology.config, role: 'config' as const }, ...topology.shards.map((address) => ({ address, role: 'shard' as const }))];
}

/** Connects to every member at once; if any fails, the others are closed and the first error thrown. */
export async function connectMembers(topology: ClusterTopology, options: ConnectSourceOptions = {}): Promise<MemberSources> {
  const settled = await Promise.allSettled(addressesOf(topology).map(async ({ address, role }) => ({ name: address.name, role, source: await connectSource(address.uri, options) })));
  const members = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const close = async () => {
    await Promise.all(members.map((member) => member.source.client.close().catch(() => undefined)));
  };
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  return { members, close };
}

export function seenMembers(members: readonly MemberSource[]): SeenMember[] {
  return members.map((member) => ({ role: member.role, name: member.name, setName: member.source.identity.setName, replicaSetId: member.source.identity.replicaSetId }));
}
