// mongo-pitr restore: download the chain, load the base, replay the oplog up to --until.
import { Option, type Command } from 'commander';
import { parsePositiveInt } from '../../config.ts';
import { UsageError } from '../../errors.ts';
import { restore, type RestoreResult } from '../../restore/restore.ts';
import type { ReplayReceipt } from '../../restore/replay.ts';
import {
  FILTER_EXAMPLE,
  compileOpFilter,
  formatFoundOp,
  foundOpToJson,
  noFirstOpError,
  parseOpFilterJson,
  type OpFilter,
} from '../../restore/find-ops.ts';
import { findFirstVisibleOp, visibleCutoff, visibleMatchJson, visibleMatchLine, type VisibleMatch } from '../../restore/first-visible-op.ts';
import { APPLY_MODES, type ApplyMode } from '../../target/open-target.ts';
import { parseCutoff, type Cutoff } from '../../timestamp.ts';
import { counted, cutoffLine } from '../receipt-text.ts';
import { windowWords } from '../../archive/window-words.ts';
import { contextOf, stopSignal, withStore } from '../context.ts';
import { addSourceChoiceOptions, sourceChoiceOf, type SourceChoiceFlags } from '../source-choice-options.ts';
import { isClusterStore } from '../../cluster/cluster-committer.ts';
import { clusterRestoreCommand } from './cluster-restore.ts';

interface RestoreFlags extends SourceChoiceFlags {
  to?: string;
  until?: string;
  beforeFirst?: string;
  drop?: boolean;
  preserveUuid?: boolean;
  force?: boolean;
  dryRun?: boolean;
  applyMode: ApplyMode;
  nsInclude: string[];
  nsExclude: string[];
  nsFrom: string[];
  nsTo: string[];
  concurrency: string;
  skipUnknownCommands?: boolean;
  toTopology?: string;
  shardMap?: string;
  allowBalancer?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Shared by restore and replay. */
export const SKIP_UNKNOWN_HELP =
  'skip and count oplog commands replay does not know or cannot replay (a newer DDL, importCollection) instead of failing on them; the target then differs by what they did';

/** Ctrl-C ends a restore within this long, even with a write in flight (stop-signal.ts). */
export const RESTORE_STOP = {
  graceMs: 1500,
  stoppedMessage: 'the target holds part of the restore; restore again with --drop',
} as const;

const RECEIPT_STAGES: ReadonlySet<string> = new Set(['plan', 'base', 'indexes']);

export const UNITS = { download: 'objects', load: 'collections', replay: 'entries' } as const;

export function registerRestore(program: Command): void {
  const registered = program
    .command('restore')
    .description('restore onto a cluster: the newest base before --until, then the oplog up to it')
    .option('--to <uri>', 'target connection string (required unless --dry-run)')
    .option('--until <time>', 'cutoff: ISO-8601 time, epoch seconds, or seconds:ordinal; ops at or after it are not applied')
    .option('--before-first <filter>', `cutoff at the first archived op matching a JSON filter (as mongo-pitr find takes), e.g. ${FILTER_EXAMPLE}`)
    .option('--drop', 'drop each target collection before loading it')
    .option('--preserve-uuid', 'create each collection with its source UUID, as mongorestore --preserveUUID (needs --drop and a target with applyOps)')
    .option('--force', 'restore even onto the replica set the chain backs up (refused otherwise, unless --nsFrom/--nsTo rename)')
    .option('--dry-run', 'replay the oplog into nothing: print the chain, window and what the restore would apply; write nothing')
    .addOption(new Option('--apply-mode <mode>', 'how to replay').choices(APPLY_MODES).default('auto'))
    .option('--skip-unknown-commands', SKIP_UNKNOWN_HELP)
    .option('--nsInclude <pattern>', 'only these namespaces (mongorestore syntax, repeatable)', collect, [])
    .option('--nsExclude <pattern>', 'not these namespaces (repeatable)', collect, [])
    .option('--nsFrom <pattern>', 'rename namespaces from (with --nsTo, repeatable)', collect, [])
    .option('--nsTo <pattern>', 'rename namespaces to (with --nsFrom, repeatable)', collect, [])
    .option('--concurrency <n>', 'parallel downloads and insert batches', '4')
    .option('--to-topology <file>', 'a cluster store: the target cluster as a topology file (instead of a target mongos at --to)')
    .option('--allow-balancer', 'a cluster store: restore even when the target balancer runs and no target mongos can stop it')
    .option('--shard-map <pairs>', 'a cluster store: source shard → target shard, e.g. a=x,b=y (default: by name)');
  addSourceChoiceOptions(registered)
    .action(async (flags: RestoreFlags, command: Command) => {
      const context = contextOf(command);
      if (!flags.to && !flags.toTopology && !flags.dryRun) throw new UsageError('restore needs --to <uri> (or --dry-run)');
      if (flags.until && flags.beforeFirst) throw new UsageError('give --until or --before-first, not both');
      const until = flags.until ? parseCutoff(flags.until) : undefined;
      const beforeFirst = flags.beforeFirst === undefined ? undefined : beforeFirstFilter(flags.beforeFirst);
      // A cluster store (cluster.json): every member to the same cutoff (cluster-restore.ts).
      if (flags.toTopology || (await withStore(context, isClusterStore))) {
        return clusterRestoreCommand(context, flags, until, parsePositiveInt(flags.concurrency, '--concurrency'), beforeFirst);
      }
      const source = sourceChoiceOf(flags);
      const signal = stopSignal(RESTORE_STOP);
      let first: VisibleMatch | undefined;
      let cutoff: Cutoff | undefined = until;
      const result = await withStore(context, async (store) => {
        // The first match by where its write became visible: a transaction's commit, not its
        // entry (first-visible-op.ts).
        if (beforeFirst) first = await findFirstVisibleOp(store, beforeFirst, { signal, source });
        if (beforeFirst && !first) throw noFirstOpError(beforeFirst);
        // On a terminal only: the receipt prints this line, so plain logs would show it twice.
        if (first) context.log.status('restore.before-first', visibleMatchLine(first, formatFoundOp));
        if (first) cutoff = visibleCutoff(first);
        return restore({
          store,
          targetUri: flags.to ?? '',
          cutoff,
          source,
          drop: flags.drop,
          ...(flags.preserveUuid === true && { preserveUuid: 'required' as const }),
          refuseSourceCluster: flags.force !== true,
          dryRun: flags.dryRun,
          applyMode: flags.applyMode,
          namespaces: { include: flags.nsInclude, exclude: flags.nsExclude, from: flags.nsFrom, to: flags.nsTo },
          concurrency: parsePositiveInt(flags.concurrency, '--concurrency'),
          skipUnknownCommands: flags.skipUnknownCommands ?? false,
          signal,
          // The receipt states the plan, the base and the indexes: as plain lines they would
          // print twice, so they show only on a terminal while the work goes on; --json keeps
          // every stage event (the benchmark times the stages by them).
          onStage: (stage, detail) =>
            (RECEIPT_STAGES.has(stage) && !context.output.json ? context.log.status : context.log.event)(`restore.${stage}`, detail),
          onProgress: (stage, done, total) => context.log.progress(stage, done, total, UNITS[stage]),
        });
      });
      const cutoffLines = first ? [visibleMatchLine(first, formatFoundOp)] : [];
      context.output.result({ type: 'restore', ...result, beforeFirst: first && visibleMatchJson(first, foundOpToJson) }, [...cutoffLines, ...receiptLines(result, cutoff)]);
    });
}

/** A filter that names what to look for: a time range alone would pick the archive's first op. */
function beforeFirstFilter(text: string): OpFilter {
  const filter = compileOpFilter(parseOpFilterJson(text, '--before-first'), text);
  if (!filter.selective) throw new UsageError('--before-first needs ns, op, command or id in its filter', { hint: `e.g. ${FILTER_EXAMPLE}` });
  return filter;
}

function receiptLines(result: RestoreResult, cutoff: Cutoff | undefined): string[] {
  const lines = [
    `chain ${result.chainId}, window ${windowWords(result.restoreWindow)}: ${counted(result.objects, 'object')} (${counted(result.chunks, 'chunk')}), ${counted(result.storedBytes, 'byte')}`,
    cutoffLine(cutoff, result.windowEnd),
  ];
  if (result.dryRun) {
    // The dry run replayed the oplog into nothing (restore/dry-run.ts): its receipt is the restore's to come.
    const detail = result.receipt ? oplogReceiptLines(result.receipt, result.applyMode).slice(1) : [];
    return [...lines, `dry run: would apply ${counted(result.oplogEntries ?? 0, 'oplog entry', 'oplog entries')} (${result.applyMode}); nothing written`, ...detail];
  }
  if (result.base) lines.push(`base: ${counted(result.base.documents, 'document')} in ${counted(result.base.collections, 'collection')}`);
  if (result.receipt) lines.push(...oplogReceiptLines(result.receipt, result.applyMode));
  if (result.indexes !== undefined) lines.push(`indexes: ${counted(result.indexes, 'index', 'indexes')} built after replay`);
  if (result.auth) lines.push(`users and roles: ${counted(result.auth.users ?? 0, 'user')}, ${counted(result.auth.roles ?? 0, 'role')} merged`);
  return lines;
}

/**
 * The replay part of a receipt; `mongo-pitr replay` prints the same lines. Applied entries are
 * named as written to the target (after --nsFrom/--nsTo); the first entry not applied was never
 * renamed, so it is named as the source wrote it, and says so.
 */
export function oplogReceiptLines(receipt: ReplayReceipt, applyMode: string | undefined): string[] {
  const at = (ref: { ts: string; wall: string | null; ns: string; op: string } | null) =>
    ref ? `${ref.ts}${ref.wall ? ` (${ref.wall})` : ''} ${ref.op} ${ref.ns}` : 'none';
  const lines = [
    `oplog: ${counted(receipt.applied, 'entry', 'entries')} applied (${applyMode})`,
    `last applied: ${at(receipt.lastApplied)}`,
    `first not applied (at or after the cutoff): ${receipt.firstSkipped ? `${at(receipt.firstSkipped)}, as named in the source` : 'none'}`,
  ];
  for (const [ns, count] of Object.entries(receipt.appliedByNs)) lines.push(`  applied to ${ns}: ${count.toLocaleString('en')}`);
  for (const [reason, count] of Object.entries(receipt.skipped)) lines.push(`  skipped (${reason}): ${count.toLocaleString('en')}`);
  if (receipt.pendingTransactions > 0) lines.push(`  transactions without an archived commit: ${receipt.pendingTransactions}`);
  const prepared = receipt.preparedTransactions;
  if (prepared.committed + prepared.committedAtOrAfterCutoff + prepared.aborted > 0) {
    lines.push(`  prepared transactions decided: ${prepared.committed} committed before the cutoff (applied), ${prepared.committedAtOrAfterCutoff} committed at or after it, ${prepared.aborted} aborted`);
  }
  return lines;
}
