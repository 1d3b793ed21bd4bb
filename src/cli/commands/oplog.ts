// mongo-pitr oplog: archive the oplog written since the checkpoint, once.
import { pointWords } from '../../archive/window-words.ts';
import { timePoint } from '../../archive/source-summary.ts';
import type { Command } from 'commander';
import { backupOplog, checkpointWords } from '../../backup/run-due.ts';
import { parseDuration } from '../../config.ts';
import { formatTs } from '../../timestamp.ts';
import { contextOf, stopSignal, withSourceAndStore } from '../context.ts';
import { limitsOf, addChunkOptions, type ChunkFlags } from '../chunk-options.ts';
import { counted } from '../receipt-text.ts';

export function registerOplog(program: Command): void {
  addChunkOptions(
    program
      .command('oplog')
      .description('archive the oplog written since the last checkpoint, once')
      .option('--uri <uri>', 'source replica set connection string (env MONGODB_URI)')
      .option('--verify-every <duration>', 'read back and hash the whole chain when its last verify is older than this', '1d'),
  ).action(async (flags: ChunkFlags & { uri?: string; verifyEvery: string }, command: Command) => {
    const context = contextOf(command);
    const limits = limitsOf(flags);
    const verifyEveryMs = parseDuration(flags.verifyEvery, '--verify-every');
    const result = await withSourceAndStore(context, flags.uri, (source, store) =>
      backupOplog({
        source,
        store,
        limits,
        verifyEveryMs,
        signal: stopSignal(),
        onStage: (stage, message) => context.log.status(`oplog.${stage}`, message),
        onChunkStart: (key) => context.log.event('oplog.chunk-start', `writing ${key}`, { key }),
        onChunk: (chunk) =>
          context.log.event('oplog.chunk', `${chunk.key}: ${counted(chunk.count, 'entry', 'entries')} from ${pointWords(timePoint(chunk.firstTs, chunk.firstWall))} to ${pointWords(timePoint(chunk.lastTs, chunk.lastWall))}`, {
            key: chunk.key,
            count: chunk.count,
            firstTs: formatTs(chunk.firstTs),
            lastTs: formatTs(chunk.lastTs),
            storedBytes: chunk.storedBytes,
          }),
      }),
    );
    context.output.result({ type: 'oplog', ...result, checkpoint: formatTs(result.checkpoint) }, [
      `${counted(result.ops, 'oplog entry', 'oplog entries')} in ${counted(result.chunks, 'chunk')}; checkpoint ${checkpointWords(result)}` +
        (result.stoppedEarly ? ' (stopped early)' : ''),
    ]);
  });
}
