// mongo-pitr compact: merges closed hours of chunks into one object each, and closed days of
// those (backup/compact.ts); replaced objects are deleted once --grace has passed.
import type { Command } from 'commander';
import { compact } from '../../backup/compact.ts';
import { DEFAULT_ORPHAN_GRACE_MS } from '../../backup/prune.ts';
import { parseDuration } from '../../config.ts';
import { contextOf, stopSignal, withStore } from '../context.ts';
import { counted } from '../../words.ts';

export function registerCompact(program: Command): void {
  program
    .command('compact')
    .description('merge old chunks into hour and day objects, so restores of long windows fetch few objects')
    .option('--grace <duration>', 'delete replaced objects only this long after the compaction was recorded: a restore may be reading them', `${DEFAULT_ORPHAN_GRACE_MS / 3_600_000}h`)
    .action(async (flags: { grace: string }, command: Command) => {
      const context = contextOf(command);
      const graceMs = parseDuration(flags.grace, '--grace');
      const result = await withStore(context, (store) => compact({ store, graceMs, signal: stopSignal() }));
      context.output.result({ type: 'compact', ...result }, [
        `merged ${counted(result.replaced, 'chunk')} into ${counted(result.merged, 'object')}; deleted ${counted(result.deleted, 'replaced object')} past the grace period${result.stoppedEarly ? ' (stopped early; the next run resumes)' : ''}`,
      ]);
    });
}
