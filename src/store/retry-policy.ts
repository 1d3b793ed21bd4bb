// How long and how often a store operation is retried: exponential backoff with full jitter
// (each wait is random in [0, min(cap, base × 2^attempt)], so runs that failed together do not
// retry together), within one total time budget per operation. Only when the budget is spent
// does the caller see the failure.
//   https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
import { setTimeout as sleep } from 'node:timers/promises';

export const DEFAULT_RETRY_BUDGET_MS = 2 * 60 * 1000;
export const DEFAULT_RETRY_BASE_DELAY_MS = 100;
export const DEFAULT_RETRY_MAX_DELAY_MS = 5 * 1000;

export interface RetryEvent {
  /** The store operation, e.g. "get", "list", "putIfMatch". */
  readonly operation: string;
  readonly key: string;
  /** 1 for the first retry. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: unknown;
}

export interface RetryOptions {
  /** Total time one operation may take, retries and waits included. */
  readonly budgetMs?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Uniform in [0, 1); tests pass a seeded one. */
  readonly random?: () => number;
  /** Told of every retry, e.g. to count or log it. */
  readonly onRetry?: (event: RetryEvent) => void;
}

/** One operation's retry state: started now, with its own attempt count. */
export class RetryClock {
  readonly #options: RetryOptions;
  readonly #startedMs = Date.now();
  #attempt = 0;

  constructor(options: RetryOptions) {
    this.#options = options;
  }

  get attempts(): number {
    return this.#attempt;
  }

  /**
   * Waits before the next try and returns true, or returns false at once when the budget would
   * be spent by the wait (the caller then gives up with the last error).
   */
  async wait(operation: string, key: string, error: unknown, signal?: AbortSignal): Promise<boolean> {
    const budgetMs = this.#options.budgetMs ?? DEFAULT_RETRY_BUDGET_MS;
    const baseMs = this.#options.baseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;
    const capMs = this.#options.maxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS;
    const ceilingMs = Math.min(capMs, baseMs * 2 ** Math.min(this.#attempt, 30));
    const delayMs = Math.round((this.#options.random ?? Math.random)() * ceilingMs);
    if (Date.now() - this.#startedMs + delayMs >= budgetMs) return false;
    this.#attempt += 1;
    this.#options.onRetry?.({ operation, key, attempt: this.#attempt, delayMs, error });
    await sleep(delayMs, undefined, { signal });
    return true;
  }
}
