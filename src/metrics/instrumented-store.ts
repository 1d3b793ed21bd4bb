// A Store that counts its failures by kind for the metrics, and otherwise is the store it wraps.
// An abort (the run stopping) is counted as 'aborted', not as a store failure of any other kind.
import type { Readable } from 'node:stream';
import { StoreError } from '../errors.ts';
import type { ObjectInfo, PutResult, Store } from '../store/store.ts';

export function instrumentStore(store: Store, onError: (kind: string) => void): Store {
  const counted = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      onError(kindOf(error));
      throw error;
    }
  };
  return {
    url: store.url,
    put: (key: string, body: Readable | Buffer, options?: { signal?: AbortSignal }): Promise<PutResult> => counted(() => store.put(key, body, options)),
    get: (key: string, options?: { signal?: AbortSignal }): Promise<Readable> => counted(() => store.get(key, options)),
    stat: (key: string): Promise<ObjectInfo | null> => counted(() => store.stat(key)),
    list: (prefix: string): AsyncIterable<ObjectInfo> => listCounted(store, prefix, onError),
    delete: (key: string): Promise<void> => counted(() => store.delete(key)),
    putIfMatch: (key: string, body: Buffer, etag: string | null): Promise<PutResult> => counted(() => store.putIfMatch(key, body, etag)),
    check: (): Promise<void> => counted(() => store.check()),
    close: (): Promise<void> => store.close(),
  };
}

async function* listCounted(store: Store, prefix: string, onError: (kind: string) => void): AsyncGenerator<ObjectInfo> {
  try {
    yield* store.list(prefix);
  } catch (error) {
    onError(kindOf(error));
    throw error;
  }
}

/** A store error's kind for the metrics: StoreError's, 'aborted', or 'other'. */
export function kindOf(error: unknown): string {
  if (error instanceof StoreError) return error.kind;
  if (error instanceof Error && error.name === 'AbortError') return 'aborted';
  return 'other';
}
