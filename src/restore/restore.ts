// The restore use case: read the manifest, plan (chain, window, objects), download and verify
// every object before touching the target, load the base, replay the oplog to the cutoff, and
// return a receipt.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planRestore, formatWindow, verifyContinuity, type RestorePlan } from '../archive/chain-window.ts';
import { windowPoints, windowWords, type WindowPoints } from '../archive/window-words.ts';
import type { SourceChoice } from '../archive/source-choice.ts';
import { readManifest } from '../backup/commit.ts';
import type { Store } from '../store/store.ts';
import { formatTs, type Cutoff } from '../timestamp.ts';
import { openTarget, type ApplyMode } from '../target/open-target.ts';
import type { ApplyStats } from '../target/applier.ts';
import { AuthRestore, type AuthRestoreResult } from './auth-restore.ts';
import { namedBase } from '../archive/opaque-base.ts';
import { baseObjectsOf, downloadObjects, localMetadataReader, objectsOf } from './download-chain.ts';
import { ChunkFeed } from './chunk-feed.ts';
import { checkKeys } from '../crypt/key-check.ts';
import { loadBase, type LoadBaseResult } from './load-base.ts';
import { IndexCatalog } from './index-catalog.ts';
import { DeferredIndexApplier } from './deferred-index-applier.ts';
import { buildIndexes } from './build-indexes.ts';
import { compileNamespaceMapper, type NamespaceOptions } from './namespace-mapper.ts';
import { replay, type ReplayReceipt } from './replay.ts';
import { serialNamespacesOfBase } from './serial-namespaces.ts';
import { dryRunReplay } from './dry-run.ts';
import { refuseUndecidedPrepares } from './prepare-scan.ts';
import { checkPreserveUuidOptions, decidePreserveUuid, type PreserveUuid } from './preserve-uuid.ts';
import { refuseSourceClusterAt } from './source-cluster-guard.ts';
import { createWorkFolder } from './work-folder.ts';
import { counted } from '../words.ts';

export interface RestoreOptions {
  readonly store: Store;
  readonly targetUri: string;
  readonly cutoff?: Cutoff;
  /** Which source's chains, where the store holds several (--set-name, --replica-set-id). */
  readonly source?: SourceChoice;
  readonly drop?: boolean;
  /** Create collections with their source UUIDs (restore/preserve-uuid.ts). */
  readonly preserveUuid?: PreserveUuid;
  /**
   * Refuse a target that is the replica set the chain backs up (source-cluster-guard.ts), unless
   * namespaces are renamed. The CLI sets it unless --force; library callers choose.
   */
  readonly refuseSourceCluster?: boolean;
  readonly dryRun?: boolean;
  readonly applyMode?: ApplyMode;
  readonly namespaces?: NamespaceOptions;
  readonly concurrency?: number;
  /** Skip commands replay does not know instead of failing (replay.ts). */
  readonly skipUnknownCommands?: boolean;
  readonly workDir?: string;
  /** Disk the oplog objects may take ahead of replay (chunk-feed.ts DEFAULT_AHEAD_BYTES). */
  readonly downloadAheadBytes?: number;
  readonly signal?: AbortSignal;
  readonly onStage?: (stage: string, detail: string) => void;
  /** How far a stage is: `download` objects, `load` collections, `replay` entries applied. */
  readonly onProgress?: (stage: 'download' | 'load' | 'replay', done: number, total?: number) => void;
}

export interface RestoreResult {
  readonly chainId: string;
  /** The window, positions first (kept for scripts that read it); restoreWindow structured. */
  readonly window: string;
  readonly restoreWindow: WindowPoints;
  readonly objects: number;
  readonly chunks: number;
  readonly storedBytes: number;
  readonly dryRun: boolean;
  /**
   * A dry run: the oplog entries replay would apply (restore/dry-run.ts replays into an applier
   * that writes nothing; `receipt` and `stats` are that replay's).
   */
  readonly oplogEntries?: number;
  /** The newest chain's end, what a restore without a cutoff restores to (secs:ordinal). */
  readonly windowEnd?: { readonly ts: string; readonly wall: string | null };
  readonly applyMode?: string;
  /** What the base load did (its index specs are in `indexes`' count, built after replay). */
  readonly base?: Omit<LoadBaseResult, 'indexes'>;
  readonly receipt?: ReplayReceipt;
  readonly stats?: ApplyStats;
  /** Users and roles merged into the target's (restore/auth-restore.ts), when the base has them. */
  readonly auth?: AuthRestoreResult;
  /** Secondary indexes built after replay. */
  readonly indexes?: number;
}

export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  const namespaces = compileNamespaceMapper(options.namespaces ?? {});
  const { manifest } = await readManifest(options.store);
  const plan = planRestore(manifest, options.cutoff, options.source);
  const summary = describePlan(plan);
  const renamed = (options.namespaces?.from?.length ?? 0) > 0;
  checkPreserveUuidOptions(options.preserveUuid, { drop: options.drop ?? false, renamed });
  options.onStage?.('plan', `chain ${plan.chain.id}, window ${windowWords(summary.restoreWindow)}, ${counted(summary.objects, 'object')} (${counted(summary.chunks, 'chunk')})`);
  if (options.dryRun) {
    const dry = await dryRunReplay({ ...options, plan, namespaces, onProgress: (read, total) => options.onProgress?.('replay', read, total) });
    return { ...summary, dryRun: true, oplogEntries: dry.receipt.applied, applyMode: dry.applyMode, receipt: dry.receipt, stats: dry.stats };
  }

  // Before any download. Renamed namespaces land beside the originals: a common, safe way onto the source.
  if (options.refuseSourceCluster && (options.namespaces?.from?.length ?? 0) === 0) await refuseSourceClusterAt(options.targetUri, plan.chain);
  // Every key the plan needs, proved before a folder or the target is touched (crypt/key-check.ts).
  await checkKeys(options.store, objectsOf(plan), options.signal);
  // A chain without undecided-prepare records: a cutoff past an undecided prepare is found here,
  // before the target is touched, not at the end of replay (prepare-scan.ts).
  await refuseUndecidedPrepares(options.store, plan, options.signal);
  const work = await createWorkFolder(options.workDir ?? tmpdir());
  const dir = work.path;
  let feed: ChunkFeed | undefined;
  let decisionFeed: ChunkFeed | undefined;
  try {
    let downloaded = 0;
    const onObject = () => options.onProgress?.('download', ++downloaded, summary.objects);
    verifyContinuity(plan.chain);
    // The oplog objects download ahead in parallel (chunk-feed.ts) while the base downloads and
    // loads; a window that fits the feed's disk budget is verified whole before the target is
    // touched, a longer one replays while the rest downloads.
    feed = new ChunkFeed(options.store, [plan.base.oplog, ...plan.chunks], dir, { signal: options.signal, onObject, aheadBytes: options.downloadAheadBytes });
    const files = await downloadObjects(options.store, baseObjectsOf(plan), dir, { concurrency: options.concurrency, signal: options.signal, onObject });
    // An encrypted base names its collections only inside their (now decrypted) metadata objects.
    const named = await namedBase(plan.base, localMetadataReader(files));
    if (feed.fitsAhead) {
      await feed.allFetched();
      options.onStage?.('verified', `${counted(summary.objects, 'object')} downloaded and verified`);
    } else {
      options.onStage?.('verified', `${files.size} base objects verified; ${plan.chunks.length + 1} oplog objects replay as they download, each verified`);
    }
    const target = await openTarget(options.targetUri, options.applyMode);
    let auth: AuthRestore | undefined;
    try {
      // Before any write: a target that cannot take the source UUIDs refuses --preserve-uuid here.
      const preserveUuid = decidePreserveUuid(options.preserveUuid, { drop: options.drop ?? false, renamed, applyMode: target.applier.mode });
      // Before any write: a target that cannot merge users and roles refuses the restore here.
      auth = await AuthRestore.start({ client: target.client, base: named, files, namespaces, drop: options.drop ?? false, signal: options.signal });
      let loaded = 0;
      const collections = named.collections.filter((entry) => entry.type !== 'view').length;
      const base = await loadBase({
        client: target.client,
        base: named,
        files,
        namespaces,
        drop: options.drop ?? false,
        preserveUuid,
        concurrency: options.concurrency,
        signal: options.signal,
        onCollection: () => options.onProgress?.('load', ++loaded, collections),
      });
      options.onStage?.('base', `${counted(base.documents, 'document')} in ${counted(base.collections, 'collection')}`);
      // Secondary indexes wait for the end of replay (index-catalog.ts): the base's, and those
      // the oplog creates, changes or drops on the way.
      const catalog = new IndexCatalog();
      const { indexes: baseIndexes, ...baseSummary } = base;
      for (const { ns, specs } of baseIndexes) catalog.addCollection(ns, specs);
      const oplogTotal = [plan.base.oplog, ...plan.chunks].reduce((sum, object) => sum + object.count, 0);
      const receipt = await replay({
        applier: new DeferredIndexApplier(target.applier, catalog),
        files: feed.files(),
        // The chunks past the cutoff, fetched only if a transaction prepared before the cutoff
        // awaits its decision when the planned ones end (prepared-cutoff.ts).
        decisionFiles: () => {
          decisionFeed = new ChunkFeed(options.store, plan.chain.chunks.slice(plan.chunks.length), join(dir, 'decisions'), { signal: options.signal, aheadBytes: options.downloadAheadBytes });
          return decisionFeed.files();
        },
        cutoff: options.cutoff,
        namespaces,
        skipUnknownCommands: options.skipUnknownCommands,
        serialNamespaces: await serialNamespacesOfBase(named, files, namespaces),
        signal: options.signal,
        // Read against the manifest's counts: the bar ends early where the cutoff stops replay.
        onProgress: (_applied, read) => options.onProgress?.('replay', read, oplogTotal),
      });
      const indexes = await buildIndexes({
        client: target.client,
        collections: catalog.collections(),
        target: target.applier.mode,
        signal: options.signal,
      });
      options.onStage?.('indexes', `${counted(indexes, 'index', 'indexes')} built after replay`);
      const users = await auth?.finish();
      return { ...summary, dryRun: false, applyMode: target.applier.mode, base: baseSummary, receipt, stats: target.applier.stats, indexes, auth: users };
    } finally {
      await auth?.discard();
      await target.client.close();
    }
  } finally {
    await feed?.close();
    await decisionFeed?.close();
    await work.remove();
  }
}

function describePlan(plan: RestorePlan) {
  const objects = objectsOf(plan);
  return {
    chainId: plan.chain.id,
    window: formatWindow(plan.window),
    restoreWindow: windowPoints(plan.window),
    objects: objects.length,
    chunks: plan.chunks.length,
    storedBytes: objects.reduce((sum, object) => sum + object.storedBytes, 0),
    windowEnd: { ts: formatTs(plan.window.to), wall: plan.window.toWall },
  };
}
