// The dump's progress bar, for `backup` and for a `run` that takes a base: documents read against
// the source's estimate (take-base.ts onDumpPlan), so the bar has a percent, a rate and an ETA;
// collections stored when the source gives no estimate. The estimate may fall short (writes
// during the dump): the bar then waits at 99% rather than ending before the last collection is
// stored.
import type { CollectionEntry } from '../archive/manifest.ts';
import type { DumpPlan } from '../backup/take-base.ts';
import type { Log } from '../log.ts';
import { counted } from '../words.ts';

export interface DumpProgress {
  /** take-base.ts's stage hook: the dump stage names the collections to dump. */
  stage(stage: string, total: number | undefined): void;
  plan(plan: DumpPlan): void;
  document(): void;
  collection(entry: CollectionEntry): void;
}

export function dumpProgress(log: Log): DumpProgress {
  let collections = 0;
  let documents = 0;
  let total: number | undefined;
  let estimate: number | null = null;
  let dumped = 0;
  const draw = (): void => {
    if (estimate === null) return log.progress('dump', collections, total, `collections, ${counted(documents, 'document')}`);
    const done = total !== undefined && collections >= total;
    const of = `documents, ${collections.toLocaleString('en')}/${counted(total ?? 0, 'collection')}`;
    log.progress('dump', dumped, done ? dumped : Math.max(estimate, dumped + 1), of);
  };
  return {
    stage(stage, count) {
      if (stage === 'dump') total = count;
    },
    plan(plan) {
      estimate = plan.estimatedDocuments;
      total = plan.collections;
    },
    document() {
      dumped++;
      draw();
    },
    collection(entry) {
      documents += entry.docs;
      collections++;
      draw();
    },
  };
}
