// mongo-pitr prune: drop chains older than --keep needs, and unreferenced objects past a grace
// period; the newest window always stays whole. On a cluster store: cluster bases as one, then
// every member (cluster/cluster-prune.ts).
import { tsWords, windowWords } from '../../archive/window-words.ts';
import type { Command } from 'commander';
import { DEFAULT_ORPHAN_GRACE_MS, prune, type PruneResult } from '../../backup/prune.ts';
import { isClusterStore } from '../../cluster/cluster-committer.ts';
import { pruneCluster, type ClusterPruneResult } from '../../cluster/cluster-prune.ts';
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
    .description('remove chains no restore to (now - keep) or later needs, and orphaned objects (cluster bases as one, on a cluster store)')
    .requiredOption('--keep <duration>', 'restorable span to keep, back from now (e.g. 7d); the newest chain (cluster base) always stays')
    .option('--orphan-grace <duration>', 'keep unreferenced objects younger than this: a running backup may be writing them', `${DEFAULT_ORPHAN_GRACE_MS / 3_600_000}h`)
    .option('--dry-run', 'list what would be removed; delete nothing')
    .action(async (flags: PruneFlags, command: Command) => {
      const context = contextOf(command);
      const keepMs = parseDuration(flags.keep, '--keep');
      const orphanGraceMs = parseDuration(flags.orphanGrace, '--orphan-grace');
      const options = { keepMs, orphanGraceMs, dryRun: flags.dryRun, signal: stopSignal() };
      const outcome = await withStore(context, async (store) =>
        (await isClusterStore(store)) ? { cluster: await pruneCluster({ store, ...options }) } : { single: await prune({ store, ...options }) },
      );
      if (outcome.cluster) return context.output.result({ type: 'prune', cluster: true, ...outcome.cluster }, clusterPruneLines(outcome.cluster));
      if (outcome.single) context.output.result({ type: 'prune', ...outcome.single }, pruneLines(outcome.single));
    });
}

function pruneLines(result: PruneResult): string[] {
  const verb = result.dryRun ? 'would remove' : 'removed';
  const lines = [`horizon ${result.horizon}: keeping ${counted(result.keptChains.length, 'chain')}, ${verb} ${result.removedChains.length}`];
  for (const chain of result.removedChains) lines.push(`${verb} chain ${chain.id} (window ${windowWords(chain.restoreWindow)}): ${counted(chain.objects, 'object')}, ${counted(chain.storedBytes, 'byte')}`);
  for (const chain of result.keptChains) {
    const why = chain.reason === 'newest' ? 'newest chain' : chain.reason === 'cluster-base' ? 'a kept cluster base needs it' : 'still restores to the horizon or later';
    lines.push(`kept chain ${chain.id} (window ${windowWords(chain.restoreWindow)}): ${why}`);
  }
  for (const orphan of result.orphans) lines.push(`${verb} orphan ${orphan.key} (${counted(orphan.size, 'byte')}, written ${orphan.lastModified})`);
  if (result.youngOrphans > 0) lines.push(`kept ${counted(result.youngOrphans, 'unreferenced object')} younger than the grace period`);
  lines.push(`${result.dryRun ? 'dry run: nothing deleted; would delete' : 'deleted'} ${counted(result.deletedObjects, 'object')}, ${counted(result.deletedBytes, 'byte')}`);
  return lines;
}

function clusterPruneLines(result: ClusterPruneResult): string[] {
  const verb = result.dryRun ? 'would remove' : 'removed';
  const lines = [`horizon ${result.horizon}: keeping ${counted(result.keptClusterBases.length, 'cluster base')}, ${verb} ${result.removedClusterBases.length}`];
  for (const base of result.removedClusterBases) lines.push(`${verb} cluster base ${base.id} (finished ${base.finishedAt})`);
  for (const base of result.keptClusterBases) lines.push(`kept cluster base ${base.id} (restorable from ${tsWords(base.restorableFromTs)}): ${base.reason === 'newest' ? 'newest cluster base' : 'still restores to the horizon or later'}`);
  for (const { name, result: member } of result.members) lines.push(...pruneLines(member).map((line) => `${name}: ${line}`));
  return lines;
}
