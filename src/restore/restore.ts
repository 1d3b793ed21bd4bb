// The restore use case: read the manifest, plan (chain, window, objects), download and verify
// every object before touching the target, load the base, replay the oplog to the cutoff, and
// return a receipt.
import { tmpdir } from 'node:os';
import { planRestore, formatWindow, type RestorePlan } from '../archive/chain-window.ts';
import { readManifest } from '../backup/commit.ts';
import type { Store } from '../store/store.ts';
import type { Cutoff } from '../timestamp.ts';
import { openTarget, type ApplyMode } from '../target/open-target.ts';
import type { ApplyStats } from '../target/applier.ts';
import { downloadChain, objectsOf } from './download-chain.ts';
import { buildDeferredIndexes, loadBase, type LoadBaseResult } from './load-base.ts';
import { compileNamespaceMapper, type NamespaceOptions } from './namespace-mapper.ts';
import { replay, type ReplayReceipt } from './replay.ts';
import { createWorkFolder } from './work-folder.ts';

export interface RestoreOptions {
  readonly store: Store;
  readonly targetUri: string;
  readonly cutoff?: Cutoff;
  readonly drop?: boolean;
  readonly dryRun?: boolean;
  readonly applyMode?: ApplyMode;
  readonly namespaces?: NamespaceOptions;
  readonly concurrency?: number;
  readonly workDir?: string;
  readonly signal?: AbortSignal;
  readonly onStage?: (stage: string, detail: string) => void;
  /** How far a stage is: `download` objects, `load` collections, `replay` entries applied. */
  readonly onProgress?: (stage: 'download' | 'load' | 'replay', done: number, total?: number) => void;
}

export interface RestoreResult {
  readonly chainId: string;
  readonly window: string;
  readonly objects: number;
  readonly chunks: number;
  readonly storedBytes: number;
  readonly dryRun: boolean;
  readonly applyMode?: string;
  readonly base?: LoadBaseResult;
  readonly receipt?: ReplayReceipt;
  readonly stats?: ApplyStats;
}

export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  const namespaces = compileNamespaceMapper(options.namespaces ?? {});
  const { manifest } = await readManifest(options.store);
  const plan = planRestore(manifest, options.cutoff);
  const summary = describePlan(plan);
  options.onStage?.('plan', `chain ${plan.chain.id}, window ${summary.window}, ${summary.objects} objects (${summary.chunks} chunks)`);
  if (options.dryRun) return { ...summary, dryRun: true };

  const work = await createWorkFolder(options.workDir ?? tmpdir());
  const dir = work.path;
  try {
    let downloaded = 0;
    const files = await downloadChain(options.store, plan, dir, {
      concurrency: options.concurrency,
      signal: options.signal,
      onObject: () => options.onProgress?.('download', ++downloaded, summary.objects),
    });
    options.onStage?.('verified', `${files.size} objects downloaded and verified`);
    const target = await openTarget(options.targetUri, options.applyMode);
    try {
      let loaded = 0;
      const collections = plan.base.collections.filter((entry) => entry.type !== 'view').length;
      const base = await loadBase({
        client: target.client,
        base: plan.base,
        files,
        namespaces,
        drop: options.drop ?? false,
        concurrency: options.concurrency,
        signal: options.signal,
        onCollection: () => options.onProgress?.('load', ++loaded, collections),
      });
      options.onStage?.('base', `${base.documents} documents in ${base.collections} collections`);
      const oplogFiles = [plan.base.oplog, ...plan.chunks].map((object) => files.get(object.key) ?? '');
      const receipt = await replay({
        applier: target.applier,
        files: oplogFiles,
        cutoff: options.cutoff,
        namespaces,
        signal: options.signal,
        onProgress: (applied) => options.onProgress?.('replay', applied),
      });
      await buildDeferredIndexes(target.client, base.deferredIndexes);
      return { ...summary, dryRun: false, applyMode: target.applier.mode, base, receipt, stats: target.applier.stats };
    } finally {
      await target.client.close();
    }
  } finally {
    await work.remove();
  }
}

function describePlan(plan: RestorePlan) {
  const objects = objectsOf(plan);
  return {
    chainId: plan.chain.id,
    window: formatWindow(plan.window),
    objects: objects.length,
    chunks: plan.chunks.length,
    storedBytes: objects.reduce((sum, object) => sum + object.storedBytes, 0),
  };
}
