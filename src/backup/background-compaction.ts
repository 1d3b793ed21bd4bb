// Compaction beside a stream: started at most every `everyMs` after a flush, it runs while the
// stream goes on flushing chunks (the committer queues their commits), so a long merge never
// delays a chunk. Its failure is not swallowed: the stream's next flush throws it.
import type { Store } from '../store/store.ts';
import type { ManifestCommitter } from './commit.ts';
import { compact, type CompactResult } from './compact.ts';

export const DEFAULT_STREAM_COMPACT_EVERY_MS = 10 * 60 * 1000;

export class BackgroundCompaction {
  readonly #store: Store;
  readonly #committer: ManifestCommitter;
  readonly #everyMs: number;
  readonly #stop = new AbortController();
  readonly #onResult: ((result: CompactResult) => void) | undefined;
  #running: Promise<void> | undefined;
  #lastStartMs = Date.now();
  #failure: unknown;

  constructor(store: Store, committer: ManifestCommitter, everyMs: number, onResult?: (result: CompactResult) => void) {
    this.#store = store;
    this.#committer = committer;
    this.#everyMs = everyMs;
    this.#onResult = onResult;
  }

  /** After a flush: throws an earlier run's failure; starts a run when one is due. */
  poke(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#running || Date.now() - this.#lastStartMs < this.#everyMs) return;
    this.#lastStartMs = Date.now();
    this.#running = compact({ store: this.#store, committer: this.#committer, signal: this.#stop.signal }).then(
      (result) => {
        this.#running = undefined;
        this.#onResult?.(result);
      },
      (error: unknown) => {
        this.#running = undefined;
        if (!this.#stop.signal.aborted) this.#failure = error;
      },
    );
  }

  /** Stops a run between merges (what it recorded stays), waits for it, and throws its failure. */
  async stop(): Promise<void> {
    await this.halt();
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** The same, on a path that is already failing: the stream's own error is the one to report. */
  async halt(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }
}
