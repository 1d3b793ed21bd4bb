// An applier that replays the oplog with the target's secondary indexes left out: index
// commands go to the IndexCatalog instead of the target, every other call to the applier it
// wraps. restore.ts builds the catalog's indexes once replay is done (index-catalog.ts says why).
import type { Applier, ApplyStats, CommandPlan } from '../target/applier.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import type { IndexCatalog } from './index-catalog.ts';

export class DeferredIndexApplier implements Applier {
  readonly #inner: Applier;
  readonly #catalog: IndexCatalog;

  constructor(inner: Applier, catalog: IndexCatalog) {
    this.#inner = inner;
    this.#catalog = catalog;
  }

  get mode(): Applier['mode'] {
    return this.#inner.mode;
  }

  get stats(): ApplyStats {
    return this.#inner.stats;
  }

  applyCrud(batch: readonly OplogEntry[], signal?: AbortSignal): Promise<void> {
    return this.#inner.applyCrud(batch, signal);
  }

  applyTransaction(entries: readonly OplogEntry[], signal?: AbortSignal): Promise<void> {
    return this.#inner.applyTransaction(entries, signal);
  }

  async applyCommand(plan: CommandPlan, signal?: AbortSignal): Promise<void> {
    const remaining = this.#catalog.absorb(plan);
    if (remaining) await this.#inner.applyCommand(remaining, signal);
    // Recorded for the build after replay: applied, as far as replay is concerned.
    else this.#inner.stats.commands++;
  }
}
