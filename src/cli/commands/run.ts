// mongo-pitr run: whatever is due — a base when there is none, after an oplog gap, or when the
// newest is older than --base-every; otherwise the new oplog. What a scheduler calls.
import type { Command } from 'commander';
import { describeRunDue, runDue, runDueReport } from '../../backup/run-due.ts';
import { parseDuration } from '../../config.ts';
import { contextOf, stopSignal, withSourceAndStore } from '../context.ts';
import { addChunkOptions, limitsOf, type ChunkFlags } from '../chunk-options.ts';

export function registerRun(program: Command): void {
  addChunkOptions(
    program
      .command('run')
      .description('do what is due: a base backup when needed, otherwise archive new oplog')
      .option('--uri <uri>', 'source replica set connection string (env MONGODB_URI)')
      .option('--base-every <duration>', 'take a new base when the newest is older than this (e.g. 1d)')
      .option('--no-compact', 'do not compact old chunks at the end of the pass'),
  ).action(async (flags: ChunkFlags & { uri?: string; baseEvery?: string; compact: boolean }, command: Command) => {
    const context = contextOf(command);
    const limits = limitsOf(flags);
    const baseEveryMs = flags.baseEvery ? parseDuration(flags.baseEvery, '--base-every') : undefined;
    const result = await withSourceAndStore(context, flags.uri, (source, store) =>
      runDue({ source, store, limits, baseEveryMs, compact: flags.compact, signal: stopSignal() }),
    );
    context.output.result({ type: 'run', ...runDueReport(result) }, describeRunDue(result));
  });
}
