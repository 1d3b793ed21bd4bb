// mongo-pitr list / status: per source, what the store restores to and how healthy it is (the
// same text for both; status also warns about a public bucket, and with --uri says how far the
// archive lags the source now). The text is status-text.ts, the values archive/source-summary.ts;
// both from the manifest's head alone (issue 14: no index segment is read).
import type { Command } from 'commander';
import { formatWindow, windowOf } from '../../archive/chain-window.ts';
import { describeDamage, restorableExtent } from '../../archive/chain-health.ts';
import { baseCollectionCount, baseDocuments, chainChunkCount, chainEnd, chainOpCount, checkpointOf, newestChainOf, partialProgress, type Chain, type PendingBase } from '../../archive/manifest.ts';
import { encryptionOf, kmsKeysOf, summarizeSources, timePoint } from '../../archive/source-summary.ts';
import { redactUri } from '../../redact.ts';
import { statusLines } from '../status-text.ts';
import { describeSource } from '../../archive/source-choice.ts';
import { readHead } from '../../backup/commit.ts';
import { MANIFEST_KEY } from '../../archive/object-keys.ts';
import { readCommitPoint } from '../../source/commit-point.ts';
import { connectSource } from '../../source/connect-source.ts';
import { hasPublicAccessCheck } from '../../store/public-access-check.ts';
import { formatTs } from '../../timestamp.ts';
import { contextOf, sourceUriOf, withStore } from '../context.ts';
import { isClusterStore } from '../../cluster/cluster-committer.ts';
import { CLUSTER_MANIFEST_KEY } from '../../archive/cluster-manifest.ts';
import { clusterStatus, clusterStatusReport, describeClusterStatus } from '../../cluster/cluster-status.ts';

export function registerStatus(program: Command): void {
  for (const name of ['list', 'status']) {
    program
      .command(name)
      .description(name === 'list' ? 'what the store restores to, per source: window, gaps, newest base, health, chains' : 'as list, and how far the archive lags the source now (with --uri)')
      .option('--uri <uri>', 'source connection string, to report the lag (env MONGODB_URI)')
      .option('--verbose', 'also print the oplog position (seconds:ordinal) beside each time')
      .action(async (flags: { uri?: string; verbose?: boolean }, command: Command) => {
        const context = contextOf(command);
        // A cluster store (cluster.json at its root): the cluster window and each member's.
        const cluster = await withStore(context, async (store) => {
          if (!(await isClusterStore(store))) return undefined;
          if (name === 'status' && hasPublicAccessCheck(store)) for (const warning of await store.publicAccessWarnings(CLUSTER_MANIFEST_KEY)) context.log.warn(warning);
          return clusterStatus(store);
        });
        if (cluster) return context.output.result({ type: name, ...clusterStatusReport(cluster) }, describeClusterStatus(cluster));
        const { manifest, storeUrl } = await withStore(context, async (store) => {
          // A bucket anyone can read holds every document of the cluster: say so on every status.
          if (name === 'status' && hasPublicAccessCheck(store)) for (const warning of await store.publicAccessWarnings(MANIFEST_KEY)) context.log.warn(warning);
          // Format 2: the head alone (a summary of the sealed chunks is kept there).
          return { ...(await readHead(store)), storeUrl: store.url };
        });
        const nowMs = Date.now();
        const chains = manifest.chains.map(describeChain);
        let lagSeconds: number | undefined;
        let liveLag: { seconds: number; setName: string; replicaSetId: string | null } | undefined;
        const newest = manifest.chains.at(-1);
        if (name === 'status' && newest && (flags.uri || process.env.MONGODB_URI)) {
          const source = await connectSource(sourceUriOf(context, flags.uri));
          try {
            // The lag of this source's own chain: another shard's says nothing about it.
            const own = newestChainOf(manifest, source.identity);
            const point = await readCommitPoint(source.client, source.readPreference);
            if (point.ts && own) {
              lagSeconds = Math.max(0, point.ts.t - checkpointOf(own).t);
              liveLag = { seconds: lagSeconds, ...source.identity };
            }
          } finally {
            await source.client.close();
          }
        }
        const sources = summarizeSources(manifest, nowMs);
        // A base a deadline cut short: the next run resumes it.
        const pendingBases = (manifest.pendingBases ?? []).map((pending) => ({
          id: pending.id,
          setName: pending.source.setName,
          replicaSetId: pending.source.replicaSetId,
          startedAt: pending.startedAt,
          startTs: timePoint(pending.startTs),
          collectionsStored: baseCollectionCount(pending),
          ...partialOf(pending),
        }));
        const stdout = process.stdout;
        const lines = statusLines(redactUri(storeUrl), sources, pendingBases, liveLag, {
          nowMs,
          columns: stdout.isTTY && stdout.columns ? stdout.columns : 80,
          verbose: flags.verbose === true,
        });
        // --json (one object on stdout):
        //   type: 'status' | 'list'; store: the store URL (credentials redacted); now: ISO;
        //   sources: SourceSummary[] (archive/source-summary.ts): per source setName, replicaSetId,
        //     hosts + hostsSeenAt, window {from, to, endAgeSeconds}, gaps [{from, to, seconds}],
        //     newestBase {chainId, finishedAt, ageSeconds, end, documents, collections, bytes},
        //     lag {seconds, asOf, asOfAgeSeconds}, health {damaged, damage, verifiedAt,
        //     verifiedAgeSeconds}, encryption, chains [...], timeline [{kind, from, to}];
        //     every timestamp {t, i, iso, wall}, ages in seconds, sizes in bytes;
        //   chains: one per chain as before (window and checkpoint as display strings) plus
        //     restoreWindow {from, to} and checkpointTs as timestamps;
        //   pendingBases; lagSeconds and liveLag {seconds, setName, replicaSetId} with --uri.
        // test/e2e/status.test.ts and test/unit/cli/status-text.test.ts read this shape.
        context.output.result({ type: name, store: redactUri(storeUrl), now: new Date(nowMs).toISOString(), sources, chains, pendingBases, lagSeconds, ...(liveLag && { liveLag }) }, lines);
      });
  }
}

/**
 * One chain in --json, as before (window and checkpoint as display strings, kept for scripts
 * written against them) and the same as structured values: timestamps as {t, i, iso, wall},
 * sizes in bytes.
 */
function describeChain(chain: Chain) {
  const window = windowOf(chain);
  return {
    id: chain.id,
    setName: chain.source.setName,
    replicaSetId: chain.source.replicaSetId,
    sourceName: describeSource(chain.source),
    documents: baseDocuments(chain.base),
    // From the head alone (format 2 keeps a summary of the sealed chunks there).
    chunks: chainChunkCount(chain),
    ops: chainOpCount(chain),
    window: formatWindow(window),
    restoreWindow: { from: timePoint(window.from, window.fromWall), to: timePoint(window.to, window.toWall) },
    checkpoint: formatTs(checkpointOf(chain)),
    checkpointTs: timePoint(checkpointOf(chain), chainEnd(chain).lastWall),
    encryption: encryptionOf(chain),
    kmsKeys: kmsKeysOf(chain),
    ...(chain.damage && { damage: chain.damage, damaged: describeDamage(chain), restorable: restorableExtent(chain).kind }),
    ...(chain.verifiedAt && { verifiedAt: chain.verifiedAt }),
  };
}

/** A pending base's collections part way through, for status (absent: none). */
function partialOf(pending: PendingBase): { partial?: NonNullable<ReturnType<typeof partialProgress>> } {
  const partial = partialProgress(pending);
  return partial ? { partial } : {};
}
