// Streams one collection's documents as raw BSON, never decoded: the driver's raw mode hands
// over each document's bytes, which go straight into the gzip stream.
import type { MongoClient } from 'mongodb';
import { timeLimit, type Deadline } from './time-limit.ts';
import { idOf, isPastBound, resumeFind } from './resume-bound.ts';

/** Documents per getMore: large enough to keep the pipe full, small enough to bound memory. */
const DUMP_BATCH_SIZE = 1000;

export async function* dumpCollection(
  client: MongoClient,
  db: string,
  coll: string,
  signal?: AbortSignal,
  /** Ends the cursor's whole life, server side too, by this time (time-limit.ts). */
  deadline?: Deadline,
  /**
   * Given, the documents come in _id order, after the `after` _id when it is set
   * (resume-bound.ts): how a collection dumped in pieces resumes. Absent, natural order, as ever.
   */
  ordered?: { readonly after?: unknown },
): AsyncGenerator<Buffer> {
  const find = ordered ? resumeFind(ordered.after) : { filter: {}, options: {} };
  const cursor = client.db(db).collection(coll).find(find.filter, { ...find.options, raw: true, batchSize: DUMP_BATCH_SIZE, ...timeLimit(deadline) });
  // Until a document past the bound shows, each is decoded for its _id; after it, none is.
  let skipping = ordered?.after !== undefined;
  const abort = (): void => void cursor.close();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    for await (const document of cursor) {
      signal?.throwIfAborted();
      const bytes = document as unknown as Uint8Array;
      if (skipping) {
        if (!isPastBound(idOf(bytes), ordered?.after)) continue;
        skipping = false;
      }
      yield Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    await cursor.close();
  }
}
