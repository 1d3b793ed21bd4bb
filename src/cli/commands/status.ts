// mongo-pitr list / status: the chains in the store, what each restores to, and the newest
// checkpoint; with --uri, also how far the archive lags the source.
import type { Command } from 'commander';
import { formatWindow, windowOf } from '../../archive/chain-window.ts';
import { describeDamage, restorableExtent } from '../../archive/chain-health.ts';
import { chainChunkCount, chainOpCount, checkpointOf, newestChainOf, type Chain } from '../../archive/manifest.ts';
import { describeSource } from '../../archive/source-choice.ts';
import { readHead } from '../../backup/commit.ts';
import { MANIFEST_KEY } from '../../archive/object-keys.ts';
import { readCommitPoint } from '../../source/commit-point.ts';
import { connectSource } from '../../source/connect-source.ts';
import { hasPublicAccessCheck } from '../../store/public-access-check.ts';
import { formatTs } from '../../timestamp.ts';
import { contextOf, sourceUriOf, withStore } from '../context.ts';
import { isClusterStore } from '../../cluster/cluster-committer.ts';
import { clusterStatus, clusterStatusReport, describeClusterStatus } from '../../cluster/cluster-status.ts';

export function registerStatus(program: Command): void {
  for (const name of ['list', 'status']) {
    program
      .command(name)
      .description(name === 'list' ? 'list chains and their restorable windows' : 'chains, windows, newest checkpoint, and lag behind the source (with --uri)')
      .option('--uri <uri>', 'source connection string, to report the lag (env MONGODB_URI)')
      .action(async (flags: { uri?: string }, command: Command) => {
        const context = contextOf(command);
        // A cluster store (cluster.json at its root): the cluster window and each member's.
        const cluster = await withStore(context, async (store) => ((await isClusterStore(store)) ? clusterStatus(store) : undefined));
        if (cluster) return context.output.result({ type: name, ...clusterStatusReport(cluster) }, describeClusterStatus(cluster));
        const { manifest } = await withStore(context, async (store) => {
          // A bucket anyone can read holds every document of the cluster: say so on every status.
          if (name === 'status' && hasPublicAccessCheck(store)) for (const warning of await store.publicAccessWarnings(MANIFEST_KEY)) context.log.warn(warning);
          // Format 2: the head alone (a summary of the sealed chunks is kept there).
          return readHead(store);
        });
        const chains = manifest.chains.map(describeChain);
        let lagSeconds: number | undefined;
        const newest = manifest.chains.at(-1);
        if (name === 'status' && newest && (flags.uri || process.env.MONGODB_URI)) {
          const source = await connectSource(sourceUriOf(context, flags.uri));
          try {
            // The lag of this source's own chain: another shard's says nothing about it.
            const own = newestChainOf(manifest, source.identity);
            const point = await readCommitPoint(source.client, source.readPreference);
            if (point.ts && own) lagSeconds = Math.max(0, point.ts.t - checkpointOf(own).t);
          } finally {
            await source.client.close();
          }
        }
        const lines = chains.length === 0 ? ['no backups in this store yet'] : chains.flatMap((chain) => [
          `${chain.id}  ${chain.sourceName}  base ${chain.documents} docs, ${chain.chunks} chunks (${chain.ops} ops)  window ${chain.window}` +
            (chain.encryption === 'none' ? '' : `  encrypted: ${chain.encryption}`),
          ...(chain.damaged ? [`  ${chain.damaged}`] : []),
        ]);
        if (newest) lines.push(`newest checkpoint: ${formatTs(checkpointOf(newest))}${lagSeconds !== undefined ? `, ${lagSeconds}s behind the source` : ''}`);
        // A base a deadline cut short: the next run resumes it.
        const pendingBases = (manifest.pendingBases ?? []).map((pending) => ({
          id: pending.id,
          setName: pending.source.setName,
          startedAt: pending.startedAt,
          collectionsStored: pending.collections.length,
        }));
        for (const pending of pendingBases) {
          lines.push(`pending base ${pending.id} (${pending.setName}), started ${pending.startedAt}: ${pending.collectionsStored} collections stored, resumed by the next run`);
        }
        context.output.result({ type: name, chains, pendingBases, lagSeconds }, lines);
      });
  }
}

function describeChain(chain: Chain) {
  return {
    id: chain.id,
    setName: chain.source.setName,
    replicaSetId: chain.source.replicaSetId,
    sourceName: describeSource(chain.source),
    documents: chain.base.collections.reduce((sum, entry) => sum + entry.docs, 0),
    // From the head alone (format 2 keeps a summary of the sealed chunks there).
    chunks: chainChunkCount(chain),
    ops: chainOpCount(chain),
    window: formatWindow(windowOf(chain)),
    checkpoint: formatTs(checkpointOf(chain)),
    encryption: encryptionOf(chain),
    ...(chain.damage && { damage: chain.damage, damaged: describeDamage(chain), restorable: restorableExtent(chain).kind }),
    ...(chain.verifiedAt && { verifiedAt: chain.verifiedAt }),
  };
}

/** "age" when every object is encrypted, "mixed" when some are (encryption turned on or off), else "none". */
function encryptionOf(chain: Chain): 'age' | 'mixed' | 'none' {
  const objects = [...chain.base.collections.flatMap((entry) => (entry.data ? [entry.metadata, entry.data] : [entry.metadata])), chain.base.oplog, ...chain.chunks];
  const encrypted = objects.filter((object) => object.encryption !== undefined).length;
  return encrypted === 0 ? 'none' : encrypted === objects.length ? 'age' : 'mixed';
}
