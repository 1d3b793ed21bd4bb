// mongo-pitr backup: take a base backup now.
import { pointWords } from '../../archive/window-words.ts';
import type { Command } from 'commander';
import { backupBase, DEFAULT_LIMITS } from '../../backup/run-due.ts';
import { clusterRunOf, runClusterCommand, type ClusterRunFlags } from './cluster-run.ts';
import { parsePositiveInt } from '../../config.ts';
import { DEFAULT_PIECE_BYTES, pieceBytesOf } from '../../backup/dump-pieces.ts';
import { contextOf, stopSignal, withSourceAndStore } from '../context.ts';
import { counted } from '../receipt-text.ts';
import { dumpProgress } from '../dump-progress.ts';

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('take a base backup now: every collection, then the oplog written meanwhile')
    .option('--uri <uri>', 'source replica set connection string (env MONGODB_URI)')
    .option('--include-auth', 'also back up users and roles (admin.system.users/roles)')
    .option('--concurrency <n>', 'collections dumped at once', '4')
    .option('--piece-size <MiB>', 'a large collection is stored, and resumed after a stop, in pieces of this many MiB of documents', String(DEFAULT_PIECE_BYTES / (1024 * 1024)))
    .option('--topology <file>', 'a sharded cluster described by a JSON file, as for run: a cluster base now, every member at once')
    .option('--allow-balancer', 'take the cluster base even when the balancer runs and no mongos can stop it')
    .action(async (flags: ClusterRunFlags & { uri?: string; includeAuth?: boolean; concurrency: string; pieceSize: string }, command: Command) => {
      const context = contextOf(command);
      const concurrency = parsePositiveInt(flags.concurrency, '--concurrency');
      const pieceBytes = pieceBytesOf(flags.pieceSize, '--piece-size');
      // A sharded cluster (a topology file, or a mongos at --uri): the cluster pass, with a
      // cluster base now (cluster-run.ts), each member's bar on a row of its own.
      const cluster = await clusterRunOf(context, flags);
      if (cluster) return runClusterCommand(context, cluster, { limits: DEFAULT_LIMITS, compact: false, allowBalancer: flags.allowBalancer === true, baseNow: true, command: 'backup' });
      const summary = await withSourceAndStore(context, flags.uri, (source, store) => {
        context.log.event('backup.start', `base backup of ${source.identity.setName} (${source.uri}) into ${store.url}`);
        const progress = dumpProgress(context.log);
        return backupBase({
          source,
          store,
          concurrency,
          pieceBytes,
          includeAuth: flags.includeAuth,
          signal: stopSignal(),
          onStage: (stage, message, count) => {
            progress.stage(stage, count);
            context.log.status(`backup.${stage}`, message);
          },
          onDumpPlan: (plan) => progress.plan(plan),
          onDocument: () => progress.document(),
          onCollection: (entry) => {
            context.log.event('backup.collection', `${entry.db}.${entry.coll}: ${counted(entry.docs, 'document')}`, { ns: `${entry.db}.${entry.coll}`, docs: entry.docs });
            progress.collection(entry);
          },
        });
      });
      context.output.result({ type: 'backup', ...summary }, [
        `base ${summary.chainId}: ${counted(summary.documents, 'document')} in ${counted(summary.collections, 'collection')}, ` +
          `${counted(summary.oplogOps, 'oplog entry', 'oplog entries')} from ${pointWords(summary.start)} to ${pointWords(summary.end)}, ${counted(summary.storedBytes, 'byte')} stored`,
      ]);
    });
}
