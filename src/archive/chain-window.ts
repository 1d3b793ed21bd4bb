// Chain math for restores: what each chain can restore to, which chain and objects a cutoff
// needs, and whether the chain holds together. Pure.
import { IntegrityError, UsageError } from '../errors.ts';
import { compareTs, formatTs, isBeforeCutoff, tsEquals, tsToDate, type Cutoff, type Ts } from '../timestamp.ts';
import { pointWords, tsWords, windowWords } from './window-words.ts';
import { timePoint } from './source-summary.ts';
import { chainEnd, collectionObjectsOf, lastChunkOf, linkOf, type Base, type Chain, type Chunk, type Manifest, type OplogObject } from './manifest.ts';
import { chainsOfSource, type SourceChoice } from './source-choice.ts';
import { earliestUndecidedPrepare, openPreparesAtEnd } from './open-prepares.ts';

/**
 * The span a chain restores to, as op positions: the state just after any op from `from` (T1,
 * the base's last op) to `to` (the commit point the chain was last sealed at). In cutoffs (ops
 * before the cutoff are applied) that is every cutoff after `from` and up to `to` + 1 ordinal.
 */
export interface RestoreWindow {
  readonly chainId: string;
  readonly from: Ts;
  readonly fromWall: string | null;
  readonly to: Ts;
  readonly toWall: string | null;
  /**
   * Set when the window ends early, at a transaction prepared at this ts whose commit or abort
   * the chain has not archived yet (open-prepares.ts): cutoffs up to it need no decision.
   */
  readonly heldByPrepare?: Ts;
}

/** Where a chain is sealed: every op with ts <= `ts` is archived in it. */
export interface SealPoint {
  readonly ts: Ts;
  readonly wall: string | null;
}

/**
 * The commit point the chain's last object was sealed at; an object without one (a base's
 * oplog, an older or streamed chunk) is sealed at its last op, which continuity proves archived.
 */
export function sealOf(chain: Chain): SealPoint {
  const end = chainEnd(chain);
  const last = lastChunkOf(chain);
  const recorded = last?.commitPointTs;
  if (!last || !recorded || compareTs(recorded, last.lastTs) < 0) return { ts: end.lastTs, wall: end.lastWall };
  const wall = last.commitPointWall ?? (tsEquals(recorded, last.lastTs) ? last.lastWall : null);
  return { ts: recorded, wall };
}

/**
 * The cutoffs a chain restores to: after its base's T1, up to its seal, and no further than a
 * prepare left undecided at its archived end (a cutoff P, which applies the ops before P, is
 * the last that needs no decision: `to` is the position just before P). Where that prepare is
 * at or before T1 the window is empty: `to` is then `from`, and planRestore refuses every cutoff.
 */
export function windowOf(chain: Chain): RestoreWindow {
  const seal = sealOf(chain);
  const window = { chainId: chain.id, from: chain.base.oplog.lastTs, fromWall: chain.base.oplog.lastWall, to: seal.ts, toWall: seal.wall };
  const prepare = earliestUndecidedPrepare(chain);
  if (!prepare || compareTs(prepare, nextTs(seal.ts)) >= 0) return window;
  const before = prevTs(prepare);
  const to = compareTs(before, window.from) < 0 ? window.from : before;
  return { ...window, to, toWall: tsEquals(to, window.from) ? window.fromWall : null, heldByPrepare: prepare };
}

/** Positions first, for the JSON results' `window` strings (kept as they were); people read window-words.ts. */
export function formatWindow(window: RestoreWindow): string {
  const at = (ts: Ts, wall: string | null) => `${formatTs(ts)}${wall ? ` (${wall})` : ''}`;
  const held = window.heldByPrepare ? ` (held at a transaction prepared at ${formatTs(window.heldByPrepare)}, undecided in the archive)` : '';
  return `${at(window.from, window.fromWall)} .. ${at(window.to, window.toWall)}${held}`;
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
 * Picks, among the chains of one source (source-choice.ts), the newest whose base ends before
 * the cutoff (its T1 op is applied) and that reaches the cutoff, then the chunks the cutoff
 * reaches into. Without a cutoff: that source's newest chain, everything. A cutoff outside every
 * window is a UsageError that prints the windows.
 */
export function planRestore(manifest: Manifest, cutoff: Cutoff | undefined, choice: SourceChoice = {}): RestorePlan {
  if (manifest.chains.length === 0) throw new UsageError('the store holds no backup yet', { hint: 'run mongo-pitr backup first' });
  const chains = chainsOfSource(manifest, choice);
  let held: Ts | undefined;
  for (const chain of [...chains].reverse()) {
    if (cutoff && !covers(chain, cutoff)) continue;
    // Without a cutoff a restore goes to the chain's end: every prepare open there is after it.
    const prepare = undecidedAt(chain, cutoff);
    if (prepare) {
      held ??= prepare;
      continue;
    }
    requireWhole(chain);
    const chunks = cutoff ? chain.chunks.filter((chunk) => applies(chunk, 'first', cutoff)) : chain.chunks;
    return { chain, base: chain.base, chunks, window: windowOf(chain), cutoff };
  }
  if (held) throw undecidedPrepareError(cutoff, held);
  throw outsideWindowsError(cutoff, chains.map(windowOf));
}

/**
 * The cutoff is in no window: the windows times first, each end's position in brackets (a
 * position is what --until takes to name one op exactly), and a --until that restores to the
 * newest window's end: its position plus one ordinal (ops before it are applied), with the ISO
 * time of that end beside it.
 */
function outsideWindowsError(cutoff: Cutoff | undefined, windows: readonly RestoreWindow[]): UsageError {
  const text = windows.map((window) => windowWords(window, { positions: true })).join('; ');
  const newest = windows.at(-1);
  const end = newest && nextTs(newest.to);
  const endIso = newest && (newest.toWall ?? new Date(newest.to.t * 1000).toISOString());
  const example = end ? `; --until ${formatTs(end)} restores to the newest end (${endIso})` : '';
  return new UsageError(`--until ${cutoff?.input ?? ''} is outside the restorable window: ${text}`, {
    hint: `pick a time after a window's start and up to its end, as an ISO time or a position seconds:ordinal (up to the end's plus one ordinal)${example}`,
  });
}

/**
 * The earliest prepare the chain's records show undecided at its archived end whose decision the
 * cutoff needs (restore/prepared-cutoff.ts prepareNeedsDecision: its ts is before the cutoff, or
 * under a millisecond cutoff in an earlier second). Undefined where the records do not say: then
 * replay finds out at its end, as before.
 */
function undecidedAt(chain: Chain, cutoff: Cutoff | undefined): Ts | undefined {
  if (!cutoff) return undefined;
  const open = (openPreparesAtEnd(chain) ?? []).filter(({ ts }) => (cutoff.wallMs === undefined ? compareTs(ts, cutoff.ts) < 0 : ts.t < cutoff.ts.t));
  return open.map(({ ts }) => ts).sort(compareTs)[0];
}

/**
 * Refused before anything is read or written: the archive cannot decide this cutoff yet. Also
 * what restore/prepare-scan.ts throws for a chain whose records do not say.
 */
export function undecidedPrepareError(cutoff: Cutoff | undefined, prepare: Ts): UsageError {
  return new UsageError(
    `--until ${cutoff?.input ?? ''} is past a transaction prepared at ${tsWords(prepare, { positions: true })} whose commit or abort is not archived yet`,
    { hint: `pick a cutoff at or before it (--until ${formatTs(prepare)}, or ${tsToDate(prepare).toISOString()}), or wait for the next oplog pass to archive its decision` },
  );
}

/** A cutoff a chain can restore to: after its base's T1 op, and decidable from what it archived. */
function covers(chain: Chain, cutoff: Cutoff): boolean {
  return applies(chain.base.oplog, 'last', cutoff) && reaches(sealOf(chain), cutoff);
}

/**
 * Whether every op a cutoff applies is archived, given that every op with ts <= seal is. A ts
 * cutoff applies the ops before it, so it may go up to seal + 1 ordinal (the op just past the
 * seal, archived or not, is never applied). A millisecond cutoff decides the ops of its second by
 * wall: a second before the seal's is archived whole; in the seal's own second the later,
 * unarchived ops are stamped no earlier than the seal's wall (the server stamps wall as it logs
 * ops in ts order), so only cutoffs up to that wall are decidable; a later second is not archived.
 */
export function reaches(seal: SealPoint, cutoff: Cutoff): boolean {
  if (cutoff.wallMs === undefined) return compareTs(cutoff.ts, nextTs(seal.ts)) <= 0;
  if (cutoff.ts.t !== seal.ts.t) return cutoff.ts.t < seal.ts.t;
  return seal.wall !== null && cutoff.wallMs <= Date.parse(seal.wall);
}

/** The position just past an op: the next ordinal, or the next second's first. */
export function nextTs(ts: Ts): Ts {
  return ts.i >= MAX_ORDINAL ? { t: ts.t + 1, i: 0 } : { t: ts.t, i: ts.i + 1 };
}

/** The position just before an op: the previous ordinal, or the previous second's last. */
export function prevTs(ts: Ts): Ts {
  return ts.i > 0 ? { t: ts.t, i: ts.i - 1 } : { t: ts.t - 1, i: MAX_ORDINAL };
}

const MAX_ORDINAL = 0xffffffff;

/**
 * A head's chain (format 2) lists only its unsealed chunks: planning or verifying on it would
 * silently skip the sealed ones. backup/read-manifest.ts readManifest loads chains whole.
 */
function requireWhole(chain: Chain): void {
  if (chain.history) throw new IntegrityError(`chain ${chain.id} was read from the head only; its sealed chunks are not loaded`);
}

/**
 * Checks that every chunk continues the one before it, by ts and by hash; a compacted object
 * continues by the sha256 of the last chunk it holds (manifest.ts linkOf).
 */
export function verifyContinuity(chain: Chain): void {
  requireWhole(chain);
  const broken = firstBrokenLink(chain.base.oplog, chain.chunks);
  if (broken) {
    const { chunk, previous } = broken;
    // Times first; the positions too, since the two ends may share a second and differ by ordinal.
    throw new IntegrityError(
      `chain ${chain.id} is broken before ${chunk.key}: it follows ${tsWords(chunk.afterTs, { positions: true })}, the previous object ends at ${pointWords(timePoint(previous.lastTs, previous.lastWall), { positions: true })}`,
    );
  }
}

/** The first chunk that does not follow the object before it, by ts and by hash, with that object. */
function firstBrokenLink(start: OplogObject, chunks: readonly Chunk[]): { chunk: Chunk; previous: OplogObject } | undefined {
  let previous = start;
  for (const chunk of chunks) {
    if (!tsEquals(chunk.afterTs, previous.lastTs) || chunk.prevSha256 !== linkOf(previous)) return { chunk, previous };
    previous = chunk;
  }
  return undefined;
}

/**
 * Whether the records a head holds link up, by ts and by hash: its unsealed chunks onto the last
 * sealed record (or the base's oplog) and onto each other; on a whole chain (no history), the
 * check verifyContinuity makes. The sealed records were each checked onto their predecessor when
 * appended (addChunk) and are pinned by sha256, segment to segment (read-manifest.ts): reading
 * them back is `verify`'s and --verify-every's work, which records what it finds as the chain's
 * damage in the head. So a head answers for the chain without a read that grows with its age.
 */
export function headLinksUp(chain: Chain): boolean {
  return firstBrokenLink(chain.history?.end ?? chain.base.oplog, chain.chunks) === undefined;
}

/** Every key a chain references. */
export function keysOf(chain: Chain): string[] {
  const base = chain.base;
  return [
    ...collectionObjectsOf(base).map((object) => object.key),
    base.oplog.key,
    ...chain.chunks.map((chunk) => chunk.key),
    ...(chain.indexKeys ?? []),
  ];
}
