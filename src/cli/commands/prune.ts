// mongo-pitr prune: drop chains older than --keep needs, and unreferenced objects past a grace
// period; the newest window always stays whole.
import { windowWords } from '../../archive/window-words.ts';
import type { Command } from 'commander';
import { DEFAULT_ORPHAN_GRACE_MS, prune, type PruneResult } from '../../backup/prune.ts';
import { parseDuration } from '../../config.ts';
import { contextOf, stopSignal, withStore } from '../context.ts';
import { counted } from '../receipt-text.ts';

interface PruneFlags {
  keep: string;
  orphanGrace: string;
  dryRun?: boolean;
}

export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('remove chains no restore to (now - keep) or later needs, and orphaned objects')
    .requiredOption('--keep <duration>', 'restorable span to keep, back from now (e.g. 7d); the newest chain always stays')
    .option('--orphan-grace <duration>', 'keep unreferenced objects younger than this: a running backup may be writing them', `${DEFAULT_ORPHAN_GRACE_MS / 3_600_000}h`)
    .option('--dry-run', 'list what would be removed; delete nothing')
    .action(async (flags: PruneFlags, command: Command) => {
      const context = contextOf(command);
      const keepMs = parseDuration(flags.keep, '--keep');
      const orphanGraceMs = parseDuration(flags.orphanGrace, '--orphan-grace');
      const result = await withStore(context, (store) =>
        prune({ store, keepMs, orphanGraceMs, dryRun: flags.dryRun, signal: stopSignal() }),
      );
      context.output.result({ type: 'prune', ...result }, pruneLines(result));
    });
}

function pruneLines(result: PruneResult): string[] {
  const verb = result.dryRun ? 'would remove' : 'removed';
  const lines = [`horizon ${result.horizon}: keeping ${counted(result.keptChains.length, 'chain')}, ${verb} ${result.removedChains.length}`];
  for (const chain of result.removedChains) lines.push(`${verb} chain ${chain.id} (window ${windowWords(chain.restoreWindow)}): ${counted(chain.objects, 'object')}, ${counted(chain.storedBytes, 'byte')}`);
  for (const chain of result.keptChains) {
    lines.push(`kept chain ${chain.id} (window ${windowWords(chain.restoreWindow)}): ${chain.reason === 'newest' ? 'newest chain' : 'still restores to the horizon or later'}`);
  }
  for (const orphan of result.orphans) lines.push(`${verb} orphan ${orphan.key} (${counted(orphan.size, 'byte')}, written ${orphan.lastModified})`);
  if (result.youngOrphans > 0) lines.push(`kept ${counted(result.youngOrphans, 'unreferenced object')} younger than the grace period`);
  lines.push(`${result.dryRun ? 'dry run: nothing deleted; would delete' : 'deleted'} ${counted(result.deletedObjects, 'object')}, ${counted(result.deletedBytes, 'byte')}`);
  return lines;
}
