// mongo-pitr export: writes the state the chain restores to (at --until, or its end) as a
// mongodump folder, for `mongorestore --oplogReplay <dir>`.
import { windowWords } from '../../archive/window-words.ts';
import type { Command } from 'commander';
import { exportDump } from '../../interop/export-dump.ts';
import { parseCutoff } from '../../timestamp.ts';
import { contextOf, stopSignal, withStore } from '../context.ts';
import { addSourceChoiceOptions, sourceChoiceOf, type SourceChoiceFlags } from '../source-choice-options.ts';
import { counted } from '../receipt-text.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerExport(program: Command): void {
  const registered = program
    .command('export')
    .description('write a mongodump folder (collections + oplog.bson) that mongorestore --oplogReplay restores to --until')
    .argument('<dir>', 'the folder to create (new, or empty)')
    .option('--until <time>', 'cutoff: ISO-8601 time, epoch seconds, or seconds:ordinal; ops at or after it are left out')
    .option('--nsInclude <pattern>', 'only these namespaces, collections and oplog entries alike (mongorestore syntax, repeatable)', collect, [])
    .option('--nsExclude <pattern>', 'not these namespaces (repeatable)', collect, []);
  addSourceChoiceOptions(registered)
    .action(async (dir: string, flags: { until?: string; nsInclude: string[]; nsExclude: string[] } & SourceChoiceFlags, command: Command) => {
      const context = contextOf(command);
      const cutoff = flags.until ? parseCutoff(flags.until) : undefined;
      const result = await withStore(context, (store) =>
        exportDump({
          store,
          dir,
          cutoff,
          source: sourceChoiceOf(flags),
          namespaces: { include: flags.nsInclude, exclude: flags.nsExclude },
          signal: stopSignal(),
          onCollection: (ns, docs) => context.log.event('export.collection', `${ns}: ${counted(docs, 'document')}`),
        }),
      );
      context.output.result({ type: 'export', ...result }, [
        `exported chain ${result.chainId} (window ${windowWords(result.restoreWindow)}) to ${result.dir}: ` +
          `${counted(result.documents, 'document')} in ${counted(result.collections, 'collection')}, ${counted(result.oplogEntries, 'oplog entry', 'oplog entries')}` +
          (result.lastEntry ? ` up to ${result.lastEntry}` : ''),
        `first entry left out: ${result.firstLeftOut ?? 'none'}`,
        `restore it with: mongorestore --oplogReplay ${result.dir}`,
      ]);
    });
}
