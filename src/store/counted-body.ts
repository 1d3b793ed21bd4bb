// The body of a streamed put, seen through a byte counter that also remembers whether the body
// itself failed. Stores use it to report the size they wrote and to tell whose fault a failed put
// was: an error raised by the body (the source, a gzip stage, an abort) is rethrown unchanged,
// while only the store's own failures become StoreErrors.
import { Readable, addAbortSignal } from 'node:stream';

export interface CountedBody {
  /** The body's bytes as Buffers; read this instead of the body. */
  readonly stream: Readable;
  /** Bytes that have passed through so far. */
  readonly bytes: number;
  /** True when the body raised an error (including an abort through the signal). */
  readonly bodyFailed: boolean;
  readonly bodyError: unknown;
  /** Stops the body when the store gave up before reading it to the end. */
  discard(): void;
}

export function countBody(body: Readable, signal: AbortSignal | undefined): CountedBody {
  const state = { bytes: 0, bodyFailed: false, bodyError: undefined as unknown };
  // Aborting destroys the body itself, so that a body stalled waiting for its own input stops too.
  if (signal) addAbortSignal(signal, body);
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of body) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        state.bytes += buffer.length;
        yield buffer;
      }
    } catch (error) {
      state.bodyFailed = true;
      state.bodyError = error;
      throw error;
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false });
  return {
    stream,
    get bytes() {
      return state.bytes;
    },
    get bodyFailed() {
      return state.bodyFailed;
    },
    get bodyError() {
      return state.bodyError;
    },
    discard() {
      // Without an error argument: nobody may be listening for 'error' on the caller's stream,
      // and an unhandled 'error' event would crash the process. A pipeline feeding the body still
      // sees a premature close and stops.
      body.destroy();
      stream.destroy();
    },
  };
}
