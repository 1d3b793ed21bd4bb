// mongo-pitr import: stores a mongodump --oplog output (folder, --gzip folder or --archive
// file) as the base of a new chain. The chain belongs to the replica set named by --set-name
// (and --replica-set-id), or read from the set itself with --uri: `mongo-pitr oplog` against
// that set then appends chunks to the imported chain, from the dump's last oplog entry.
import { tsWords } from '../../archive/window-words.ts';
import { timePoint } from '../../archive/source-summary.ts';
import type { Command } from 'commander';
import { parsePositiveInt } from '../../config.ts';
import { UsageError } from '../../errors.ts';
import { importDump } from '../../interop/import-dump.ts';
import type { SourceIdentity } from '../../archive/manifest.ts';
import { baseCollectionCount, baseDocuments } from '../../archive/manifest.ts';
import { formatTs, type Ts } from '../../timestamp.ts';
import { contextOf, sourceOf, stopSignal, withStore, type Context } from '../context.ts';
import { counted } from '../receipt-text.ts';

interface ImportFlags {
  setName?: string;
  replicaSetId?: string;
  uri?: string;
  startTs?: string;
  endTs?: string;
  concurrency: string;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('store a mongodump --oplog folder (plain or --gzip) or --archive file as a new chain\'s base')
    .argument('<path>', 'the folder mongodump wrote, or its --archive file (plain or gzip)')
    .option('--set-name <name>', 'replica set the dump was taken from: later `mongo-pitr oplog` runs against it extend this chain')
    .option('--replica-set-id <id>', 'with --set-name: the set\'s rs.conf().settings.replicaSetId (hex); leave out where the server has none')
    .option('--uri <uri>', 'instead of --set-name: read the set name and replicaSetId from this replica set')
    .option('--start-ts <secs:ordinal>', 'for a dump without an oplog: T0, the newest op before the dump started')
    .option('--end-ts <secs:ordinal>', 'for a dump without an oplog: T1, an op the source oplog still holds, where `oplog` continues')
    .option('--concurrency <n>', 'collections stored at once', '4')
    .action(async (path: string, flags: ImportFlags, command: Command) => {
      const context = contextOf(command);
      const startTs = flags.startTs === undefined ? undefined : parseTsFlag(flags.startTs, '--start-ts');
      const endTs = flags.endTs === undefined ? undefined : parseTsFlag(flags.endTs, '--end-ts');
      const concurrency = parsePositiveInt(flags.concurrency, '--concurrency');
      const source = await identityOf(context, flags);
      const result = await withStore(context, (store) =>
        importDump({
          store,
          path,
          source,
          startTs,
          endTs,
          concurrency,
          signal: stopSignal(),
          onCollection: (entry) => context.log.event('import.collection', `${entry.db}.${entry.coll}: ${counted(entry.docs, 'document')}`),
        }),
      );
      for (const warning of result.warnings) context.log.warn(warning);
      const { chain } = result;
      const base = chain.base;
      const documents = baseDocuments(base);
      const collections = baseCollectionCount(base);
      const lines = [
        `imported ${result.format} ${path} as chain ${chain.id}: ${counted(documents, 'document')} in ${counted(collections, 'collection')}, ` +
          `${counted(base.oplog.count, 'oplog entry', 'oplog entries')} from ${tsWords(base.startTs)} to ${tsWords(base.endTs)}`,
        `source ${describeSource(chain.source)}: mongo-pitr oplog against it continues from ${tsWords(base.endTs)}`,
      ];
      if (result.skipped.length > 0) lines.push(`left out (server namespaces): ${result.skipped.join(', ')}`);
      context.output.result({ type: 'import', chainId: chain.id, format: result.format, documents, collections,
        oplogEntries: base.oplog.count, startTs: formatTs(base.startTs), endTs: formatTs(base.endTs), start: timePoint(base.startTs), end: timePoint(base.endTs), source: chain.source,
        skipped: result.skipped, warnings: result.warnings }, lines);
    });
}

async function identityOf(context: Context, flags: ImportFlags): Promise<SourceIdentity> {
  if (flags.setName !== undefined && flags.uri !== undefined) throw new UsageError('give --set-name or --uri, not both');
  if (flags.setName !== undefined) {
    if (flags.setName.trim() === '') throw new UsageError('--set-name: empty name');
    return { setName: flags.setName, replicaSetId: flags.replicaSetId ?? null };
  }
  if (flags.replicaSetId !== undefined) throw new UsageError('--replica-set-id goes with --set-name');
  if (flags.uri === undefined) {
    throw new UsageError('import needs --set-name <name> (or --uri <replica set>): the chain belongs to that replica set', {
      hint: 'chunks archived by mongo-pitr oplog only extend a chain of the same replica set',
    });
  }
  const source = await sourceOf(context, flags.uri);
  await source.client.close();
  return source.identity;
}

function describeSource(source: SourceIdentity): string {
  return source.replicaSetId ? `${source.setName} (replicaSetId ${source.replicaSetId})` : source.setName;
}

/** "secs:ordinal", as mongorestore's --oplogLimit writes a timestamp. */
function parseTsFlag(text: string, flag: string): Ts {
  const match = /^(\d+):(\d+)$/.exec(text.trim());
  const t = Number(match?.[1]);
  const i = Number(match?.[2]);
  if (!match || t > 0xffffffff || i > 0xffffffff) throw new UsageError(`${flag} ${text}: expected secs:ordinal, e.g. 1700000000:1`);
  return { t, i };
}
