// What status and list say about each source of a store, worked out from the manifest's head
// alone (issue 14: status stays fast with 100,000 chunks, so no index segment is read): the
// restorable window and its gaps, the newest base, the lag recorded by the last pass, the chain's
// health, encryption, and the spans a timeline draws. Pure: the clock is a parameter.
//
// Resolution from the head: each base's [T0, T1], each chain's sealed chunks as one contiguous
// span from T1 to the last sealed record (the hash chain proves it contiguous, so nothing inside
// it can be a gap), and every unsealed chunk (at most 128, or an hour's worth) on its own. Gaps
// lie between chains, never inside one, so they are exact; damage is exact from the position
// recorded when it was found (chain-health.ts damageWithExtent).
import { restorableExtent } from './chain-health.ts';
import { nextTs, windowOf, type RestoreWindow } from './chain-window.ts';
import { baseCollectionCount, baseDocuments, chainChunkCount, collectionObjectsOf, chainOpCount, lastChunkOf, sameSource, type Chain, type HostsSeen, type Manifest, type SourceIdentity } from './manifest.ts';
import { sourcesOf } from './source-choice.ts';
import { compareTs, type Ts } from '../timestamp.ts';

/**
 * A timestamp in --json: the oplog position and the instant it names. `iso` is the ts's second
 * in UTC; `wall` the entry's own wall clock (milliseconds) where the manifest recorded one.
 */
export interface TimePoint {
  readonly t: number;
  readonly i: number;
  readonly iso: string;
  readonly wall: string | null;
}

export function timePoint(ts: Ts, wall: string | null = null): TimePoint {
  return { t: ts.t, i: ts.i, iso: new Date(ts.t * 1000).toISOString(), wall };
}

/** The instant of a point in ms: its wall clock when known, else its second. */
export function pointMs(point: TimePoint): number {
  return point.wall ? Date.parse(point.wall) : point.t * 1000;
}

export interface Span {
  readonly from: TimePoint;
  readonly to: TimePoint;
}

export type SpanKind = 'base' | 'oplog' | 'gap' | 'damaged';

export interface TimelineSpan extends Span {
  readonly kind: SpanKind;
}

export interface BaseSummary {
  readonly chainId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Seconds since the base finished. */
  readonly ageSeconds: number;
  /** T1: the base restores to any cutoff after it. */
  readonly end: TimePoint;
  readonly documents: number;
  readonly collections: number;
  readonly bytes: number;
}

export interface LagSummary {
  /**
   * How far the archive was behind the source's commit point when its last chunk was sealed
   * (Chunk.lagMs), in seconds; null when no chunk recorded it (a chain with only its base).
   */
  readonly seconds: number | null;
  /** When that chunk was sealed (ISO), and how long ago. */
  readonly asOf: string | null;
  readonly asOfAgeSeconds: number | null;
}

/** A chain's damage: the object, why, when found, and where restores from the chain must stop (null: nowhere). */
export interface DamageSummary {
  readonly key: string;
  readonly reason: string;
  readonly detectedAt: string;
  readonly restorableUpTo: TimePoint | null;
}

export interface HealthSummary {
  readonly damaged: boolean;
  /** The newest chain's damage (older chains' are on each ChainSummary). */
  readonly damage: DamageSummary | null;
  /** When the newest chain was last read back whole and hashed (ISO), and how long ago. */
  readonly verifiedAt: string | null;
  readonly verifiedAgeSeconds: number | null;
}

export type Encryption = 'age' | 'mixed' | 'none';

export interface ChainSummary {
  readonly id: string;
  readonly base: BaseSummary;
  readonly chunks: number;
  readonly ops: number;
  readonly storedBytes: number;
  /** What the chain restores to, cut short by damage; null when damage leaves nothing. */
  readonly window: Span | null;
  readonly damaged: boolean;
  readonly damage: DamageSummary | null;
  readonly encryption: Encryption;
  /** The members its last pass saw (null: not recorded): chains of one name from different clusters differ here. */
  readonly hosts: readonly string[] | null;
}

export interface SourceSummary {
  readonly setName: string;
  readonly replicaSetId: string | null;
  readonly hosts: readonly string[] | null;
  readonly hostsSeenAt: string | null;
  /** From the oldest restorable cutoff to the newest, across the source's chains; null: none. */
  readonly window: (Span & { readonly endAgeSeconds: number }) | null;
  /** Stretches inside the window that no chain restores to. */
  readonly gaps: readonly (Span & { readonly seconds: number })[];
  readonly newestBase: BaseSummary;
  readonly lag: LagSummary;
  readonly health: HealthSummary;
  readonly encryption: Encryption;
  readonly chains: readonly ChainSummary[];
  /** Oldest first; later spans are drawn over earlier ones (timeline-text.ts). */
  readonly timeline: readonly TimelineSpan[];
}

export function summarizeSources(manifest: Manifest, nowMs: number): SourceSummary[] {
  return sourcesOf(manifest).map((source) => summarizeSource(manifest.chains.filter((chain) => sameSource(chain.source, source)), source, nowMs));
}

function summarizeSource(chains: readonly Chain[], source: SourceIdentity, nowMs: number): SourceSummary {
  const summaries = chains.map((chain) => summarizeChain(chain, nowMs));
  const newest = chains.at(-1);
  const newestSummary = summaries.at(-1);
  if (!newest || !newestSummary) throw new Error('a source has at least one chain');
  const windows = summaries.flatMap((summary) => (summary.window ? [summary.window] : []));
  const { window, gaps } = coverageOf(windows, nowMs);
  const hosts = newestHosts(chains);
  return {
    setName: source.setName,
    replicaSetId: source.replicaSetId,
    hosts: hosts?.hosts ?? null,
    hostsSeenAt: hosts?.at ?? null,
    window,
    gaps,
    newestBase: newestSummary.base,
    lag: lagOf(newest, nowMs),
    health: healthOf(newest, nowMs),
    encryption: combined(summaries.map((summary) => summary.encryption)),
    chains: summaries,
    timeline: [...chains.flatMap(spansOf), ...gaps.map((gap) => ({ ...gap, kind: 'gap' as const }))],
  };
}

function summarizeChain(chain: Chain, nowMs: number): ChainSummary {
  const base = chain.base;
  const baseBytes = collectionObjectsOf(base).reduce((sum, object) => sum + object.storedBytes, 0) + base.oplog.storedBytes;
  const extent = restorableExtent(chain);
  // Whole: up to the seal, or to just before a prepare whose decision is not archived (windowOf).
  const whole = windowOf(chain);
  const from = timePoint(base.oplog.lastTs, base.oplog.lastWall);
  const to = extent.kind === 'whole' ? wholeEnd(whole) : extent.kind === 'up-to' ? timePoint(extent.lastTs, extent.lastWall) : null;
  return {
    id: chain.id,
    base: {
      chainId: chain.id,
      startedAt: base.startedAt,
      finishedAt: base.finishedAt,
      ageSeconds: secondsBetween(Date.parse(base.finishedAt), nowMs),
      end: from,
      documents: baseDocuments(base),
      collections: baseCollectionCount(base),
      bytes: baseBytes,
    },
    chunks: chainChunkCount(chain),
    ops: chainOpCount(chain),
    storedBytes: baseBytes + (chain.history?.storedBytes ?? 0) + chain.chunks.reduce((sum, chunk) => sum + chunk.storedBytes, 0),
    window: to && compareTs(to, from) >= 0 ? { from, to } : null,
    damaged: chain.damage !== undefined,
    damage: damageOf(chain),
    encryption: encryptionOf(chain),
    hosts: chain.hostsSeen?.hosts ?? null,
  };
}

/** Where an undamaged chain's window ends; null where a prepare undecided at its end precedes every cutoff. */
function wholeEnd(window: RestoreWindow): TimePoint | null {
  if (window.heldByPrepare && compareTs(window.heldByPrepare, nextTs(window.from)) < 0) return null;
  return timePoint(window.to, window.toWall);
}

/**
 * The union of the chains' windows and the holes in it. A new base's chain starts where the
 * chain before it was brought up to (run-due.ts), so consecutive chains of a healthy source
 * overlap or touch; a hole means a stretch of time no cutoff restores to.
 */
function coverageOf(windows: readonly Span[], nowMs: number): { window: SourceSummary['window']; gaps: SourceSummary['gaps'] } {
  const sorted = [...windows].sort((a, b) => compareTs(a.from, b.from));
  const first = sorted[0];
  if (!first) return { window: null, gaps: [] };
  const gaps: (Span & { seconds: number })[] = [];
  let end = first.to;
  for (const window of sorted.slice(1)) {
    if (compareTs(window.from, end) > 0) gaps.push({ from: end, to: window.from, seconds: secondsBetween(pointMs(end), pointMs(window.from)) });
    if (compareTs(window.to, end) > 0) end = window.to;
  }
  return { window: { from: first.from, to: end, endAgeSeconds: secondsBetween(pointMs(end), nowMs) }, gaps };
}

/** What a timeline draws of one chain: its base, its oplog, and the part damage made unusable. */
function spansOf(chain: Chain): TimelineSpan[] {
  const base = chain.base;
  const t1 = timePoint(base.oplog.lastTs, base.oplog.lastWall);
  const last = lastChunkOf(chain);
  const end = last ? timePoint(last.lastTs, last.lastWall) : t1;
  const spans: TimelineSpan[] = [{ kind: 'base', from: timePoint(base.startTs, base.oplog.firstWall), to: t1 }];
  if (last) spans.push({ kind: 'oplog', from: t1, to: end });
  const extent = restorableExtent(chain);
  if (extent.kind === 'up-to') spans.push({ kind: 'damaged', from: timePoint(extent.lastTs, extent.lastWall), to: end });
  if (extent.kind === 'none') spans.push({ kind: 'damaged', from: timePoint(base.startTs, base.oplog.firstWall), to: end });
  return spans;
}

function newestHosts(chains: readonly Chain[]): HostsSeen | undefined {
  return chains.flatMap((chain) => (chain.hostsSeen ? [chain.hostsSeen] : [])).sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).at(-1);
}

function lagOf(chain: Chain, nowMs: number): LagSummary {
  const last = lastChunkOf(chain);
  if (!last) return { seconds: null, asOf: null, asOfAgeSeconds: null };
  return {
    seconds: last.lagMs === null ? null : Math.max(0, last.lagMs) / 1000,
    asOf: last.sealedAt,
    asOfAgeSeconds: secondsBetween(Date.parse(last.sealedAt), nowMs),
  };
}

function healthOf(chain: Chain, nowMs: number): HealthSummary {
  const damage = damageOf(chain);
  return {
    damaged: damage !== null,
    damage,
    verifiedAt: chain.verifiedAt ?? null,
    verifiedAgeSeconds: chain.verifiedAt ? secondsBetween(Date.parse(chain.verifiedAt), nowMs) : null,
  };
}

function damageOf(chain: Chain): DamageSummary | null {
  if (!chain.damage) return null;
  const extent = restorableExtent(chain);
  return {
    key: chain.damage.key,
    reason: chain.damage.reason,
    detectedAt: chain.damage.detectedAt,
    restorableUpTo: extent.kind === 'up-to' ? timePoint(extent.lastTs, extent.lastWall) : null,
  };
}

/**
 * "age" when every object is encrypted, "mixed" when some are (encryption turned on or off), else
 * "none". From the head: the base's objects, the unsealed chunks, and the sealed ones as the
 * head counted them (ChainHistory.encryptedChunks; a head that did not count them says nothing
 * about its sealed chunks).
 */
export function encryptionOf(chain: Chain): Encryption {
  const objects = [...collectionObjectsOf(chain.base), chain.base.oplog, ...chain.chunks];
  let encrypted = objects.filter((object) => object.encryption !== undefined).length;
  let total = objects.length;
  const sealed = chain.history;
  if (sealed?.encryptedChunks !== undefined) {
    encrypted += sealed.encryptedChunks;
    total += sealed.chunks;
  }
  return encrypted === 0 ? 'none' : encrypted === total ? 'age' : 'mixed';
}

function combined(kinds: readonly Encryption[]): Encryption {
  if (kinds.every((kind) => kind === 'none')) return 'none';
  return kinds.every((kind) => kind === 'age') ? 'age' : 'mixed';
}

function secondsBetween(fromMs: number, toMs: number): number {
  return Math.round((toMs - fromMs) / 1000);
}
