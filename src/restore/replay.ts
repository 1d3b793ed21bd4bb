// Replays archived oplog onto a target, like `mongorestore --oplogReplay --oplogLimit`, but
// batched and parallel:
//   files → BSON frames → entries → transaction buffer → units
//     → cutoff (entries at or after it are not applied; a transaction goes by its commit)
//     → internal namespaces and --nsInclude/--nsExclude/--nsFrom/--nsTo
//     → CRUD into the partitioner's lanes; commands and transactions as barriers.
// The next file is read and decompressed while the lanes apply the previous batches.
import type { Applier } from '../target/applier.ts';
import { planCommand, refusedCommand, refusedCommandError } from '../target/command-ops.ts';
import { readBsonFile } from '../archive/bson-frames.ts';
import { decodeOplogEntry } from '../archive/bson-decode.ts';
import { isBeforeCutoff, formatTs, tsFromBson, type Cutoff } from '../timestamp.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { TransactionBuffer, unitTs, unitWall, type ReplayUnit } from './transaction-buffer.ts';
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
}

export interface ReplayOptions {
  readonly applier: Applier;
  /**
   * Local oplog files in ts order: the base's consistency oplog, then the chunks; or a feed that
   * yields each once it is downloaded (restore/chunk-feed.ts).
   */
  readonly files: Iterable<string> | AsyncIterable<string>;
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

  /** `bytes`: the BSON size of an op unit's entry, when known. */
  const handle = async (unit: ReplayUnit, bytes?: number): Promise<boolean> => {
    if (!isBeforeCutoff(unitTs(unit), unitWall(unit), options.cutoff)) {
      receipt.firstSkipped = refOf(unit.kind === 'op' ? unit.entry : unit.commit);
      return false;
    }
    if (unit.kind === 'txn') {
      const entries = unit.entries.flatMap((entry) => mapped(entry));
      if (entries.length > 0) {
        await lanes.drain();
        await applier.applyTransaction(entries, signal);
        for (const entry of entries) applied(entry, entry.ns);
      }
      return true;
    }
    if (unit.entry.op === 'n') return void skip('noop'), true;
    for (const entry of mapped(unit.entry)) {
      if (entry.op === 'c') await commandUnlessRefused(entry);
      else await lanes.push(entry, bytes);
      if (entry.op !== 'c') applied(entry, entry.ns);
    }
    options.onProgress?.(receipt.applied, read);
    return true;
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

  let stopped = false;
  let read = 0;
  for await (const file of options.files) {
    for await (const raw of readBsonFile(file, { signal })) {
      read++;
      const entry = decodeOplogEntry(raw);
      for (const unit of buffer.push(entry)) {
        if (!(await handle(unit, unit.kind === 'op' && unit.entry === entry ? raw.length : undefined))) {
          stopped = true;
          break;
        }
      }
      if (stopped) break;
    }
    if (stopped) break;
  }
  if (!stopped) for (const unit of buffer.end()) if (!(await handle(unit))) break;
  await lanes.drain();
  receipt.pendingTransactions = stopped ? 0 : buffer.pending().length;
  receipt.transactionsStartedBefore = buffer.startedBefore();
  return receipt;
}

function refOf(entry: OplogEntry): OpRef {
  return {
    ts: formatTs(tsFromBson(entry.ts)),
    wall: entry.wall ? entry.wall.toISOString() : null,
    ns: entry.ns,
    op: entry.op,
  };
}
