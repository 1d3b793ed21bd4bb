// mongo-pitr stream: tail the oplog into the store until stopped, a chunk every --flush-interval
// (or sooner when full). SIGTERM/SIGINT seal the chunk in hand, catch up, and exit 0. On a
// sharded cluster (--topology, or a --uri that reaches a mongos): one tailer per member in this
// process, one stop for all (cluster/cluster-stream.ts).
import { pointWords, tsWords } from '../../archive/window-words.ts';
import { timePoint } from '../../archive/source-summary.ts';
import type { Command } from 'commander';
import { DEFAULT_STREAM_COMPACT_EVERY_MS } from '../../backup/background-compaction.ts';
import { DEFAULT_FLUSH_INTERVAL_MS, streamOplog } from '../../backup/stream-oplog.ts';
import { parseDuration } from '../../config.ts';
import { formatTs } from '../../timestamp.ts';
import { addChunkOptions, limitsOf, type ChunkFlags } from '../chunk-options.ts';
import { contextOf, stopSignal, withSourceAndStore } from '../context.ts';
import { addMetricsOption, startMetrics, type MetricsFlags } from '../metrics.ts';
import { counted } from '../receipt-text.ts';
import { clusterRunOf } from './cluster-run.ts';
import { streamClusterCommand } from './cluster-stream.ts';

export function registerStream(program: Command): void {
  addMetricsOption(addChunkOptions(
    program
      .command('stream')
      .description('tail the oplog into the store until stopped, a chunk every --flush-interval or when full')
      .option('--uri <uri>', 'source replica set connection string, or a mongos for a sharded cluster (env MONGODB_URI)')
      .option('--topology <file>', 'a sharded cluster described by a JSON file, as for run: every member streamed at once')
      .option('--flush-interval <duration>', 'seal a chunk this long after its first op, full or not', `${DEFAULT_FLUSH_INTERVAL_MS / 1000}s`)
      .option('--compact-every <duration>', 'compact old chunks in the background at most this often; 0 never', `${DEFAULT_STREAM_COMPACT_EVERY_MS / 60_000}m`),
  )).action(async (flags: ChunkFlags & MetricsFlags & { uri?: string; topology?: string; flushInterval: string; compactEvery: string }, command: Command) => {
    const context = contextOf(command);
    const limits = limitsOf(flags);
    const flushIntervalMs = parseDuration(flags.flushInterval, '--flush-interval');
    const compactEveryMs = flags.compactEvery === '0' ? 0 : parseDuration(flags.compactEvery, '--compact-every');
    const signal = stopSignal();
    const cluster = await clusterRunOf(context, flags);
    if (cluster) return streamClusterCommand(context, cluster, { limits, flushIntervalMs, compactEveryMs, signal, metricsAddr: flags.metricsAddr });
    const metrics = await startMetrics(context, flags);
    const result = await withSourceAndStore(context, flags.uri, async (source, opened) => {
      const store = metrics ? await metrics.attach(source, opened) : opened;
      context.log.event('stream.start', `streaming the oplog of ${source.identity.setName} (${source.uri}) into ${store.url}`);
      return streamOplog({
        source,
        store,
        limits,
        flushIntervalMs,
        compactEveryMs,
        signal,
        onCompaction: (done) =>
          context.log.event('stream.compact', `compacted ${counted(done.replaced, 'chunk')} into ${counted(done.merged, 'object')}; deleted ${counted(done.deleted, 'replaced object')}`, { ...done }),
        onDamaged: (error) => {
          metrics?.metrics.observeDamaged();
          context.log.warn(`${error.message}; taking a new base now`);
        },
        onChunk: (chunk) => {
          metrics?.metrics.observeChunk(chunk);
          context.log.event('stream.chunk', `chunk ${chunk.key}: ${counted(chunk.count, 'op')} up to ${pointWords(timePoint(chunk.lastTs, chunk.lastWall))}`, {
            key: chunk.key,
            ops: chunk.count,
            lastTs: formatTs(chunk.lastTs),
          });
        },
      });
    }, metrics?.storeOptions).finally(() => metrics?.close());
    const { damaged, ...report } = result;
    context.output.result({ type: 'stream', ...report, checkpoint: formatTs(result.checkpoint) }, [
      `stopped: ${counted(result.ops, 'oplog entry', 'oplog entries')} in ${counted(result.chunks, 'chunk')}; checkpoint ${tsWords(result.checkpoint)}`,
    ]);
    // The chain found at the start was damaged: the stream went on onto a new chain, and still
    // ends with the integrity code naming the object.
    if (damaged) throw damaged;
  });
}
