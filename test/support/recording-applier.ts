// An Applier that records what replay hands it, in order: for pure replay tests, no server.
import type { OplogEntry } from '../../src/oplog-entry.ts';
import { emptyApplyStats, type Applier, type CommandPlan } from '../../src/target/applier.ts';

export class RecordingApplier implements Applier {
  readonly mode = 'portable' as const;
  readonly stats = emptyApplyStats();
  readonly crud: OplogEntry[] = [];
  readonly commands: CommandPlan[] = [];
  async applyCrud(batch: readonly OplogEntry[]): Promise<void> {
    this.crud.push(...batch);
  }
  async applyCommand(plan: CommandPlan): Promise<void> {
    this.commands.push(plan);
  }
  async applyTransaction(entries: readonly OplogEntry[]): Promise<void> {
    this.crud.push(...entries);
  }
}
