// A restore's dry run: the chain's oplog replayed exactly as the restore would replay it
// (replay.ts: transaction buffer, cutoff, prepared transactions decided past the cutoff,
// namespace rules, command plans), into an applier that writes nothing (target/dry-applier.ts).
// What it reports is therefore what the restore would apply, not a count of the archived entries
// before the cutoff: a transaction's applyOps counts its ops, no-ops and excluded namespaces do
// not, and the commit of a transaction prepared before the cutoff counts though it is logged
// after it. It refuses what the restore would refuse (a cutoff past an undecided prepare, a
// command replay cannot reproduce), with the same error.
// Cost: the plan's oplog objects are downloaded (verified, decrypted) into a temporary folder as
// the restore downloads them (chunk-feed.ts: disk within its budget, each file removed once
// read); the base's collections are not read. Nothing is written to a target.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RestorePlan } from '../archive/chain-window.ts';
import type { Store } from '../store/store.ts';
import type { Cutoff } from '../timestamp.ts';
import { DryApplier } from '../target/dry-applier.ts';
import type { ApplyMode } from '../target/open-target.ts';
import type { ApplyStats } from '../target/applier.ts';
import { ChunkFeed } from './chunk-feed.ts';
import type { NamespaceMapper } from './namespace-mapper.ts';
import { replay, type ReplayReceipt } from './replay.ts';
import { createWorkFolder } from './work-folder.ts';

export interface DryRunOptions {
  readonly store: Store;
  readonly plan: RestorePlan;
  readonly cutoff?: Cutoff;
  readonly namespaces: NamespaceMapper;
  /** `portable` plans commands as the portable applier gets them; otherwise as applyOps gets them. */
  readonly applyMode?: ApplyMode;
  readonly skipUnknownCommands?: boolean;
  readonly workDir?: string;
  readonly downloadAheadBytes?: number;
  readonly signal?: AbortSignal;
  /** Entries read so far, against the manifest's counts of the plan's objects. */
  readonly onProgress?: (read: number, total: number) => void;
}

export interface DryRunResult {
  readonly receipt: ReplayReceipt;
  readonly stats: ApplyStats;
  readonly applyMode: 'applyOps' | 'portable';
}

export async function dryRunReplay(options: DryRunOptions): Promise<DryRunResult> {
  const { store, plan, signal } = options;
  const work = await createWorkFolder(options.workDir ?? tmpdir(), 'mongo-pitr-dry-run-');
  const feed = new ChunkFeed(store, [plan.base.oplog, ...plan.chunks], work.path, { signal, aheadBytes: options.downloadAheadBytes });
  let decisionFeed: ChunkFeed | undefined;
  const total = [plan.base.oplog, ...plan.chunks].reduce((sum, object) => sum + object.count, 0);
  try {
    const applier = new DryApplier(options.applyMode === 'portable' ? 'portable' : 'applyOps');
    const receipt = await replay({
      applier,
      files: feed.files(),
      decisionFiles: () => {
        decisionFeed = new ChunkFeed(store, plan.chain.chunks.slice(plan.chunks.length), join(work.path, 'decisions'), { signal, aheadBytes: options.downloadAheadBytes });
        return decisionFeed.files();
      },
      cutoff: options.cutoff,
      namespaces: options.namespaces,
      skipUnknownCommands: options.skipUnknownCommands,
      signal,
      onProgress: (_applied, read) => options.onProgress?.(read, total),
    });
    return { receipt, stats: applier.stats, applyMode: applier.mode };
  } finally {
    await feed.close();
    await decisionFeed?.close();
    await work.remove();
  }
}
