// mongo-pitr run: whatever is due — a base when there is none, after an oplog gap, or when the
// newest is older than --base-every; otherwise the new oplog. What a scheduler calls.
import type { Command } from 'commander';
import { describeRunDue, runDue, runDueReport } from '../../backup/run-due.ts';
import { readHead } from '../../backup/commit.ts';
import { chainChunkCount, chainOpCount, newestChainOf, type Chain } from '../../archive/manifest.ts';
import { windowOf } from '../../archive/chain-window.ts';
import { windowPoints, windowWords } from '../../archive/window-words.ts';
import { parseDuration } from '../../config.ts';
import { contextOf, stopSignal, withSourceAndStore } from '../context.ts';
import { addMetricsOption, startMetrics, type MetricsFlags } from '../metrics.ts';
import { addChunkOptions, limitsOf, type ChunkFlags } from '../chunk-options.ts';
import { counted } from '../receipt-text.ts';
import { clusterRunOf, runClusterCommand, type ClusterRunFlags } from './cluster-run.ts';
import { dumpProgress } from '../dump-progress.ts';
import { DEFAULT_PIECE_BYTES, pieceBytesOf } from '../../backup/dump-pieces.ts';
import { storedByCollection, storedByPiece } from '../../metrics/stored-bytes.ts';

export function registerRun(program: Command): void {
  addMetricsOption(addChunkOptions(
    program
      .command('run')
      .description('do what is due: a base backup when needed, otherwise archive new oplog')
      .option('--uri <uri>', 'source replica set connection string (env MONGODB_URI)')
      .option('--base-every <duration>', 'take a new base when the newest is older than this (e.g. 1d)')
      .option('--verify-every <duration>', 'read back and hash the whole chain when its last verify is older than this', '1d')
      .option('--no-compact', 'do not compact old chunks at the end of the pass')
      .option('--piece-size <MiB>', 'a large collection of a base is stored, and resumed after a stop, in pieces of this many MiB of documents', String(DEFAULT_PIECE_BYTES / (1024 * 1024)))
      .option('--topology <file>', 'a sharded cluster described by a JSON file: {"config": uri, "shards": {name: uri}, "mongos"?: [uri]}')
      .option('--allow-balancer', 'take a cluster base even when the balancer runs and no mongos can stop it'),
  )).action(async (flags: ChunkFlags & MetricsFlags & ClusterRunFlags & { uri?: string; baseEvery?: string; verifyEvery: string; compact: boolean; pieceSize: string }, command: Command) => {
    const context = contextOf(command);
    const limits = limitsOf(flags);
    const baseEveryMs = flags.baseEvery ? parseDuration(flags.baseEvery, '--base-every') : undefined;
    const verifyEveryMs = parseDuration(flags.verifyEvery, '--verify-every');
    const pieceBytes = pieceBytesOf(flags.pieceSize, '--piece-size');
    // A sharded cluster (a topology file, or a mongos at --uri): every member, one cluster timeline.
    const cluster = await clusterRunOf(context, flags);
    // A cluster pass serves every member's series and the cluster window (cluster-run-metrics.ts).
    if (cluster) return runClusterCommand(context, cluster, { limits, baseEveryMs, verifyEveryMs, compact: flags.compact, allowBalancer: flags.allowBalancer === true, metricsAddr: flags.metricsAddr });
    const metrics = await startMetrics(context, flags);
    const { result, chain } = await withSourceAndStore(context, flags.uri, async (source, opened) => {
      const store = metrics ? await metrics.attach(source, opened) : opened;
      const progress = dumpProgress(context.log);
      let done;
      try {
        done = await runDue({
          source,
          store,
          limits,
          baseEveryMs,
          verifyEveryMs,
          compact: flags.compact,
          pieceBytes,
          signal: stopSignal(),
          onStage: (stage, message, count) => {
            progress.stage(stage, count);
            context.log.status(`run.${stage}`, message);
          },
          onChunk: (chunk) => metrics?.metrics.observeWritten(chunk),
          // A base, when one is due, draws the same bar as backup's.
          onDumpPlan: (plan) => progress.plan(plan),
          onDocument: () => progress.document(),
          // Each base object counted once, as this process commits it (stored-bytes.ts).
          onPiece: (part) => metrics?.metrics.observeStored(storedByPiece(part)),
          onCollection: (entry) => {
            metrics?.metrics.observeStored(storedByCollection(entry));
            progress.collection(entry);
          },
        });
      } finally {
        // The chain as the run left it (a damaged one included): window, newest op, health.
        if (metrics) metrics.metrics.observeManifest((await readHead(store)).manifest, source.identity);
      }
      // The chain as status reports it (from the head alone), read back after the run's last commit.
      return { result: done, chain: newestChainOf((await readHead(store)).manifest, source.identity) };
    }, metrics?.storeOptions).finally(() => metrics?.close());
    const lines = describeRunDue(result);
    if (chain) lines.push(chainLine(chain));
    context.output.result({ type: 'run', ...runDueReport(result), chainOplogEntries: chain && chainOpCount(chain), chainWindow: chain && windowPoints(windowOf(chain)) }, lines);
  });
}

/** The chain's totals counted as status counts them (chainOpCount), so the two never disagree. */
function chainLine(chain: Chain): string {
  return `chain ${chain.id} now holds ${counted(chainOpCount(chain), 'oplog entry', 'oplog entries')} ` +
    `(base ${chain.base.oplog.count.toLocaleString('en')} + ${counted(chainChunkCount(chain), 'chunk')}); it restores ${windowWords(windowOf(chain))}`;
}
