// Replay through the server's own `applyOps`, as mongorestore --oplogReplay does, but batched:
// one command carries many entries. How ops are shaped and which command options each server
// version takes: applyops-commands.ts. How the reply is read, and why an update of a document
// the target lacks is counted as missing rather than upserted: applyops-reply.ts. Together they
// give the documents the portable applier gives (fold-batch.ts): an insert of an existing _id
// replaces it, a replacement update upserts, a modifier update of a missing document is
// counted in stats.missing, a delete of a missing document does nothing.
import { MongoServerError, type MongoClient } from 'mongodb';
import { TargetError } from '../errors.ts';
import { formatTs, tsFromBson } from '../timestamp.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { applyCreatingCollections } from './missing-collections.ts';
import { emptyApplyStats, type Applier, type ApplyStats, type CommandPlan } from './applier.ts';
import { MAX_APPLY_OPS_COMMAND_BYTES, applyOpsCommand, splitApplyOps, toApplyOp, type ApplyOpsDialect } from './applyops-commands.ts';
import { counted } from '../words.ts';

export class ApplyOpsApplier implements Applier {
  readonly mode = 'applyOps' as const;
  readonly stats: ApplyStats = emptyApplyStats();
  readonly #client: MongoClient;
  readonly #dialect: ApplyOpsDialect;

  /** `dialect`: the command form this target takes, from the probe (open-target.ts). */
  constructor(client: MongoClient, dialect: ApplyOpsDialect = 'current') {
    this.#client = client;
    this.#dialect = dialect;
  }

  /**
   * Sends the batch as applyOps commands, each under the server's size limit
   * (applyops-commands.ts): one command for a batch that fits, in order. `n` entries change
   * nothing and are not sent (the server skips them without a result, applyops-reply.ts).
   */
  async applyCrud(batch: readonly OplogEntry[]): Promise<void> {
    const entries = batch.filter((entry) => entry.op !== 'n');
    if (entries.length === 0) return;
    let first = 0;
    let missing = 0;
    for (const ops of splitApplyOps(entries.map(toApplyOp), MAX_APPLY_OPS_COMMAND_BYTES, this.#dialect)) {
      const from = entries[first];
      try {
        // A collection dropped before the base's catalog read is created for its ops (missing-collections.ts).
        const applied = await applyCreatingCollections(this.#client, ops, (pending) => this.#client.db('admin').command(applyOpsCommand(pending, this.#dialect)));
        missing += applied.missing;
      } catch (error) {
        throw new TargetError(`applyOps of ${counted(ops.length, 'op')} from ${from ? describe(from) : '?'} failed: ${(error as Error).message}`, { cause: error });
      }
      first += ops.length;
    }
    this.#count(entries, missing);
  }

  /**
   * A transaction that fits one command goes as one; a larger one (logged as a partialTxn
   * chain because it was over 16 MiB) is cut into consecutive commands, in transaction order.
   */
  async applyTransaction(entries: readonly OplogEntry[]): Promise<void> {
    await this.applyCrud(entries);
    this.stats.transactions++;
  }

  async applyCommand(plan: CommandPlan): Promise<void> {
    try {
      await this.#client.db(plan.db).command(plan.command);
    } catch (error) {
      if (!(error instanceof MongoServerError && plan.ignoreCodes.includes(Number(error.code)))) {
        throw new TargetError(`${describe(plan.entry)} failed on the target: ${(error as Error).message}`, { cause: error });
      }
    }
    this.stats.commands++;
  }

  /** Counts as the portable applier does: an update of a missing document is `missing`, not `updated`. */
  #count(entries: readonly OplogEntry[], missing: number): void {
    for (const entry of entries) {
      if (entry.op === 'i') this.stats.inserted++;
      else if (entry.op === 'u') this.stats.updated++;
      else if (entry.op === 'd') this.stats.deleted++;
    }
    this.stats.updated -= missing;
    this.stats.missing += missing;
  }
}

function describe(entry: OplogEntry): string {
  return `${entry.op} ${entry.ns} at ${formatTs(tsFromBson(entry.ts))}`;
}
