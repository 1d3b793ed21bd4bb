// Replay through the server's own `applyOps`, as mongorestore --oplogReplay does, but batched:
// one command carries many entries. `ui` (the source collection's UUID) is dropped because the
// target's collections have their own; in applyOps mode the server turns an insert of an
// existing _id into an update and a missing update target into an upsert (each update carries
// its own upsert flag, see upsertingUpdates), which is what makes replaying over a dump that
// already saw the op harmless.
import { MongoServerError, type Document, type MongoClient } from 'mongodb';
import { TargetError } from '../errors.ts';
import { formatTs, tsFromBson } from '../timestamp.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { applyCreatingCollections } from './missing-collections.ts';
import { emptyApplyStats, type Applier, type ApplyStats, type CommandPlan } from './applier.ts';
import { applyOpsCommand, splitApplyOps } from './applyops-commands.ts';

export class ApplyOpsApplier implements Applier {
  readonly mode = 'applyOps' as const;
  readonly stats: ApplyStats = emptyApplyStats();
  readonly #client: MongoClient;

  constructor(client: MongoClient) {
    this.#client = client;
  }

  /**
   * Sends the batch as applyOps commands, each under the server's size limit
   * (applyops-commands.ts): one command for a batch that fits, in order.
   */
  async applyCrud(batch: readonly OplogEntry[]): Promise<void> {
    if (batch.length === 0) return;
    let first = 0;
    for (const ops of splitApplyOps(batch.map((entry) => upsertingUpdates(forApplyOps(entry))))) {
      await this.#applyOps(ops, batch[first]);
      first += ops.length;
    }
    this.#count(batch);
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

  async #applyOps(ops: Document[], first: OplogEntry | undefined): Promise<void> {
    try {
      // The source accepted these writes (under its validator of the time, or bypassing it), and
      // the collection already carries the validator the source has now: applying the ops as
      // written is what a secondary does, and what load-base does for the dump.
      // A collection dropped before the base's catalog read is created for its ops (missing-collections.ts).
      await applyCreatingCollections(this.#client, ops, (batch) => this.#client.db('admin').command(applyOpsCommand(batch)));
    } catch (error) {
      throw new TargetError(`applyOps of ${ops.length} ops from ${first ? describe(first) : '?'} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  #count(batch: readonly OplogEntry[]): void {
    for (const entry of batch) {
      if (entry.op === 'i') this.stats.inserted++;
      else if (entry.op === 'u') this.stats.updated++;
      else if (entry.op === 'd') this.stats.deleted++;
    }
  }
}

/** The fields applyOps reads; the source's UUID and session fields are left out. */
function forApplyOps(entry: OplogEntry): Document {
  const op: Document = { op: entry.op, ns: entry.ns, o: entry.o };
  if (entry.o2) op.o2 = entry.o2;
  return op;
}

/**
 * Marks an update as an upsert with the op's own flag, `b: true` (DurableReplOperation's `b` in
 * the server's src/mongo/db/repl/oplog_entry.idl). Servers that honour the command's
 * alwaysUpsert made every update an upsert; the current applyOps ignores it (it applies with
 * alwaysUpsert false, src/mongo/db/repl/apply_ops.cpp) and fails an update whose document is
 * missing with UpdateOperationFailed, which replaying over a fuzzy base meets whenever a
 * document was deleted before the dump reached it (the delete follows in the oplog). The op's
 * flag keeps replay idempotent on both.
 */
function upsertingUpdates(op: Document): Document {
  if (op.op === 'u') op.b = true;
  return op;
}

function describe(entry: OplogEntry): string {
  return `${entry.op} ${entry.ns} at ${formatTs(tsFromBson(entry.ts))}`;
}
