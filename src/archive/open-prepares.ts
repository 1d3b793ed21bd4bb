// The prepared (distributed) transactions an archive leaves undecided, kept on every oplog
// object's record so that the manifest alone says which cutoffs are decidable: a cutoff after a
// prepare needs that transaction's commit or abort (restore/prepared-cutoff.ts), and one that is
// not archived yet makes the cutoff unrestorable. Pure.
//
// How a shard logs one (db/op_observer/op_observer_impl.cpp onTransactionPrepare and
// onPreparedTransactionCommit / onTransactionAbort, db/transaction/transaction_participant.cpp):
// the `applyOps` command entry with `o.prepare: true`, lsid and txnNumber at the prepare
// timestamp, then `{commitTransaction: 1, commitTimestamp}` or `{abortTransaction: 1}` with the
// same lsid and txnNumber. A prepared transaction is never aborted by the server on its own
// (transactionLifetimeLimitSeconds spares prepared ones): it stays open until its coordinator
// decides, so the set is carried from object to object for as long as it takes.
//
// What is recorded is only the prepare's ts and a hash of lsid + txnNumber: an encrypted chain's
// records name no namespace and hold no data (the uid in an lsid is itself a hash of a user name).
import { createHash } from 'node:crypto';
import { BSON, type Document } from 'mongodb';
import { compareTs, type Ts } from '../timestamp.ts';
import type { Chain, OpenPrepareRecord, OplogObject } from './manifest.ts';
import { chainEnd } from './manifest.ts';
import type { RawOplogEntry } from './oplog-header.ts';

/** Command entries that hold none of these element names are no prepare and no decision. */
const MARKERS = ['prepare', 'commitTransaction', 'abortTransaction'].map((name) => Buffer.from(`${name}\0`));

/**
 * The set of open prepares along a stream of entries in ts order, started from the set the
 * previous object ended with. Memory: one small record per open prepare; a candidate entry is
 * decoded without its applyOps operations (they stay raw bytes).
 */
export class OpenPrepares {
  readonly #open = new Map<string, Ts>();

  constructor(carried: readonly OpenPrepareRecord[] = []) {
    for (const record of carried) this.#open.set(record.id, record.ts);
  }

  /** Takes the next archived entry. */
  observe(entry: RawOplogEntry): void {
    if (entry.header.op !== 'c' || !MARKERS.some((marker) => entry.raw.includes(marker))) return;
    const decoded = BSON.deserialize(entry.raw, { fieldsAsRaw: { applyOps: true } });
    const kind = transactionEventOf(decoded);
    if (!kind) return;
    const id = transactionHash(decoded.lsid, decoded.txnNumber);
    if (kind === 'prepare') this.#open.set(id, entry.header.ts);
    else this.#open.delete(id);
  }

  /** The prepares open after the last observed entry, oldest first. */
  records(): OpenPrepareRecord[] {
    return [...this.#open].map(([id, ts]) => ({ ts, id })).sort((a, b) => compareTs(a.ts, b.ts));
  }
}

/** Whether a decoded entry prepares a transaction, decides one, or neither. */
export function transactionEventOf(entry: Document): 'prepare' | 'decision' | undefined {
  const o: unknown = entry.o;
  if (entry.op !== 'c' || typeof o !== 'object' || o === null || entry.lsid === undefined || entry.txnNumber === undefined) return undefined;
  if ('applyOps' in o && ((o as { prepare?: unknown }).prepare === true || entry.prepare === true)) return 'prepare';
  if ('commitTransaction' in o || 'abortTransaction' in o) return 'decision';
  return undefined;
}

/**
 * An opaque id of one transaction: sha256 over the lsid (canonical extended JSON, in the field
 * order the server writes it, the same for the prepare and its decision) and the txnNumber.
 */
export function transactionHash(lsid: unknown, txnNumber: unknown): string {
  // A Long (the server's int64) and a plain number print the same decimal.
  const number = String(txnNumber);
  const session = BSON.EJSON.stringify({ lsid }, { relaxed: false });
  return createHash('sha256').update(`${session}#${number}`).digest('hex').slice(0, 32);
}

/**
 * The prepares undecided at the chain's archived end, or undefined when that is unknown (the
 * chain's last record predates this field, or was written after one that did).
 */
export function openPreparesAtEnd(chain: Chain): readonly OpenPrepareRecord[] | undefined {
  return chainEnd(chain).openPrepares;
}

/**
 * The earliest prepare whose commit or abort the chain has not archived: no cutoff after it is
 * restorable from this chain until a later pass archives the decision. Undefined when every
 * prepare is decided, or when the records do not say (then replay finds out at its end).
 * For cluster/cluster-window.ts MemberWindows.undecidedPrepare.
 */
export function earliestUndecidedPrepare(chain: Chain): Ts | undefined {
  let earliest: Ts | undefined;
  for (const { ts } of openPreparesAtEnd(chain) ?? []) if (!earliest || compareTs(ts, earliest) < 0) earliest = ts;
  return earliest;
}

/** The set to start a new object from: the previous object's, or undefined where it is unknown. */
export function carriedFrom(previous: OplogObject): OpenPrepares | undefined {
  return previous.openPrepares ? new OpenPrepares(previous.openPrepares) : undefined;
}

/** Passes entries through, showing each to the set (when there is one). */
export async function* trackingPrepares(entries: AsyncIterable<RawOplogEntry>, prepares: OpenPrepares | undefined): AsyncGenerator<RawOplogEntry> {
  for await (const entry of entries) {
    prepares?.observe(entry);
    yield entry;
  }
}
