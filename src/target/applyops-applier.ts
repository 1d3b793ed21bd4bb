// Replay through the server's own `applyOps`, as mongorestore --oplogReplay does, but batched:
// one command carries many entries. `ui` (the source collection's UUID) is dropped because the
// target's collections have their own; in applyOps mode the server turns an insert of an
// existing _id into an update and a missing update target into an upsert (alwaysUpsert), which
// is what makes replaying over a dump that already saw the op harmless.
import { MongoServerError, type Document, type MongoClient } from 'mongodb';
import { TargetError } from '../errors.ts';
import { formatTs, tsFromBson } from '../timestamp.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { orderedOf } from '../ordered-document.ts';
import { emptyApplyStats, type Applier, type ApplyStats, type CommandPlan } from './applier.ts';

export class ApplyOpsApplier implements Applier {
  readonly mode = 'applyOps' as const;
  readonly stats: ApplyStats = emptyApplyStats();
  readonly #client: MongoClient;

  constructor(client: MongoClient) {
    this.#client = client;
  }

  async applyCrud(batch: readonly OplogEntry[]): Promise<void> {
    if (batch.length === 0) return;
    await this.#applyOps(batch.map(forApplyOps), batch);
    this.#count(batch);
  }

  async applyTransaction(entries: readonly OplogEntry[]): Promise<void> {
    // applyOps of CRUD entries only is atomic on a replica set: all of it or none.
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

  async #applyOps(ops: Document[], entries: readonly OplogEntry[]): Promise<void> {
    try {
      // The source accepted these writes (under its validator of the time, or bypassing it), and
      // the collection already carries the validator the source has now: applying the ops as
      // written is what a secondary does, and what load-base does for the dump.
      await this.#client.db('admin').command({ applyOps: ops, alwaysUpsert: true, bypassDocumentValidation: true });
    } catch (error) {
      const first = entries[0];
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
  // `o` in its BSON field order (an object would move integer-like names such as "10" first).
  const op: Document = { op: entry.op, ns: entry.ns, o: orderedOf(entry.o) };
  if (entry.o2) op.o2 = orderedOf(entry.o2);
  return op;
}

function describe(entry: OplogEntry): string {
  return `${entry.op} ${entry.ns} at ${formatTs(tsFromBson(entry.ts))}`;
}
