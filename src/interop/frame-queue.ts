// The hand-over between the one reader of a mongodump --archive, which interleaves namespaces,
// and each namespace's upload. Memory bound: QUEUE_BYTES per queue, plus the frame being pushed.

/** Bytes a namespace's queue holds before the archive reader waits for its upload. */
const QUEUE_BYTES = 8 * 1024 * 1024;

/**
 * A bounded hand-over from the archive reader to one namespace's upload: `push` waits while the
 * queue holds more than QUEUE_BYTES, and fails once the upload has failed.
 */
export class FrameQueue implements AsyncIterable<Buffer> {
  #items: Buffer[] = [];
  #bytes = 0;
  #ended = false;
  #error: { readonly cause: unknown } | undefined;
  #wakeConsumer: (() => void) | undefined;
  #wakeProducer: (() => void) | undefined;

  async push(frame: Buffer): Promise<void> {
    this.#throwIfFailed();
    this.#items.push(frame);
    this.#bytes += frame.length;
    this.#wake('consumer');
    while (this.#bytes > QUEUE_BYTES && !this.#error) await new Promise<void>((resolve) => (this.#wakeProducer = resolve));
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error.cause;
  }

  end(): void {
    this.#ended = true;
    this.#wake('consumer');
  }

  fail(cause: unknown): void {
    this.#error ??= { cause };
    this.#wake('consumer');
    this.#wake('producer');
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      const item = this.#items.shift();
      if (item) {
        this.#bytes -= item.length;
        this.#wake('producer');
        yield item;
        continue;
      }
      if (this.#error) throw this.#error.cause;
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wakeConsumer = resolve));
    }
  }

  #wake(which: 'consumer' | 'producer'): void {
    const wake = which === 'consumer' ? this.#wakeConsumer : this.#wakeProducer;
    if (which === 'consumer') this.#wakeConsumer = undefined;
    else this.#wakeProducer = undefined;
    wake?.();
  }
}
