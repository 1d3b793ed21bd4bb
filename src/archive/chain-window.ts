// Chain math for restores: what each chain can restore to, which chain and objects a cutoff
// needs, and whether the chain holds together. Pure.
import { IntegrityError, UsageError } from '../errors.ts';
import { compareTs, formatTs, isBeforeCutoff, tsEquals, type Cutoff, type Ts } from '../timestamp.ts';
import { chainEnd, type Base, type Chain, type Chunk, type Manifest, type OplogObject } from './manifest.ts';

/** The span a chain restores to: cutoffs after `from` (T1) and up to `to` (its newest op). */
export interface RestoreWindow {
  readonly chainId: string;
  readonly from: Ts;
  readonly fromWall: string | null;
  readonly to: Ts;
  readonly toWall: string | null;
}

export function windowOf(chain: Chain): RestoreWindow {
  const end = chainEnd(chain);
  return {
    chainId: chain.id,
    from: chain.base.oplog.lastTs,
    fromWall: chain.base.oplog.lastWall,
    to: end.lastTs,
    toWall: end.lastWall,
  };
}

export function formatWindow(window: RestoreWindow): string {
  const at = (ts: Ts, wall: string | null) => `${formatTs(ts)}${wall ? ` (${wall})` : ''}`;
  return `${at(window.from, window.fromWall)} .. ${at(window.to, window.toWall)}`;
}

/** What a restore reads: one base and the chunks after it that the cutoff reaches into. */
export interface RestorePlan {
  readonly chain: Chain;
  readonly base: Base;
  readonly chunks: readonly Chunk[];
  readonly window: RestoreWindow;
  readonly cutoff: Cutoff | undefined;
}

function wallOf(iso: string | null): Date | undefined {
  return iso ? new Date(iso) : undefined;
}

/** True when the cutoff lets the op at (ts, wall) be applied. */
function applies(object: OplogObject, which: 'first' | 'last', cutoff: Cutoff): boolean {
  return which === 'first'
    ? isBeforeCutoff(object.firstTs, wallOf(object.firstWall), cutoff)
    : isBeforeCutoff(object.lastTs, wallOf(object.lastWall), cutoff);
}

/**
 * Picks the newest chain whose base ends before the cutoff (its T1 op is applied) and that
 * reaches the cutoff, then the chunks the cutoff reaches into. Without a cutoff: the newest
 * chain, everything. A cutoff outside every window is a UsageError that prints the windows.
 */
export function planRestore(manifest: Manifest, cutoff: Cutoff | undefined): RestorePlan {
  if (manifest.chains.length === 0) throw new UsageError('the store holds no backup yet', { hint: 'run mongo-pitr backup first' });
  const candidates = [...manifest.chains].reverse();
  for (const chain of candidates) {
    if (cutoff && !covers(chain, cutoff)) continue;
    const chunks = cutoff ? chain.chunks.filter((chunk) => applies(chunk, 'first', cutoff)) : chain.chunks;
    return { chain, base: chain.base, chunks, window: windowOf(chain), cutoff };
  }
  const windows = manifest.chains.map((chain) => formatWindow(windowOf(chain))).join('; ');
  throw new UsageError(`--until ${cutoff?.input ?? ''} is outside the restorable window: ${windows}`);
}

/** A cutoff a chain can restore to: after its base's T1 op, and not after its newest op. */
function covers(chain: Chain, cutoff: Cutoff): boolean {
  const end = chainEnd(chain);
  if (!applies(chain.base.oplog, 'last', cutoff)) return false;
  const pastEnd = compareTs(cutoff.ts, end.lastTs) > 0 &&
    (cutoff.wallMs === undefined || cutoff.ts.t > end.lastTs.t || !end.lastWall || cutoff.wallMs > Date.parse(end.lastWall));
  return !pastEnd;
}

/** Checks that every chunk continues the one before it, by ts and by hash. */
export function verifyContinuity(chain: Chain): void {
  let previous: OplogObject = chain.base.oplog;
  for (const chunk of chain.chunks) {
    if (!tsEquals(chunk.afterTs, previous.lastTs) || chunk.prevSha256 !== previous.sha256) {
      throw new IntegrityError(
        `chain ${chain.id} is broken before ${chunk.key}: it follows ${formatTs(chunk.afterTs)}, the previous object ends at ${formatTs(previous.lastTs)}`,
      );
    }
    previous = chunk;
  }
}

/** Every key a chain references. */
export function keysOf(chain: Chain): string[] {
  const base = chain.base;
  return [
    ...base.collections.flatMap((entry) => (entry.data ? [entry.data.key, entry.metadata.key] : [entry.metadata.key])),
    base.oplog.key,
    ...chain.chunks.map((chunk) => chunk.key),
  ];
}
