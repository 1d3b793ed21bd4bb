// Writes one run of oplog entries as a gzip'ed object of concatenated raw BSON (readable by
// `gunzip | bsondump` and `mongorestore --oplogReplay --oplogFile`), and describes it.
import type { OplogObject } from '../archive/manifest.ts';
import type { RawOplogEntry } from '../archive/oplog-header.ts';
import type { Store } from '../store/store.ts';
import type { Ts } from '../timestamp.ts';
import { storeGzipped } from './store-object.ts';

export interface WrittenOplog {
  readonly object: OplogObject;
  /**
   * Ops by namespace, then op type. Empty for an encrypted object: namespace names and their
   * activity are data, and stay inside the encrypted object (find scans such chunks whole).
   */
  readonly byNs: Record<string, Record<string, number>>;
}

export async function writeOplogObject(
  store: Store,
  key: string,
  entries: AsyncIterable<RawOplogEntry>,
  /** The bounds recorded when there are no entries at all (a base over an empty oplog). */
  emptyAt: Ts,
  signal?: AbortSignal,
): Promise<WrittenOplog> {
  let first: RawOplogEntry | undefined;
  let last: RawOplogEntry | undefined;
  let count = 0;
  const byNs: Record<string, Record<string, number>> = {};
  async function* raw(): AsyncGenerator<Buffer> {
    for await (const entry of entries) {
      first ??= entry;
      last = entry;
      count++;
      const ops = (byNs[entry.header.ns] ??= {});
      ops[entry.header.op] = (ops[entry.header.op] ?? 0) + 1;
      yield entry.raw;
    }
  }
  const stored = await storeGzipped(store, key, raw(), signal);
  const object: OplogObject = {
    ...stored,
    firstTs: first?.header.ts ?? emptyAt,
    lastTs: last?.header.ts ?? emptyAt,
    firstWall: first?.header.wall?.toISOString() ?? null,
    lastWall: last?.header.wall?.toISOString() ?? null,
    count,
  };
  return { object, byNs: object.encryption ? {} : byNs };
}
