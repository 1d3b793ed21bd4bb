// A producer's bounded window of tasks: at most `size` run at once, and `run` resolves only once
// there is room, so the producer (reading a file) stays at most `size` tasks ahead of the
// consumer (the server). The first failure is kept and thrown by the next `run` or `drain`;
// tasks already running are left to settle.
// (p-limit bounds how many tasks run, not how far the producer runs ahead: its queue would take
// every batch the file holds, decoded, before the first insert came back.)

export class TaskWindow {
  readonly #size: number;
  readonly #running = new Set<Promise<void>>();
  #failed = false;
  #failure: unknown;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** Tasks started and not yet settled. */
  get running(): number {
    return this.#running.size;
  }

  /** Waits for room, then starts `task` without waiting for it. */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.#running.size >= this.#size) await Promise.race(this.#running);
    this.#throwIfFailed();
    const settled: Promise<void> = task()
      .catch((error: unknown) => {
        if (!this.#failed) [this.#failed, this.#failure] = [true, error];
      })
      .finally(() => this.#running.delete(settled));
    this.#running.add(settled);
  }

  /** Waits for every task started; throws the first failure. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failure;
  }
}
