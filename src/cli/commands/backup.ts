// mongo-pitr backup: take a base backup now.
import type { Command } from 'commander';
import { backupBase } from '../../backup/run-due.ts';
import { parsePositiveInt } from '../../config.ts';
import { contextOf, stopSignal, withSourceAndStore } from '../context.ts';
import { counted } from '../receipt-text.ts';

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('take a base backup now: every collection, then the oplog written meanwhile')
    .option('--uri <uri>', 'source replica set connection string (env MONGODB_URI)')
    .option('--include-auth', 'also back up users and roles (admin.system.users/roles)')
    .option('--concurrency <n>', 'collections dumped at once', '4')
    .action(async (flags: { uri?: string; includeAuth?: boolean; concurrency: string }, command: Command) => {
      const context = contextOf(command);
      const concurrency = parsePositiveInt(flags.concurrency, '--concurrency');
      const summary = await withSourceAndStore(context, flags.uri, (source, store) => {
        context.log.event('backup.start', `base backup of ${source.identity.setName} (${source.uri}) into ${store.url}`);
        let collections = 0;
        let documents = 0;
        let total: number | undefined;
        // The bar counts documents against the source's estimate (percent, rate, ETA); without
        // an estimate, collections. The estimate may fall short (writes during the dump): the bar
        // then waits at 99% rather than ending before the last collection is stored.
        let estimate: number | null = null;
        let dumped = 0;
        const draw = (): void => {
          if (estimate === null) return context.log.progress('dump', collections, total, `collections, ${counted(documents, 'document')}`);
          const done = total !== undefined && collections >= total;
          const of = `documents, ${collections.toLocaleString('en')}/${counted(total ?? 0, 'collection')}`;
          context.log.progress('dump', dumped, done ? dumped : Math.max(estimate, dumped + 1), of);
        };
        return backupBase({
          source,
          store,
          concurrency,
          includeAuth: flags.includeAuth,
          signal: stopSignal(),
          onStage: (stage, message, count) => {
            if (stage === 'dump') total = count;
            context.log.status(`backup.${stage}`, message);
          },
          onDumpPlan: (plan) => {
            estimate = plan.estimatedDocuments;
            total = plan.collections;
          },
          onDocument: () => {
            dumped++;
            draw();
          },
          onCollection: (entry) => {
            documents += entry.docs;
            collections++;
            context.log.event('backup.collection', `${entry.db}.${entry.coll}: ${counted(entry.docs, 'document')}`, { ns: `${entry.db}.${entry.coll}`, docs: entry.docs });
            draw();
          },
        });
      });
      context.output.result({ type: 'backup', ...summary }, [
        `base ${summary.chainId}: ${counted(summary.documents, 'document')} in ${counted(summary.collections, 'collection')}, ` +
          `${counted(summary.oplogOps, 'oplog entry', 'oplog entries')} ${summary.startTs} .. ${summary.endTs}, ${counted(summary.storedBytes, 'byte')} stored`,
      ]);
    });
}
