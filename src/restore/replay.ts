// Replays archived oplog onto a target, like `mongorestore --oplogReplay --oplogLimit`, but
// batched and parallel:
//   files → BSON frames → entries → transaction buffer → units
//     → cutoff (entries at or after it are not applied; a transaction goes by its commit, a
//       prepared one by its commitTimestamp, read on past the cutoff until it is decided:
//       prepared-cutoff.ts)
//     → internal namespaces and --nsInclude/--nsExclude/--nsFrom/--nsTo
//     → CRUD into the partitioner's lanes; commands and transactions as barriers.
// The next file is read and decompressed while the lanes apply the previous batches.
import type { Applier } from '../target/applier.ts';
import { planCommand, refusedCommand, refusedCommandError } from '../target/command-ops.ts';
import { readBsonFile } from '../archive/bson-frames.ts';
import { decodeOplogEntry } from '../archive/bson-decode.ts';
import { formatTs, isBeforeCutoff, tsFromBson, tsToDate, type Cutoff } from '../timestamp.ts';
import { tsWords } from '../archive/window-words.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { UsageError } from '../errors.ts';
import { TransactionBuffer, unitTs, unitWall, type PendingTransaction, type ReplayUnit } from './transaction-buffer.ts';
import { commitTimestampOf, preparedCommitApplies, prepareNeedsDecision, unitApplies } from './prepared-cutoff.ts';
import { Partitioner } from './partition.ts';
import type { NamespaceMapper } from './namespace-mapper.ts';
import { SerialNamespaces } from './serial-namespaces.ts';

export interface OpRef {
  readonly ts: string;
  readonly wall: string | null;
  readonly ns: string;
  readonly op: string;
}

export interface ReplayReceipt {
  readonly lastApplied: OpRef | null;
  readonly firstSkipped: OpRef | null;
  /** Entries applied, by target namespace. */
  readonly appliedByNs: Record<string, number>;
  readonly applied: number;
  /** Entries read but not applied, by reason. */
  readonly skipped: Record<string, number>;
  /** Transactions whose commit was not archived (or is past the cutoff). */
  readonly pendingTransactions: number;
  /** Transactions that began before the first replayed entry: applied from there on. */
  readonly transactionsStartedBefore: number;
  /**
   * Prepared transactions whose decision replay read, prepared before the cutoff (all of them
   * without one), by that decision: committed at a commitTimestamp before the cutoff (applied),
   * at or after it (not applied), or aborted. Their commit entries may lie past the cutoff.
   */
  readonly preparedTransactions: PreparedDecisions;
}

export interface PreparedDecisions {
  committed: number;
  committedAtOrAfterCutoff: number;
  aborted: number;
}

export interface ReplayOptions {
  readonly applier: Applier;
  /**
   * Local oplog files in ts order: the base's consistency oplog, then the chunks; or a feed that
   * yields each once it is downloaded (restore/chunk-feed.ts).
   */
  readonly files: Iterable<string> | AsyncIterable<string>;
  /**
   * The chain's oplog objects after `files` (those that begin at or after the cutoff), opened
   * only when `files` end while a transaction prepared before the cutoff still awaits its
   * commitTransaction or abortTransaction (prepared-cutoff.ts); read only until it has it.
   */
  readonly decisionFiles?: () => Iterable<string> | AsyncIterable<string>;
  readonly cutoff?: Cutoff;
  readonly namespaces: NamespaceMapper;
  readonly lanes?: number;
  readonly batchOps?: number;
  /**
   * Skip (and count) commands replay does not know or cannot replay instead of failing on the
   * first one: the target then differs from the source by whatever they did.
   */
  readonly skipUnknownCommands?: boolean;
  /**
   * Target namespaces whose writes stay in one lane (capped, non-simple collation), as known
   * before the first entry (the base's metadata, the target's collections); replay adds what
   * its commands create.
   */
  readonly serialNamespaces?: SerialNamespaces;
  readonly signal?: AbortSignal;
  /** `read`: entries read from the files so far, against the manifest's counts for a total. */
  readonly onProgress?: (applied: number, read: number) => void;
}

export async function replay(options: ReplayOptions): Promise<ReplayReceipt> {
  const { applier, namespaces, signal } = options;
  const receipt = {
    lastApplied: null as OpRef | null,
    firstSkipped: null as OpRef | null,
    appliedByNs: {} as Record<string, number>,
    applied: 0,
    skipped: {} as Record<string, number>,
    pendingTransactions: 0,
    transactionsStartedBefore: 0,
    preparedTransactions: { committed: 0, committedAtOrAfterCutoff: 0, aborted: 0 } as PreparedDecisions,
  };
  const skip = (reason: string, count = 1): void => void (receipt.skipped[reason] = (receipt.skipped[reason] ?? 0) + count);
  const applied = (entry: OplogEntry, ns: string): void => {
    receipt.applied++;
    receipt.appliedByNs[ns] = (receipt.appliedByNs[ns] ?? 0) + 1;
    receipt.lastApplied = refOf(entry);
  };
  const serial = options.serialNamespaces ?? new SerialNamespaces();
  const lanes = new Partitioner((batch) => applier.applyCrud(batch, signal), {
    lanes: options.lanes,
    batchOps: options.batchOps,
    isSerial: (ns) => serial.has(ns),
  });
  const buffer = new TransactionBuffer();

  /**
   * Past the cutoff: a unit was not applied. From there on only the prepared transactions the
   * cutoff still lets in (commitTimestamp before it, commit entry after it) are applied.
   */
  let pastCutoff = false;
  /** `bytes`: the BSON size of an op unit's entry, when known. */
  const handle = async (unit: ReplayUnit, bytes?: number): Promise<void> => {
    const applies = unitApplies(unit, options.cutoff) && (!pastCutoff || unit.commitTimestamp !== undefined);
    if (!applies) {
      // A prepared transaction logged before the cutoff but committed at a commitTimestamp the
      // cutoff leaves out (its second, under a millisecond cutoff) is skipped without ending
      // the entries before the cutoff.
      if (!pastCutoff && isBeforeCutoff(unitTs(unit), unitWall(unit), options.cutoff)) return void skip('prepared transaction committed at or after the cutoff');
      if (!pastCutoff) receipt.firstSkipped = refOf(unit.kind === 'op' ? unit.entry : unit.commit);
      pastCutoff = true;
      return;
    }
    if (unit.kind === 'txn') {
      const entries = unit.entries.flatMap((entry) => mapped(entry));
      if (entries.length > 0) {
        await lanes.drain();
        await applier.applyTransaction(entries, signal);
        for (const entry of entries) applied(entry, entry.ns);
      }
      return;
    }
    if (unit.entry.op === 'n') return void skip('noop');
    for (const entry of mapped(unit.entry)) {
      if (entry.op === 'c') await commandUnlessRefused(entry);
      else await lanes.push(entry, bytes);
      if (entry.op !== 'c') applied(entry, entry.ns);
    }
    options.onProgress?.(receipt.applied, read);
  };
  /** Namespace rules and internal namespaces: the entries to apply, [] when skipped. */
  const mapped = (entry: OplogEntry): readonly OplogEntry[] => {
    const mapping = namespaces.mapEntry(entry);
    if ('skip' in mapping) return void skip(mapping.skip), [];
    return mapping.apply;
  };
  /** A command is a barrier: every lane drains before it runs. */
  const command = async (entry: OplogEntry): Promise<void> => {
    const plan = planCommand(entry, applier.mode);
    if ('skip' in plan) return void skip(`command: ${plan.skip}`);
    await lanes.drain();
    await applier.applyCommand(plan, signal);
    // Every lane is empty here, so a namespace turning serial cannot leave writes behind in
    // another lane.
    serial.noteCommand(entry);
    applied(entry, `${plan.db}.$cmd`);
  };
  /** A command replay must not skip silently stops it, unless skipUnknownCommands says skip. */
  const commandUnlessRefused = async (entry: OplogEntry): Promise<void> => {
    const refused = refusedCommand(entry);
    if (refused !== undefined && !options.skipUnknownCommands) {
      // Everything before it is applied: the target stands exactly at the command's ts.
      await lanes.drain();
      throw refusedCommandError(entry, refused);
    }
    await command(entry);
  };

  /** Counts the decision of a prepared transaction the cutoff needs decided (before pushing it). */
  const countDecision = (entry: OplogEntry): void => {
    const prepared = buffer.preparedDecidedBy(entry);
    if (!prepared || (options.cutoff && !prepareNeedsDecision(prepared.ts, prepared.wall, options.cutoff))) return;
    const decisions = receipt.preparedTransactions;
    // A commit entry without commitTimestamp (none is written so) is decided by its own ts, as the buffer does.
    if (!('commitTransaction' in entry.o)) decisions.aborted++;
    else if (preparedCommitApplies(commitTimestampOf(entry) ?? tsFromBson(entry.ts), options.cutoff)) decisions.committed++;
    else decisions.committedAtOrAfterCutoff++;
  };
  /** Done once past the cutoff with no prepared transaction before it left undecided. */
  const done = (): boolean => pastCutoff && buffer.awaitingDecision(options.cutoff).length === 0;
  let read = 0;
  const readFiles = async (files: Iterable<string> | AsyncIterable<string>): Promise<boolean> => {
    for await (const file of files) {
      for await (const raw of readBsonFile(file, { signal })) {
        read++;
        const entry = decodeOplogEntry(raw);
        countDecision(entry);
        for (const unit of buffer.push(entry)) await handle(unit, unit.kind === 'op' && unit.entry === entry ? raw.length : undefined);
        if (done()) return true;
      }
    }
    return false;
  };
  let stopped = await readFiles(options.files);
  if (!stopped && options.decisionFiles && buffer.awaitingDecision(options.cutoff).length > 0) stopped = await readFiles(options.decisionFiles());
  if (!stopped) for (const unit of buffer.end()) await handle(unit);
  await lanes.drain();
  const undecided = buffer.awaitingDecision(options.cutoff);
  if (undecided.length > 0) throw undecidedPrepare(undecided, options.cutoff);
  receipt.pendingTransactions = stopped ? 0 : buffer.pending().length;
  receipt.transactionsStartedBefore = buffer.startedBefore();
  return receipt;
}

/**
 * The cutoff needs the decision of a transaction prepared before it, and the archive ends
 * first: whether its writes belong at the cutoff is unknown. Everything else before the cutoff
 * is applied by then.
 */
function undecidedPrepare(undecided: readonly PendingTransaction[], cutoff: Cutoff | undefined): UsageError {
  const first = undecided[0];
  // Its time first, the position beside it: what --until takes to restore up to just before it.
  const at = first ? tsWords(first.lastTs, { positions: true }) : '?';
  const until = first ? ` (--until ${formatTs(first.lastTs)}, or ${tsToDate(first.lastTs).toISOString()})` : '';
  return new UsageError(
    `--until ${cutoff?.input ?? ''} is past a transaction prepared at ${at} whose commit or abort is not archived yet ` +
      `(${undecided.length} such): its writes may or may not belong at the cutoff; the target holds every other write before the cutoff`,
    { hint: `restore to a cutoff at or before it${until}, or once the archive holds the decision (the next pass or stream flush)` },
  );
}

function refOf(entry: OplogEntry): OpRef {
  return {
    ts: formatTs(tsFromBson(entry.ts)),
    wall: entry.wall ? entry.wall.toISOString() : null,
    ns: entry.ns,
    op: entry.op,
  };
}
