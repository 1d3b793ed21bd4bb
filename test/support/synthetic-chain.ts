// A chain written the way the archiver writes it, without a server: gzip'ed objects of raw BSON
// oplog entries (insert ops in the shape mongod logs them: ts, t, v:2, op 'i', ns, ui, o, wall;
// repl/oplog_entry.idl), a base over an empty collection set, and chunks committed one by one
// through ManifestCommitter with the records archive-oplog.ts makes. For format tests, the
// history bench and crash tests.
import { BSON, Long, Timestamp, UUID } from 'mongodb';
import { addChain, addChunk, chainEnd, linkOf, type Chain, type Chunk } from '../../src/archive/manifest.ts';
import { baseId, baseOplogKey, chunkKey, newRunId } from '../../src/archive/object-keys.ts';
import { readOplogHeader, type RawOplogEntry } from '../../src/archive/oplog-header.ts';
import { ManifestCommitter } from '../../src/backup/commit.ts';
import { writeOplogObject } from '../../src/backup/write-oplog-object.ts';
import type { Store } from '../../src/store/store.ts';
import type { Ts } from '../../src/timestamp.ts';

export const SYNTHETIC_NS = 'synthetic.items';
const UI = new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9');
/** Chunk n's ops are at second START_T + n (one second a chunk, as `stream --flush-interval 1s`). */
export const START_T = 1_700_000_000;

export function insertEntry(ts: Ts, id: number): RawOplogEntry {
  const wall = new Date(ts.t * 1000 + ts.i);
  const doc = { ts: new Timestamp({ t: ts.t, i: ts.i }), t: Long.fromNumber(1), v: 2, op: 'i', ns: SYNTHETIC_NS, ui: UI, o: { _id: id, n: id }, wall };
  const raw = Buffer.from(BSON.serialize(doc));
  return { raw, header: readOplogHeader(raw) };
}

async function* entriesOf(list: RawOplogEntry[]): AsyncGenerator<RawOplogEntry> {
  yield* list;
}

/** Stores a base (empty oplog but one op at START_T:1) and commits its chain. */
export async function syntheticBase(store: Store, committer: ManifestCommitter): Promise<Chain> {
  const startTs = { t: START_T, i: 1 };
  const id = baseId(startTs, newRunId());
  const written = await writeOplogObject(store, baseOplogKey(id), entriesOf([insertEntry(startTs, 0)]), startTs);
  const at = new Date(START_T * 1000).toISOString();
  const chain: Chain = {
    id,
    source: { setName: 'synthetic', replicaSetId: null },
    base: { id, startTs, endTs: startTs, startedAt: at, finishedAt: at, collections: [], oplog: written.object, commitPoint: 'lastWritten' },
    chunks: [],
  };
  await committer.commit((manifest) => addChain(manifest, chain));
  return chain;
}

/** Writes chunk n (ops n*opsPerChunk+1 ..) after the chain's end; the record, not yet committed. */
export async function syntheticChunk(store: Store, chain: Chain, n: number, opsPerChunk = 2, sealedAt = new Date(), stepSeconds = 1): Promise<Chunk> {
  const previous = chainEnd(chain);
  const entries = Array.from({ length: opsPerChunk }, (_, k) => insertEntry({ t: START_T + n * stepSeconds, i: k + 1 }, (n - 1) * opsPerChunk + k + 1));
  const first = entries[0]?.header.ts ?? previous.lastTs;
  const written = await writeOplogObject(store, chunkKey(chain.id, first, newRunId()), entriesOf(entries), previous.lastTs);
  return {
    ...written.object,
    afterTs: previous.lastTs,
    prevSha256: linkOf(previous),
    sealedAt: sealedAt.toISOString(),
    lagMs: 0,
    commitPoint: 'lastWritten',
    commitPointTs: written.object.lastTs,
    commitPointWall: written.object.lastWall,
    stats: { byNs: written.byNs },
  };
}

/** Appends chunks from..from+count-1, one commit each (or `perCommit` a commit); returns the head's chain. */
export async function appendChunks(store: Store, committer: ManifestCommitter, chain: Chain, from: number, count: number, options: { stepSeconds?: number; perCommit?: number } = {}): Promise<Chain> {
  let current = chain;
  const perCommit = options.perCommit ?? 1;
  for (let n = from; n < from + count; n += perCommit) {
    const batch: Chunk[] = [];
    let end = current;
    for (let k = n; k < Math.min(n + perCommit, from + count); k++) {
      const chunk = await syntheticChunk(store, end, k, 2, new Date(), options.stepSeconds ?? 1);
      batch.push(chunk);
      end = { ...end, chunks: [...end.chunks, chunk] };
    }
    const manifest = await committer.commit((head) => batch.reduce((next, chunk) => addChunk(next, current.id, chunk), head));
    current = manifest.chains.find((candidate) => candidate.id === current.id) ?? current;
  }
  return current;
}

/** The same store with its putIfMatch replaced (to count writes or inject a crash). */
export function withPutIfMatch(store: Store, putIfMatch: Store['putIfMatch']): Store {
  return {
    url: store.url,
    put: (key, body, options) => store.put(key, body, options),
    get: (key, options) => store.get(key, options),
    stat: (key) => store.stat(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    putIfMatch,
    check: () => store.check(),
    close: () => store.close(),
  };
}
