// What cutoffs a whole cluster restores to. Pure.
//
// Every member (the config servers, each shard) is a replica-set chain with its own windows
// (archive/chain-window.ts). Oplog timestamps are cluster times, shared by the members (the
// hybrid logical clock every mongod and mongos gossips), so the cluster at a cutoff C is every
// member at C: C is restorable iff every member of a cluster base has a chain that covers C, C
// is after the cluster base's largest T1 (each member's base must have ended before C), and no
// member has a transaction prepared before C whose commit or abort is not archived
// (restore/prepared-cutoff.ts). A member's gap (between its chains) is the cluster's gap.
//
// Windows are handled as closed spans of cutoffs [lo, hi]: a RestoreWindow {from, to} is the
// cutoffs nextTs(from) .. nextTs(to); an undecided prepare at P allows cutoffs up to P.
import { nextTs, type RestoreWindow } from '../archive/chain-window.ts';
import { PitrError } from '../errors.ts';
import { compareTs, formatTs, type Cutoff, type Ts } from '../timestamp.ts';
import { CONFIG_MEMBER } from './topology.ts';

/** One member (config or shard) as the replica-set chain math sees it. */
export interface MemberWindows {
  readonly name: string;
  /**
   * One per chain, oldest chain first (chain-window.ts windowOf, damage already applied);
   * cutoffs between them are gaps. Where two overlap, the newer chain serves, as planRestore
   * picks it.
   */
  readonly windows: readonly RestoreWindow[];
  /**
   * The earliest prepare whose commit or abort is not in the member's archive
   * (archive/open-prepares.ts earliestUndecidedPrepare of the member's newest chain, from the
   * manifest head alone): no cutoff after it is decidable in a window that contains it.
   */
  readonly undecidedPrepare?: Ts;
}

/** A cluster base: the bases of its members, taken together; `endTs` is each member's T1. */
export interface ClusterBase {
  readonly id: string;
  readonly members: readonly { readonly name: string; readonly endTs: Ts }[];
}

export type WindowLimitKind = 'base' | 'archived-end' | 'gap' | 'undecided-prepare' | 'no-chain';

/** Why a cluster window starts or ends where it does, or why a base gives none. */
export interface WindowLimit {
  readonly kind: WindowLimitKind;
  readonly member: string;
  readonly ts: Ts;
  /** "shard s1 archived only to 1764583200:4 (2026-12-01T10:00:00.250Z)". */
  readonly message: string;
}

/** A span of cutoffs, in RestoreWindow terms: every cutoff after `from` and up to `to` + 1 ordinal. */
export interface ClusterWindow {
  readonly baseId: string;
  readonly from: Ts;
  readonly fromWall: string | null;
  readonly to: Ts;
  readonly toWall: string | null;
  /**
   * Per member, the chains the window uses, in cutoff order (more than one where a member's
   * newer chain takes over inside the window); planRestore picks the one for a cutoff.
   */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** What set `from` and `to`. */
  readonly limits: readonly WindowLimit[];
}

export interface ClusterWindowReport {
  /** Disjoint, in cutoff order. Where two cluster bases cover a cutoff, the newer one serves. */
  readonly windows: readonly ClusterWindow[];
  /** Bases that give no window, and why. */
  readonly limits: readonly WindowLimit[];
}

/** Cutoffs lo..hi, both included. */
interface Span {
  readonly lo: Ts;
  readonly hi: Ts;
}

/** One member window as cutoffs, clamped at an undecided prepare. */
interface MemberSpan extends Span {
  readonly member: string;
  readonly window: RestoreWindow;
  /** True when hi is the undecided prepare, not the chain's seal. */
  readonly clampedByPrepare: boolean;
}

interface Piece extends Span {
  readonly spans: ReadonlyMap<string, MemberSpan>;
}

export function clusterWindows(members: readonly MemberWindows[], bases: readonly ClusterBase[]): ClusterWindowReport {
  const byName = new Map(members.map((member) => [member.name, member]));
  const limits: WindowLimit[] = [];
  const windows: ClusterWindow[] = [];
  let taken: Span[] = [];
  // Newest base first: it serves the cutoffs it shares with an older one.
  for (const base of [...bases].reverse()) {
    const result = baseWindows(base, byName);
    limits.push(...result.limits);
    const parts = result.pieces.flatMap((piece) => subtract(piece, taken).map((span) => ({ ...piece, ...span })));
    for (const run of adjacentRuns(parts)) windows.push(toClusterWindow(base, run, byName));
    taken = [...taken, ...result.pieces];
  }
  windows.sort((a, b) => compareTs(a.from, b.from));
  return { windows, limits };
}

/** Pieces sorted and grouped where one ends just before the next begins: one window each. */
function adjacentRuns(pieces: readonly Piece[]): Piece[][] {
  const runs: Piece[][] = [];
  for (const piece of [...pieces].sort((a, b) => compareTs(a.lo, b.lo))) {
    const run = runs[runs.length - 1];
    const last = run?.[run.length - 1];
    if (run && last && tsEq(nextTs(last.hi), piece.lo)) run.push(piece);
    else runs.push([piece]);
  }
  return runs;
}

function baseWindows(base: ClusterBase, byName: ReadonlyMap<string, MemberWindows>): { pieces: Piece[]; limits: WindowLimit[] } {
  const start = base.members.reduce<Ts | undefined>((max, member) => (max === undefined || compareTs(member.endTs, max) > 0 ? member.endTs : max), undefined);
  if (start === undefined) return { pieces: [], limits: [] };
  let pieces: Piece[] = [{ lo: nextTs(start), hi: INFINITY, spans: new Map() }];
  for (const { name } of base.members) {
    const spans = memberSpans(byName.get(name));
    const next: Piece[] = [];
    for (const piece of pieces) {
      for (const span of spans) {
        const common = intersect(piece, span);
        if (common) next.push({ ...common, spans: new Map([...piece.spans, [name, span]]) });
      }
    }
    if (next.length === 0) {
      return { pieces: [], limits: [{ kind: 'no-chain', member: name, ts: start, message: `cluster base ${base.id}: ${label(name)} has no chain covering any cutoff after ${formatTs(start)} that the other members cover` }] };
    }
    pieces = next;
  }
  return { pieces, limits: [] };
}

/** A member's windows as disjoint cutoff spans, the newer chain winning an overlap. */
function memberSpans(member: MemberWindows | undefined): MemberSpan[] {
  if (!member) return [];
  const spans: MemberSpan[] = [];
  let taken: Span[] = [];
  for (const window of [...member.windows].reverse()) {
    let span: Span = { lo: nextTs(window.from), hi: nextTs(window.to) };
    let clampedByPrepare = false;
    // A window from chain-window.ts windowOf may already end at the prepare (heldByPrepare):
    // hi is then the prepare itself, and the limit is still the prepare's.
    const prepare = member.undecidedPrepare ?? window.heldByPrepare;
    if (prepare && compareTs(prepare, span.hi) <= 0) {
      // Cutoffs up to the prepare need no decision; a window that starts after it has none left.
      if (compareTs(prepare, span.lo) < 0) continue;
      span = { lo: span.lo, hi: prepare };
      clampedByPrepare = true;
    }
    for (const part of subtract(span, taken)) spans.push({ ...part, member: member.name, window, clampedByPrepare: clampedByPrepare && tsEq(part.hi, span.hi) });
    taken = [...taken, span];
  }
  return spans.sort((a, b) => compareTs(a.lo, b.lo));
}

function toClusterWindow(base: ClusterBase, run: readonly Piece[], byName: ReadonlyMap<string, MemberWindows>): ClusterWindow {
  const first = run[0];
  const piece = run[run.length - 1];
  if (!first || !piece) throw new PitrError('an empty run of cluster window pieces');
  const chains = new Map<string, string[]>();
  for (const part of run) {
    for (const [name, span] of part.spans) {
      const ids = chains.get(name) ?? [];
      if (ids[ids.length - 1] !== span.window.chainId) ids.push(span.window.chainId);
      chains.set(name, ids);
    }
  }
  const from = prevTs(first.lo);
  const to = prevTs(piece.hi);
  const limits: WindowLimit[] = [...startLimits(base, first, from), ...endLimits(piece, to, byName)];
  return { baseId: base.id, from, fromWall: wallAt(from, first, 'from'), to, toWall: wallAt(to, piece, 'to'), chains, limits };
}

function startLimits(base: ClusterBase, piece: Piece, from: Ts): WindowLimit[] {
  const limits: WindowLimit[] = [];
  const baseEnd = base.members.find((member) => tsEq(nextTs(member.endTs), piece.lo));
  if (baseEnd) limits.push({ kind: 'base', member: baseEnd.name, ts: from, message: `cluster base ${base.id} is restorable after ${label(baseEnd.name)}'s base ended at ${formatTs(from)}` });
  for (const [name, span] of piece.spans) {
    if (!baseEnd && tsEq(span.lo, piece.lo)) limits.push({ kind: 'gap', member: name, ts: from, message: `${label(name)} resumes after ${formatTs(from)} (chain ${span.window.chainId})` });
  }
  return limits;
}

function endLimits(piece: Piece, to: Ts, byName: ReadonlyMap<string, MemberWindows>): WindowLimit[] {
  const limits: WindowLimit[] = [];
  for (const [name, span] of piece.spans) {
    if (!tsEq(span.hi, piece.hi)) continue;
    if (span.clampedByPrepare) {
      limits.push({ kind: 'undecided-prepare', member: name, ts: piece.hi, message: `${label(name)} has a transaction prepared at ${formatTs(piece.hi)} whose commit or abort is not archived yet` });
    } else {
      const later = (byName.get(name)?.windows ?? []).some((window) => compareTs(window.to, span.window.to) > 0);
      limits.push({ kind: later ? 'gap' : 'archived-end', member: name, ts: to, message: later ? `${label(name)} has a gap after ${at(to, span.window)}` : `${label(name)} archived only to ${at(to, span.window)}` });
    }
  }
  return limits;
}

/**
 * The wall clock of a window end, for millisecond cutoffs: at `to`, the earliest wall among the
 * members sealed in that second (one sealed in a later second archived the whole second); null
 * when one of them has none or the end is a prepare's. At `from`, the latest wall among the
 * members whose base ended in that second.
 */
function wallAt(ts: Ts, piece: Piece, which: 'from' | 'to'): string | null {
  const walls: (string | null)[] = [];
  for (const span of piece.spans.values()) {
    const end = which === 'to' ? span.window.to : span.window.from;
    if (end.t !== ts.t || (which === 'to' && compareTs(end, ts) < 0)) continue;
    if (which === 'to' && span.clampedByPrepare && tsEq(span.hi, piece.hi)) return null;
    walls.push(which === 'to' ? span.window.toWall : span.window.fromWall);
  }
  if (walls.length === 0 || walls.includes(null)) return null;
  const sorted = (walls as string[]).sort((a, b) => Date.parse(a) - Date.parse(b));
  return (which === 'to' ? sorted[0] : sorted[sorted.length - 1]) ?? null;
}

function at(ts: Ts, window: RestoreWindow): string {
  return tsEq(ts, window.to) && window.toWall ? `${formatTs(ts)} (${window.toWall})` : formatTs(ts);
}

function label(name: string): string {
  return name === CONFIG_MEMBER ? 'the config servers' : `shard ${name}`;
}

/**
 * The cutoff every member of a cluster restore uses. A millisecond time is decided, within its
 * second, by each entry's wall clock, and no two members share one: a config server whose clock
 * runs ahead could leave a migration's commit out while a shard behind it applies the range
 * deleter's deletes that followed it, and a document would vanish. So a cluster decides by
 * cluster time alone: a millisecond time restores to the start of its second (every entry of
 * the earlier seconds, none of its own), the same on every member; ts cutoffs are kept.
 */
export function clusterCutoff(cutoff: Cutoff): Cutoff {
  if (cutoff.wallMs === undefined) return cutoff;
  return { ts: { t: cutoff.ts.t, i: 0 }, input: cutoff.input };
}

const MAX_ORDINAL = 0xffffffff;
const INFINITY: Ts = { t: Number.MAX_SAFE_INTEGER, i: 0 };

function prevTs(ts: Ts): Ts {
  return ts.i > 0 ? { t: ts.t, i: ts.i - 1 } : { t: ts.t - 1, i: MAX_ORDINAL };
}

function tsEq(a: Ts, b: Ts): boolean {
  return compareTs(a, b) === 0;
}

function intersect(a: Span, b: Span): Span | undefined {
  const lo = compareTs(a.lo, b.lo) >= 0 ? a.lo : b.lo;
  const hi = compareTs(a.hi, b.hi) <= 0 ? a.hi : b.hi;
  return compareTs(lo, hi) <= 0 ? { lo, hi } : undefined;
}

/** The parts of `span` outside every span of `taken`. */
function subtract(span: Span, taken: readonly Span[]): Span[] {
  let parts: Span[] = [span];
  for (const cut of taken) {
    parts = parts.flatMap((part) => {
      if (!intersect(part, cut)) return [part];
      const out: Span[] = [];
      if (compareTs(part.lo, cut.lo) < 0) out.push({ lo: part.lo, hi: prevTs(cut.lo) });
      if (compareTs(part.hi, cut.hi) > 0) out.push({ lo: nextTs(cut.hi), hi: part.hi });
      return out;
    });
  }
  return parts;
}
