// An applier that writes nothing: what a restore's dry run replays into, so that the dry run
// reports what replay would apply by running replay itself (restore/dry-run.ts), not an estimate
// beside it. It counts like the real appliers count (applier.ts ApplyStats), minus what only a
// target can tell (updates of missing documents).
import type { OplogEntry } from '../oplog-entry.ts';
import { emptyApplyStats, type Applier, type CommandPlan } from './applier.ts';

export class DryApplier implements Applier {
  readonly stats = emptyApplyStats();
  /** The mode whose command plans replay makes: `applyOps` is what a real mongod target gets. */
  readonly mode: Applier['mode'];

  constructor(mode: Applier['mode'] = 'applyOps') {
    this.mode = mode;
  }

  async applyCrud(batch: readonly OplogEntry[]): Promise<void> {
    for (const entry of batch) this.#count(entry);
  }

  async applyCommand(_plan: CommandPlan): Promise<void> {
    this.stats.commands++;
  }

  async applyTransaction(entries: readonly OplogEntry[]): Promise<void> {
    this.stats.transactions++;
    for (const entry of entries) this.#count(entry);
  }

  #count(entry: OplogEntry): void {
    if (entry.op === 'i') this.stats.inserted++;
    else if (entry.op === 'u') this.stats.updated++;
    else if (entry.op === 'd') this.stats.deleted++;
  }
}
