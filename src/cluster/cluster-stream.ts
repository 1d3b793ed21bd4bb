// `stream` on a sharded cluster: one tailer per member in one process, each the replica-set
// stream (backup/stream-oplog.ts) onto that member's store, all under one stop signal. A stop
// (SIGTERM/SIGINT) seals every member's chunk in hand; a member whose stream fails stops the
// others the same way, and is reported once every other has ended, so none is cut off mid-commit.
//
// It extends member chains only: cluster bases are `run`'s (balancer held, every member at once),
// so the stream refuses a cluster store whose newest cluster base does not cover every member of
// the topology now (none yet, a shard joined or left, one in progress): `run` first.
import { activeMembers, membersWithoutClusterBase, newestClusterBase, noteMembers } from '../archive/cluster-manifest.ts';
import type { ChunkLimits } from '../archive/chunker.ts';
import type { Chunk, SourceIdentity } from '../archive/manifest.ts';
import type { MemberRole } from '../archive/cluster-manifest.ts';
import { streamOplog, type StreamOplogResult } from '../backup/stream-oplog.ts';
import type { ChainDamaged } from '../archive/chain-health.ts';
import { UsageError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import { memberPrefixOf } from './cluster-base.ts';
import { readClusterManifest } from './cluster-committer.ts';
import { connectMembers, seenMembers } from './member-sources.ts';
import { memberStore } from './member-store.ts';
import type { ClusterTopology } from './topology.ts';

export interface ClusterStreamOptions {
  readonly store: Store;
  readonly topology: ClusterTopology;
  readonly limits?: ChunkLimits;
  readonly flushIntervalMs?: number;
  readonly compactEveryMs?: number;
  readonly signal?: AbortSignal;
  readonly onStart?: (member: string, setName: string) => void;
  /**
   * Before a member's stream starts, with the member's store (its metrics primed from its
   * manifest): awaited, so that nothing it counts happens before it.
   */
  readonly onMemberReady?: (member: { readonly name: string; readonly role: MemberRole; readonly identity: SourceIdentity }, store: Store) => Promise<void>;
  readonly onChunk?: (member: string, chunk: Chunk) => void;
  readonly onDamaged?: (member: string, error: ChainDamaged) => void;
}

export interface ClusterStreamResult {
  readonly members: readonly ({ readonly name: string } & StreamOplogResult)[];
}

export async function streamCluster(options: ClusterStreamOptions): Promise<ClusterStreamResult> {
  const { manifest } = await readClusterManifest(options.store);
  const sources = await connectMembers(options.topology);
  try {
    const seen = seenMembers(sources.members);
    const noted = noteMembers(manifest, seen, new Date().toISOString());
    const uncovered = membersWithoutClusterBase(noted.manifest);
    const newest = newestClusterBase(noted.manifest);
    const gone = newest?.members.filter((part) => !activeMembers(noted.manifest).some((member) => member.name === part.name)) ?? [];
    if (!newest || manifest.pendingBase || uncovered.length > 0 || gone.length > 0) {
      const why = !newest ? 'has no cluster base yet' : manifest.pendingBase ? `has cluster base ${manifest.pendingBase.id} in progress` : uncovered.length > 0 ? `has no cluster base of ${uncovered.join(', ')}` : `'s newest cluster base holds ${gone.map((part) => part.name).join(', ')}, gone from the topology`;
      throw new UsageError(`the cluster store ${why}; stream only extends member chains`, {
        hint: 'run `mongo-pitr run` with the same --topology/--uri first (it takes the cluster base), then stream',
      });
    }
    // One controller for all: the user's stop, or a member's failure, stops every member.
    const stop = new AbortController();
    const onStop = () => stop.abort();
    if (options.signal?.aborted) stop.abort();
    options.signal?.addEventListener('abort', onStop, { once: true });
    try {
      const settled = await Promise.allSettled(sources.members.map(async (member) => {
        options.onStart?.(member.name, member.source.identity.setName);
        try {
          const store = memberStore(options.store, memberPrefixOf(member));
          await options.onMemberReady?.({ name: member.name, role: member.role, identity: member.source.identity }, store);
          const result = await streamOplog({
            source: member.source,
            store,
            ...(options.limits && { limits: options.limits }),
            ...(options.flushIntervalMs !== undefined && { flushIntervalMs: options.flushIntervalMs }),
            ...(options.compactEveryMs !== undefined && { compactEveryMs: options.compactEveryMs }),
            signal: stop.signal,
            onChunk: (chunk) => options.onChunk?.(member.name, chunk),
            onDamaged: (error) => options.onDamaged?.(member.name, error),
          });
          return { name: member.name, ...result };
        } catch (error) {
          stop.abort();
          throw error;
        }
      }));
      const failed = settled.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      return { members: settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])) };
    } finally {
      options.signal?.removeEventListener('abort', onStop);
    }
  } finally {
    await sources.close();
  }
}
