// How replayed oplog reaches a target. restore/replay.ts turns the archived oplog into units
// (CRUD batches, commands, committed transactions) and hands them to one of two appliers:
//   applyops-applier.ts — the server's own `applyOps` (real MongoDB), batched;
//   portable-applier.ts — CRUD through bulkWrite and commands through their own verbs, for
//                         targets without `applyOps` (FerretDB, DocumentDB, shared Atlas tiers).
import type { Document } from 'mongodb';
import type { OplogEntry } from '../oplog-entry.ts';

/** A `c` entry translated into the command to run on the target (target/command-ops.ts). */
export interface CommandPlan {
  /** Database to run `command` on. */
  readonly db: string;
  readonly command: Document;
  /** The oplog entry it came from, for receipts and errors. */
  readonly entry: OplogEntry;
  /**
   * Errors codes that mean "already so" when replaying twice, e.g. NamespaceExists (48) for a
   * create, NamespaceNotFound (26) for a drop, IndexNotFound (27) for dropIndexes.
   */
  readonly ignoreCodes: readonly number[];
}

export interface ApplyStats {
  inserted: number;
  updated: number;
  deleted: number;
  /** Updates whose document no longer exists (deleted later in the oplog, or seen twice). */
  missing: number;
  commands: number;
  transactions: number;
}

export interface Applier {
  readonly mode: 'applyOps' | 'portable';
  /**
   * Applies i/u/d entries. The batch keeps oplog order for each (ns, _id); entries of different
   * documents may be applied in any order or in parallel. Idempotent: inserts act as upserts,
   * an update of a missing document is counted in `missing`, a delete of one is a no-op.
   */
  applyCrud(batch: readonly OplogEntry[], signal?: AbortSignal): Promise<void>;
  /** Runs one command; the caller has made it a barrier (nothing else in flight). */
  applyCommand(plan: CommandPlan, signal?: AbortSignal): Promise<void>;
  /**
   * Applies the CRUD entries of one committed transaction: as one transaction on the target
   * where it supports transactions, otherwise in order.
   */
  applyTransaction(entries: readonly OplogEntry[], signal?: AbortSignal): Promise<void>;
  readonly stats: ApplyStats;
}

export function emptyApplyStats(): ApplyStats {
  return { inserted: 0, updated: 0, deleted: 0, missing: 0, commands: 0, transactions: 0 };
}
