// mongo-pitr restore: download the chain, load the base, replay the oplog up to --until.
import { Option, type Command } from 'commander';
import { parsePositiveInt } from '../../config.ts';
import { UsageError } from '../../errors.ts';
import { restore, type RestoreResult } from '../../restore/restore.ts';
import { APPLY_MODES, type ApplyMode } from '../../target/open-target.ts';
import { parseCutoff } from '../../timestamp.ts';
import { contextOf, stopSignal, withStore } from '../context.ts';

interface RestoreFlags {
  to?: string;
  until?: string;
  drop?: boolean;
  dryRun?: boolean;
  applyMode: ApplyMode;
  nsInclude: string[];
  nsExclude: string[];
  nsFrom: string[];
  nsTo: string[];
  concurrency: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('restore onto a cluster: the newest base before --until, then the oplog up to it')
    .option('--to <uri>', 'target connection string (required unless --dry-run)')
    .option('--until <time>', 'cutoff: ISO-8601 time, epoch seconds, or seconds:ordinal; ops at or after it are not applied')
    .option('--drop', 'drop each target collection before loading it')
    .option('--dry-run', 'print the chain, window and counts; write nothing')
    .addOption(new Option('--apply-mode <mode>', 'how to replay').choices(APPLY_MODES).default('auto'))
    .option('--nsInclude <pattern>', 'only these namespaces (mongorestore syntax, repeatable)', collect, [])
    .option('--nsExclude <pattern>', 'not these namespaces (repeatable)', collect, [])
    .option('--nsFrom <pattern>', 'rename namespaces from (with --nsTo, repeatable)', collect, [])
    .option('--nsTo <pattern>', 'rename namespaces to (with --nsFrom, repeatable)', collect, [])
    .option('--concurrency <n>', 'parallel downloads and insert batches', '4')
    .action(async (flags: RestoreFlags, command: Command) => {
      const context = contextOf(command);
      if (!flags.to && !flags.dryRun) throw new UsageError('restore needs --to <uri> (or --dry-run)');
      const cutoff = flags.until ? parseCutoff(flags.until) : undefined;
      const result = await withStore(context, (store) =>
        restore({
          store,
          targetUri: flags.to ?? '',
          cutoff,
          drop: flags.drop,
          dryRun: flags.dryRun,
          applyMode: flags.applyMode,
          namespaces: { include: flags.nsInclude, exclude: flags.nsExclude, from: flags.nsFrom, to: flags.nsTo },
          concurrency: parsePositiveInt(flags.concurrency, '--concurrency'),
          signal: stopSignal(),
          onStage: (stage, detail) => context.log.event(`restore.${stage}`, detail),
        }),
      );
      context.output.result({ type: 'restore', ...result }, receiptLines(result));
    });
}

function receiptLines(result: RestoreResult): string[] {
  const lines = [`chain ${result.chainId}, window ${result.window}: ${result.objects} objects, ${result.chunks} chunks, ${result.storedBytes} bytes`];
  if (result.dryRun) return [...lines, 'dry run: nothing written'];
  if (result.base) lines.push(`base: ${result.base.documents} documents in ${result.base.collections} collections`);
  const receipt = result.receipt;
  if (receipt) {
    const at = (ref: { ts: string; wall: string | null; ns: string; op: string } | null) =>
      ref ? `${ref.ts}${ref.wall ? ` (${ref.wall})` : ''} ${ref.op} ${ref.ns}` : 'none';
    lines.push(`oplog: ${receipt.applied} entries applied (${result.applyMode})`);
    lines.push(`last applied: ${at(receipt.lastApplied)}`);
    lines.push(`first skipped: ${at(receipt.firstSkipped)}`);
    for (const [ns, count] of Object.entries(receipt.appliedByNs)) lines.push(`  ${ns}: ${count}`);
    for (const [reason, count] of Object.entries(receipt.skipped)) lines.push(`  skipped (${reason}): ${count}`);
    if (receipt.pendingTransactions > 0) lines.push(`  transactions without an archived commit: ${receipt.pendingTransactions}`);
  }
  return lines;
}
