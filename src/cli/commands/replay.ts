// mongo-pitr replay: applies one raw oplog file (concatenated BSON, plain or gzip: an
// oplog.bson from mongodump --oplog, a chunk downloaded from the store) to a target, like
// `mongorestore --oplogReplay --oplogFile <file>`, with restore's engine: the same cutoff
// (--until), namespace flags, transaction handling, appliers and receipt.
import { stat } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { Ciphers } from '../../crypt/store-cipher.ts';
import { plainFileOf } from '../../crypt/decrypt-file.ts';
import { UsageError } from '../../errors.ts';
import { compileNamespaceMapper, type NamespaceOptions } from '../../restore/namespace-mapper.ts';
import { replay, type ReplayReceipt } from '../../restore/replay.ts';
import { serialNamespacesOfTarget } from '../../restore/serial-namespaces.ts';
import type { ApplyStats } from '../../target/applier.ts';
import { APPLY_MODES, openTarget, type ApplyMode } from '../../target/open-target.ts';
import { parseCutoff, type Cutoff } from '../../timestamp.ts';
import { cipherOfContext, contextOf, stopSignal } from '../context.ts';
import { cutoffLine } from '../receipt-text.ts';
import { RESTORE_STOP, SKIP_UNKNOWN_HELP, oplogReceiptLines } from './restore.ts';

interface ReplayFlags {
  to?: string;
  oplogFile?: string;
  until?: string;
  applyMode: ApplyMode;
  nsInclude: string[];
  nsExclude: string[];
  nsFrom: string[];
  nsTo: string[];
  skipUnknownCommands?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('apply a raw oplog file (plain or gzip) to a cluster, as mongorestore --oplogReplay --oplogFile does')
    .option('--to <uri>', 'target connection string')
    .option('--oplogFile <file>', 'the oplog file: concatenated BSON entries in ts order, plain or gzip')
    .option('--until <time>', 'cutoff: ISO-8601 time, epoch seconds, or seconds:ordinal; ops at or after it are not applied')
    .addOption(new Option('--apply-mode <mode>', 'how to replay').choices(APPLY_MODES).default('auto'))
    .option('--nsInclude <pattern>', 'only these namespaces (mongorestore syntax, repeatable)', collect, [])
    .option('--nsExclude <pattern>', 'not these namespaces (repeatable)', collect, [])
    .option('--nsFrom <pattern>', 'rename namespaces from (with --nsTo, repeatable)', collect, [])
    .option('--nsTo <pattern>', 'rename namespaces to (with --nsFrom, repeatable)', collect, [])
    .option('--skip-unknown-commands', SKIP_UNKNOWN_HELP)
    .action(async (flags: ReplayFlags, command: Command) => {
      const context = contextOf(command);
      if (!flags.to) throw new UsageError('replay needs --to <uri>');
      if (!flags.oplogFile) throw new UsageError('replay needs --oplogFile <file>');
      const result = await replayOplogFile({
        targetUri: flags.to,
        file: flags.oplogFile,
        cipher: await cipherOfContext(context),
        cutoff: flags.until ? parseCutoff(flags.until) : undefined,
        applyMode: flags.applyMode,
        namespaces: { include: flags.nsInclude, exclude: flags.nsExclude, from: flags.nsFrom, to: flags.nsTo },
        skipUnknownCommands: flags.skipUnknownCommands ?? false,
        signal: stopSignal(RESTORE_STOP),
        onProgress: (applied) => context.log.progress('replay', applied, undefined, 'entries applied'),
      });
      const cutoff = flags.until ? parseCutoff(flags.until) : undefined;
      const cutoffText = cutoff ? cutoffLine(cutoff, undefined) : 'cutoff: none, every entry of the file is applied';
      context.output.result({ type: 'replay', ...result }, [cutoffText, ...oplogReceiptLines(result.receipt, result.applyMode)]);
    });
}

export interface ReplayOplogFileOptions {
  readonly targetUri: string;
  readonly file: string;
  readonly cutoff?: Cutoff;
  readonly applyMode?: ApplyMode;
  readonly namespaces?: NamespaceOptions;
  readonly skipUnknownCommands?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (applied: number) => void;
  /** Identities for a file that is an encrypted chunk copied out of the store. */
  readonly cipher?: Ciphers;
}

export interface ReplayOplogFileResult {
  readonly file: string;
  readonly applyMode: string;
  readonly receipt: ReplayReceipt;
  readonly stats: ApplyStats;
}

/** The use case behind the command: open the target, replay the file, close. */
export async function replayOplogFile(options: ReplayOplogFileOptions): Promise<ReplayOplogFileResult> {
  const info = await stat(options.file).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`--oplogFile ${options.file}: no such file`);
  const namespaces = compileNamespaceMapper(options.namespaces ?? {});
  const plain = await plainFileOf(options.file, options.cipher, options.signal);
  try {
    const target = await openTarget(options.targetUri, options.applyMode);
    try {
      const receipt = await replay({
        applier: target.applier,
        files: [plain.path],
        cutoff: options.cutoff,
        namespaces,
        skipUnknownCommands: options.skipUnknownCommands,
        // No base here: the collections the oplog continues are the target's.
        serialNamespaces: await serialNamespacesOfTarget(target.client),
        signal: options.signal,
        onProgress: options.onProgress,
      });
      return { file: options.file, applyMode: target.applier.mode, receipt, stats: target.applier.stats };
    } finally {
      await target.client.close();
    }
  } finally {
    await plain.dispose();
  }
}
