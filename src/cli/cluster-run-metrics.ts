// --metrics-addr for a cluster `run`: the cluster stream's endpoint (cluster-metrics.ts) fed by
// one pass. Each member's series are primed from its manifest's head as it connects, count what
// its pass commits (chunks, base objects) while the pass runs, and are primed again from its head
// when the pass ends, as a replica-set run's are (commands/run.ts); the cluster window is read
// again after each chunk and at the end. The chunks are counted with observeWritten, not
// observeChunk: a member's pass may restart its chain (an oplog gap) and commit onto a new one.
import { storedByCollection, storedByPiece } from '../metrics/stored-bytes.ts';
import { readHead } from '../backup/commit.ts';
import type { SourceIdentity } from '../archive/manifest.ts';
import type { MemberProgress } from '../cluster/cluster-base.ts';
import type { ClusterRunOptions } from '../cluster/cluster-run.ts';
import type { SourceMetrics } from '../metrics/backup-metrics.ts';
import type { Store } from '../store/store.ts';
import type { ClusterMetrics } from './cluster-metrics.ts';
import type { Context } from './context.ts';

export interface ClusterRunMetrics {
  readonly onMemberReady: NonNullable<ClusterRunOptions['onMemberReady']>;
  /** A member's progress hooks (its bar's) with its series fed too. */
  progress(member: string, hooks: MemberProgress): MemberProgress;
  /** Every member's series from its head as the pass left it, and the cluster window, read once more. */
  settle(): Promise<void>;
}

/** `store`: the cluster store, counting its failures (ClusterMetrics.count). */
export function clusterRunMetrics(context: Context, metrics: ClusterMetrics, store: Store): ClusterRunMetrics {
  const members = new Map<string, { series: SourceMetrics; store: Store; identity: SourceIdentity }>();
  return {
    async onMemberReady(member, memberStore) {
      members.set(member.name, { series: await metrics.member(member, memberStore), store: memberStore, identity: member.identity });
      metrics.refreshWindow(store);
    },
    progress(member, hooks) {
      return {
        ...hooks,
        onChunk: (chunk) => {
          hooks.onChunk?.(chunk);
          members.get(member)?.series.observeWritten(chunk);
          // The cluster window moves only as far as every member: read it again from the store.
          metrics.refreshWindow(store);
        },
        // Each base object counted once, as this process commits it (stored-bytes.ts).
        onPiece: (part) => {
          hooks.onPiece?.(part);
          members.get(member)?.series.observeStored(storedByPiece(part));
        },
        onCollection: (entry) => {
          hooks.onCollection?.(entry);
          members.get(member)?.series.observeStored(storedByCollection(entry));
        },
      };
    },
    async settle() {
      // A failed read leaves the series as they were: the pass's own outcome is what matters here.
      await Promise.all([...members.values()].map(async (member) => {
        try {
          member.series.observeManifest((await readHead(member.store)).manifest, member.identity);
        } catch (error) {
          context.log.warn(`metrics: a member's manifest could not be read: ${error instanceof Error ? error.message : String(error)}`);
        }
      }));
      metrics.refreshWindow(store);
      await metrics.idle();
    },
  };
}
