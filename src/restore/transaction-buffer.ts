// Turns oplog entries, in ts order, into replay units: a plain entry (CRUD, command, no-op), or
// the CRUD entries of one committed transaction, applied all-or-nothing.
//
// How MongoDB logs transactions (the server's src/mongo/db/repl/oplog_entry.cpp and
// transaction_participant.cpp; https://www.mongodb.com/docs/manual/core/transactions-production-consideration/
// for the 16 MiB-per-entry split; mongo-tools common/txn/meta.go reads the same fields):
//   - every transaction entry is an `applyOps` command (op "c", ns "admin.$cmd") carrying the
//     session (`lsid`) and `txnNumber`, linked to the previous entry of the same transaction by
//     `prevOpTime` ({ts: Timestamp(0, 0), t: -1} on the first one);
//   - a transaction that fits one entry is one applyOps: it is committed by being there;
//   - a large one (4.2+) is several applyOps, all but the last marked `partialTxn: true`; the
//     last one commits it;
//   - a prepared one (sharded, 4.2+) ends with an applyOps marked `prepare: true`, then later a
//     `{commitTransaction: 1, commitTimestamp}` or `{abortTransaction: 1}` entry with the same
//     lsid and txnNumber;
//   - `partialTxn` and `prepare` sit inside `o` (ApplyOpsCommandInfo); they are read from the
//     top level too, where src/oplog-entry.ts declares them.
// Not transactions, and expanded into their inner ops instead:
//   - `applyOps` without lsid/txnNumber (the applyOps command itself, batched deletes, 3.6-era
//     multi-op entries);
//   - `applyOps` with `multiOpType: 1` (kApplyOpsAppliedSeparately, 8.0+): a retryable write's
//     vectored insert, whose ops the server applies one by one (oplog_entry.cpp,
//     applyOpsIsLinkedTransactionally; change streams treat it the same way).
// Applying part of a transaction would be silently wrong, so a broken chain inside the input is
// an IntegrityError: an entry whose prevOpTime names an entry that should be in the input but
// was not seen, or not the last one seen (an entry is missing). The one exception is a
// transaction that began before the input did (a base's oplog starting at T0 inside one):
// what the input holds of it is applied on its commit, and `startedBefore()` counts them, so
// the receipt can say so. Backup avoids this by starting a base's oplog at the first entry of
// a transaction chain that crosses T0.
//
// Memory bound: only open transactions are held, i.e. the inner ops of every transaction whose
// last entry (commit or abort) has not arrived yet. Unprepared transactions are written
// contiguously at commit, so they are open for a few entries; a prepared transaction stays open
// from its prepare entry to its commitTransaction/abortTransaction.
import { BSON } from 'mongodb';
import type { Document, Timestamp } from 'mongodb';
import type { OplogEntry } from '../oplog-entry.ts';
import { IntegrityError, PitrError } from '../errors.ts';
import { compareTs, formatTs, tsEquals, tsFromBson } from '../timestamp.ts';
import type { Cutoff, Ts } from '../timestamp.ts';
import { commitTimestampOf, prepareNeedsDecision } from './prepared-cutoff.ts';

/** One thing replay applies: an entry, or a committed transaction's CRUD entries. */
export type ReplayUnit =
  | {
      readonly kind: 'op';
      readonly entry: OplogEntry;
      /** Set on the commands of a prepared transaction: its commitTimestamp (prepared-cutoff.ts). */
      readonly commitTimestamp?: Ts;
    }
  | {
      readonly kind: 'txn';
      /** i/u/d entries in transaction order, each stamped with the commit's ts, t and wall. */
      readonly entries: readonly OplogEntry[];
      /** The entry that committed it: its ts (and wall) place the unit in the replay order. */
      readonly commit: OplogEntry;
      /**
       * A prepared transaction's commitTimestamp, which decides it at a cutoff instead of the
       * commit entry's own, later, ts (prepared-cutoff.ts).
       */
      readonly commitTimestamp?: Ts;
    };

/** A transaction seen in part whose commit never arrived (reported, never applied). */
export interface PendingTransaction {
  /** Canonical text of the lsid and txnNumber. */
  readonly id: string;
  readonly firstTs: Ts;
  readonly lastTs: Ts;
  /** Inner ops buffered so far. */
  readonly ops: number;
  /** True once its `prepare: true` entry was seen: it waits for commitTransaction. */
  readonly prepared: boolean;
}

/** The position of a unit in the oplog: its commit's for a transaction. */
export function unitTs(unit: ReplayUnit): Ts {
  return tsFromBson(unit.kind === 'op' ? unit.entry.ts : unit.commit.ts);
}

/** The wall clock of a unit (for --until with milliseconds), its commit's for a transaction. */
export function unitWall(unit: ReplayUnit): Date | undefined {
  return unit.kind === 'op' ? unit.entry.wall : unit.commit.wall;
}

/** `multiOpType` value meaning "apply these ops separately" (MultiOplogEntryType, 8.0+). */
const APPLY_OPS_APPLIED_SEPARATELY = '1';

interface OpenTransaction {
  readonly id: string;
  readonly firstTs: Ts;
  lastTs: Ts;
  prepared: boolean;
  /** The `prepare: true` entry's wall clock, once seen (its ts is then `lastTs`). */
  prepareWall?: Date;
  /** Inner ops as logged (nested applyOps already flattened). */
  readonly ops: Document[];
}

/** What an entry is to a transaction (the buffer's view; first-visible-op.ts reads it too). */
export type EntryKind = 'plain' | 'expand' | 'txn-data' | 'txn-commit-data' | 'commit' | 'abort';

/**
 * Feed entries one at a time with `push`, call `end` after the last; `pending` then lists the
 * transactions left open (not applied: their commit is past the end of the input).
 */
export class TransactionBuffer {
  readonly #open = new Map<string, OpenTransaction>();
  #ended = false;
  /** The ts of the first entry pushed: chains that link to before it began before the input. */
  #inputStart: Ts | undefined;
  #startedBefore = 0;

  push(entry: OplogEntry): ReplayUnit[] {
    if (this.#ended) throw new PitrError('TransactionBuffer.push called after end()');
    this.#inputStart ??= tsFromBson(entry.ts);
    switch (kindOf(entry)) {
      case 'plain':
        return [{ kind: 'op', entry }];
      case 'expand':
        return expandApplyOps(entry).map((inner) => ({ kind: 'op', entry: inner }));
      case 'txn-data':
        this.#append(entry);
        return [];
      case 'txn-commit-data':
        this.#append(entry);
        return this.#finish(entry);
      case 'commit':
        return this.#commit(entry);
      case 'abort':
        // An abort of a transaction we never saw has nothing to undo.
        this.#open.delete(transactionId(entry));
        return [];
    }
  }

  /** Marks the end of the input. Open transactions are not emitted: see `pending()`. */
  end(): ReplayUnit[] {
    this.#ended = true;
    return [];
  }

  /** Transactions that began before the first entry of the input (applied from there on). */
  startedBefore(): number {
    return this.#startedBefore;
  }

  /** True when `prev` lies before the input: the chain began before we could see it. */
  #beforeInput(prev: Ts): boolean {
    return this.#inputStart !== undefined && compareTs(prev, this.#inputStart) < 0;
  }

  /** Transactions seen in part and not yet committed or aborted, oldest first. */
  pending(): PendingTransaction[] {
    return [...this.#open.values()]
      .map((txn) => ({
        id: txn.id,
        firstTs: txn.firstTs,
        lastTs: txn.lastTs,
        ops: txn.ops.length,
        prepared: txn.prepared,
      }))
      .sort((a, b) => compareTs(a.firstTs, b.firstTs));
  }

  /**
   * Transactions prepared and not yet decided whose decision the cutoff needs (their commit
   * could be applied at it: prepared-cutoff.ts prepareNeedsDecision), oldest first. Replay reads
   * on past the cutoff until this is empty; what is left at the end of the archive makes the
   * cutoff unrestorable.
   */
  awaitingDecision(cutoff: Cutoff | undefined): PendingTransaction[] {
    return this.pending().filter((txn) => {
      const open = this.#open.get(txn.id);
      return open !== undefined && open.prepared && prepareNeedsDecision(open.lastTs, open.prepareWall, cutoff);
    });
  }

  /**
   * For a commitTransaction or abortTransaction entry of a prepared transaction this buffer holds
   * open (push it next): the prepare's ts and wall clock. Undefined for any other entry.
   */
  preparedDecidedBy(entry: OplogEntry): { readonly ts: Ts; readonly wall: Date | undefined } | undefined {
    const kind = kindOf(entry);
    if (kind !== 'commit' && kind !== 'abort') return undefined;
    const txn = this.#open.get(transactionId(entry));
    return txn?.prepared ? { ts: txn.lastTs, wall: txn.prepareWall } : undefined;
  }

  #append(entry: OplogEntry): void {
    const id = transactionId(entry);
    const ts = tsFromBson(entry.ts);
    const prev = prevTs(entry);
    let txn = this.#open.get(id);
    if (!txn) {
      if (prev && !this.#beforeInput(prev)) throw missingStart(entry, prev);
      if (prev) this.#startedBefore++;
      txn = { id, firstTs: ts, lastTs: ts, prepared: false, ops: [] };
      this.#open.set(id, txn);
    } else if (!prev || !tsEquals(prev, txn.lastTs)) {
      throw brokenChain(id, entry, prev, txn.lastTs);
    }
    for (const op of flattenApplyOps(entry.o)) txn.ops.push(op);
    txn.lastTs = ts;
    if (flag(entry, 'prepare')) {
      txn.prepared = true;
      txn.prepareWall = entry.wall;
    }
  }

  #commit(entry: OplogEntry): ReplayUnit[] {
    const id = transactionId(entry);
    const txn = this.#open.get(id);
    const prev = prevTs(entry);
    if (!txn) {
      // Prepared before the input began: its operations are not in the input to apply.
      if (prev && this.#beforeInput(prev)) return void this.#startedBefore++, [];
      throw missingStart(entry, prev ?? tsFromBson(entry.ts));
    }
    if (prev && !tsEquals(prev, txn.lastTs)) throw brokenChain(id, entry, prev, txn.lastTs);
    return this.#finish(entry);
  }

  /** Closes a transaction: commands first (as ops), then its CRUD as one unit. */
  #finish(commit: OplogEntry): ReplayUnit[] {
    const id = transactionId(commit);
    const txn = this.#open.get(id);
    this.#open.delete(id);
    if (!txn) return [];
    const units: ReplayUnit[] = [];
    const crud: OplogEntry[] = [];
    // A prepared transaction is decided at a cutoff by its commitTimestamp; a commit entry
    // without one (none is written so) falls back to its own ts.
    const decided = txn.prepared ? { commitTimestamp: commitTimestampOf(commit) ?? tsFromBson(commit.ts) } : {};
    for (const op of txn.ops) {
      const entry = stampInner(op, commit);
      // Only create/createIndexes may run inside a transaction (4.4+); running them just
      // before the transaction's writes leaves the same state and keeps the unit CRUD-only.
      if (entry.op === 'c') units.push({ kind: 'op', entry, ...decided });
      else if (entry.op === 'i' || entry.op === 'u' || entry.op === 'd') crud.push(entry);
      // A no-op inside a transaction has nothing to apply.
    }
    if (crud.length > 0) units.push({ kind: 'txn', entries: crud, commit, ...decided });
    return units;
  }
}

/** Runs a stream of entries through a buffer; read `buffer.pending()` when it is done. */
export async function* replayUnits(
  entries: AsyncIterable<OplogEntry>,
  buffer: TransactionBuffer = new TransactionBuffer(),
): AsyncGenerator<ReplayUnit> {
  for await (const entry of entries) yield* buffer.push(entry);
  yield* buffer.end();
}

export function kindOf(entry: OplogEntry): EntryKind {
  if (entry.op !== 'c' || !isDocument(entry.o)) return 'plain';
  const o = entry.o;
  const session = entry.lsid !== undefined && entry.txnNumber !== undefined;
  if ('applyOps' in o) {
    if (!session || asInteger(entry.multiOpType) === APPLY_OPS_APPLIED_SEPARATELY) return 'expand';
    return flag(entry, 'partialTxn') || flag(entry, 'prepare') ? 'txn-data' : 'txn-commit-data';
  }
  if (session && 'commitTransaction' in o) return 'commit';
  if (session && 'abortTransaction' in o) return 'abort';
  return 'plain';
}

/** The inner ops of a non-transaction applyOps, nested applyOps expanded, as entries. */
function expandApplyOps(outer: OplogEntry): OplogEntry[] {
  return flattenApplyOps(outer.o).map((op) => stampInner(op, outer));
}

/** Inner op documents of an applyOps entry, recursing into nested applyOps commands. */
function flattenApplyOps(o: unknown): Document[] {
  const list = isDocument(o) ? o.applyOps : undefined;
  if (!Array.isArray(list)) throw malformed('applyOps is not an array');
  const ops: Document[] = [];
  for (const op of list) {
    if (!isDocument(op) || typeof op.op !== 'string' || !isDocument(op.o)) {
      throw malformed('an applyOps op lacks op or o');
    }
    if (op.op === 'c' && 'applyOps' in op.o) ops.push(...flattenApplyOps(op.o));
    else ops.push(op);
  }
  return ops;
}

/**
 * Makes an inner op an entry of its own. It takes the position (ts, t, wall) of the entry that
 * makes it happen: the applyOps for an expanded one, the commit for a transaction's, whose
 * writes become visible at commit. An inner op keeps its own `ns`; it is required by applyOps,
 * so the outer one is only a fallback.
 */
function stampInner(op: Document, outer: OplogEntry): OplogEntry {
  const { ts: _ts, t: _t, wall: _wall, ...rest } = op;
  const entry: OplogEntry = {
    ...rest,
    op: op.op,
    ns: typeof op.ns === 'string' ? op.ns : outer.ns,
    o: op.o,
    ts: outer.ts,
  };
  if (outer.t !== undefined) entry.t = outer.t;
  if (outer.wall !== undefined) entry.wall = outer.wall;
  return entry;
}

function flag(entry: OplogEntry, name: 'partialTxn' | 'prepare'): boolean {
  return entry[name] === true || (isDocument(entry.o) && entry.o[name] === true);
}

/** prevOpTime's ts, or undefined for the null link (Timestamp(0, 0)) or none. */
function prevTs(entry: OplogEntry): Ts | undefined {
  const ts: Timestamp | undefined = entry.prevOpTime?.ts;
  if (!ts) return undefined;
  const plain = tsFromBson(ts);
  return plain.t === 0 && plain.i === 0 ? undefined : plain;
}

function missingStart(entry: OplogEntry, prev: Ts): IntegrityError {
  return new IntegrityError(
    `transaction ${transactionId(entry)}: entry ${formatTs(tsFromBson(entry.ts))} continues ` +
      `a transaction whose earlier entries (from ${formatTs(prev)} or before) are not in the input`,
    { hint: 'start the replay at or before the first entry of every open transaction' },
  );
}

function brokenChain(
  id: string,
  entry: OplogEntry,
  prev: Ts | undefined,
  last: Ts,
): IntegrityError {
  return new IntegrityError(
    `transaction ${id}: entry ${formatTs(tsFromBson(entry.ts))} links to ` +
      `${prev ? formatTs(prev) : 'nothing'}, expected ${formatTs(last)}`,
    { hint: 'an oplog entry of this transaction is missing: check the chunks for a gap' },
  );
}

function malformed(what: string): IntegrityError {
  return new IntegrityError(`malformed oplog entry: ${what}`);
}

/**
 * Identifies a transaction: the whole lsid (id and uid; internal sessions, 6.0+, add txnNumber
 * and txnUUID inside it) plus txnNumber, in a canonical text so that the same values compare
 * equal however they were decoded (Long or number, promoted or not).
 */
export function transactionId(entry: OplogEntry): string {
  const txnNumber = asInteger(entry.txnNumber);
  if (txnNumber === undefined) throw malformed('txnNumber is not an integer');
  return `${canonical(entry.lsid)}#${txnNumber}`;
}

function canonical(value: unknown): string {
  const integer = asInteger(value);
  if (integer !== undefined) return integer;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value instanceof Date) return `date(${value.getTime()})`;
  if (hasBsonType(value)) {
    // Binary (lsid.id is a UUID, lsid.uid a SHA-256 digest), ObjectId, ...: their BSON bytes.
    return `${value._bsontype}(${Buffer.from(BSON.serialize({ v: value })).toString('hex')})`;
  }
  if (isDocument(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return String(value);
}

/** Decimal text of an integer however it was decoded: number, bigint, Int32, Long. */
function asInteger(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return value.toString();
  if (hasBsonType(value) && value._bsontype === 'Long') return value.toString();
  if (hasBsonType(value) && value._bsontype === 'Int32') return String(value.valueOf());
  return undefined;
}

function hasBsonType(
  value: unknown,
): value is { _bsontype: string; valueOf(): unknown; toString(): string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { _bsontype?: unknown })._bsontype === 'string'
  );
}

function isDocument(value: unknown): value is Document {
  if (typeof value !== 'object' || value === null) return false;
  return !Array.isArray(value) && !hasBsonType(value);
}
