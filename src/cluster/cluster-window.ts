// What cutoffs a whole cluster restores to: those every member chain reaches, after a cluster
// base, before any prepare whose decision is not archived. Pure.
import type { RestoreWindow } from '../archive/chain-window.ts';
import type { Ts } from '../timestamp.ts';
import { InternalStub } from './stub.ts';

/** One member (config or shard) as the replica-set chain math sees it. */
export interface MemberWindows {
  readonly name: string;
  /** One per chain (chain-window.ts windowOf, damage already applied); cutoffs between them are gaps. */
  readonly windows: readonly RestoreWindow[];
  /**
   * The earliest prepare (prepared-cutoff.ts undecidedPrepares) whose commit or abort is not in
   * the member's archive: no cutoff after it is decidable in a window that contains it.
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
  /** Per member, the chain the window uses (a restore plans each member in it). */
  readonly chains: ReadonlyMap<string, string>;
  /** What set `from` and `to`. */
  readonly limits: readonly WindowLimit[];
}

export interface ClusterWindowReport {
  readonly windows: readonly ClusterWindow[];
  /** Bases that give no window, and every member limit, for status. */
  readonly limits: readonly WindowLimit[];
}

export function clusterWindows(members: readonly MemberWindows[], bases: readonly ClusterBase[]): ClusterWindowReport {
  void members; void bases;
  throw new InternalStub('clusterWindows');
}
