// `mongo-pitr stream` on a sharded cluster: every member tailed at once onto its member store
// (cluster/cluster-stream.ts), progress events tagged with the member; --metrics-addr serves every
// member's series, labelled by member and role, and the cluster's window (cluster-metrics.ts).
import type { ChunkLimits } from '../../archive/chunker.ts';
import { streamCluster } from '../../cluster/cluster-stream.ts';
import type { SourceMetrics } from '../../metrics/backup-metrics.ts';
import { formatTs } from '../../timestamp.ts';
import { pointWords, tsWords } from '../../archive/window-words.ts';
import { timePoint } from '../../archive/source-summary.ts';
import { withStore, type Context } from '../context.ts';
import { topologyOf } from './cluster-run.ts';
import { counted } from '../receipt-text.ts';
import { startClusterMetrics } from '../cluster-metrics.ts';

export async function streamClusterCommand(
  context: Context,
  where: { topologyFile?: string; mongosUri?: string },
  options: { limits: ChunkLimits; flushIntervalMs: number; compactEveryMs: number; signal: AbortSignal; metricsAddr?: string },
): Promise<void> {
  const topology = await topologyOf(context, where);
  const metrics = await startClusterMetrics(context, options.metricsAddr);
  const series = new Map<string, SourceMetrics>();
  const result = await withStore(context, (opened) => {
    const store = metrics ? metrics.count(opened) : opened;
    return streamCluster({
      store,
      topology,
      onMemberReady: async (member, memberStore) => {
        if (!metrics) return;
        series.set(member.name, await metrics.member(member, memberStore));
        metrics.refreshWindow(store);
      },
      limits: options.limits,
      flushIntervalMs: options.flushIntervalMs,
      compactEveryMs: options.compactEveryMs,
      signal: options.signal,
      onStart: (member, setName) => context.log.event('stream.start', `streaming the oplog of ${member} (${setName})`, { member }),
      onDamaged: (member, error) => {
        series.get(member)?.observeDamaged();
        context.log.warn(`${member}: ${error.message}; taking a new base of this member now (the next run takes a new cluster base)`);
      },
      onChunk: (member, chunk) => {
        series.get(member)?.observeChunk(chunk);
        // The cluster window moves only as far as every member: read it again from the store.
        metrics?.refreshWindow(store);
        context.log.event('stream.chunk', `${member}: chunk ${chunk.key}: ${counted(chunk.count, 'op')} up to ${pointWords(timePoint(chunk.lastTs, chunk.lastWall))}`, { member, key: chunk.key, ops: chunk.count, lastTs: formatTs(chunk.lastTs) });
      },
    }).finally(() => metrics?.idle());
  }, metrics?.storeOptions).finally(() => metrics?.close());
  const members = result.members.map(({ damaged: _, ...member }) => ({ ...member, checkpoint: formatTs(member.checkpoint) }));
  context.output.result(
    { type: 'stream', cluster: true, members },
    result.members.map((member) => `${member.name}: stopped: ${counted(member.ops, 'oplog entry', 'oplog entries')} in ${counted(member.chunks, 'chunk')}; checkpoint ${tsWords(member.checkpoint)}`),
  );
  // A member chain found damaged at the start: its stream went on onto a new base; still the
  // integrity code naming the object, as for one replica set.
  const damaged = result.members.find((member) => member.damaged)?.damaged;
  if (damaged) throw damaged;
}
