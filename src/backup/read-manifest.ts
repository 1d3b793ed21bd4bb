// Reading the manifest. `readHead` reads manifest.json alone: what status, oplog and stream need
// (each chain's base, unsealed chunks and a summary of the sealed ones). `readManifest` also
// loads every chain's sealed records from its index objects (archive/index-segment.ts) and
// returns chains whose `chunks` are complete, for restore, verify, prune, find and export.
//
// Every index object is checked against the sha256 that pins it (the head pins the newest
// segment and the compacted index, each segment its predecessor), so a chain read from the
// bucket is the chain that was committed, or an IntegrityError.
//
// Memory bound: the head, then one chain's records at a time plus a window of fetched segments.
import pLimit from 'p-limit';
import { IntegrityError, StoreError } from '../errors.ts';
import { chainIndexPrefix, MANIFEST_KEY } from '../archive/object-keys.ts';
import { emptyManifest, linkOf, parseManifest, type Chain, type Chunk, type IndexRef, type Manifest, type SegmentRef } from '../archive/manifest.ts';
import { COMPACTED_KIND, parseIndexObject, SEGMENT_KIND, type CompactedBody, type SegmentBody } from '../archive/index-segment.ts';
import { compareTs, tsEquals } from '../timestamp.ts';
import type { Store } from '../store/store.ts';

/** Segments fetched ahead while walking back from the newest. */
const SEGMENT_FETCH_CONCURRENCY = 8;

export async function readHead(store: Store): Promise<{ manifest: Manifest; etag: string | null }> {
  const info = await store.stat(MANIFEST_KEY);
  if (!info) return { manifest: emptyManifest(), etag: null };
  const manifest = parseManifest(await readObject(store, MANIFEST_KEY));
  return { manifest, etag: info.etag };
}

/** The head with every chain's sealed records loaded: chains whose `chunks` are complete. */
export async function readManifest(store: Store): Promise<{ manifest: Manifest; etag: string | null }> {
  const { manifest, etag } = await readHead(store);
  const chains: Chain[] = [];
  for (const chain of manifest.chains) chains.push(await loadChain(store, chain));
  return { manifest: { ...manifest, chains }, etag };
}

/** One chain of a head, whole: sealed records (compacted index, then segments) and the tail. */
export async function loadChain(store: Store, chain: Chain): Promise<Chain> {
  const { history, ...rest } = chain;
  if (!history) return chain;
  const { records, indexKeys } = await loadSealed(store, chain);
  const count = records.reduce((sum, chunk) => sum + (chunk.pieces ?? 1), 0);
  if (count !== history.chunks) {
    throw new IntegrityError(`chain ${chain.id}: its index objects hold ${count} chunks, the head says ${history.chunks}`);
  }
  const last = records.at(-1);
  if (!last || !tsEquals(last.lastTs, history.end.lastTs) || linkOf(last) !== history.end.sha256) {
    throw new IntegrityError(`chain ${chain.id}: its index objects do not end where the head says`);
  }
  return { ...rest, chunks: [...records, ...chain.chunks], indexKeys };
}

/** The sealed records of a chain, oldest first, and the keys of the index objects they came from. */
export async function loadSealed(store: Store, chain: Chain): Promise<{ records: Chunk[]; indexKeys: string[]; compacted: CompactedBody | null; segments: SegmentBody[] }> {
  const history = chain.history;
  if (!history) return { records: [], indexKeys: [], compacted: null, segments: [] };
  const compacted = history.compacted ? (await fetchIndex(store, history.compacted, COMPACTED_KIND, chain.id)) as CompactedBody : null;
  const floor = compacted ? compacted.throughSeq : -1;
  const segments = await walkSegments(store, chain.id, history.segment, floor);
  if (compacted) {
    // The compacted index replaced exactly segments 0..throughSeq: the next segment (or the
    // head, when it is the newest) must pin the one it ends at.
    const pinned = segments[0] ? segments[0].body.prev : history.segment;
    if (!pinned || pinned.seq !== compacted.throughSeq || pinned.sha256 !== compacted.throughSha256) {
      throw new IntegrityError(`chain ${chain.id}: the compacted index does not end where its segments begin`);
    }
  }
  const records = [...(compacted?.chunks ?? []), ...segments.flatMap((segment) => segment.body.chunks)];
  const indexKeys = [...(history.compacted ? [history.compacted.key] : []), ...segments.map((segment) => segment.key)];
  return { records, indexKeys, compacted, segments: segments.map((segment) => segment.body) };
}

/**
 * Walks the segments from the newest back to the one after `floor`, oldest first. Each is pinned
 * by the one after it, so the walk is sequential by nature; a window of segments is fetched
 * ahead by key (the listing's), checked only once its pin is known.
 */
async function walkSegments(store: Store, chainId: string, newest: SegmentRef | null, floor: number): Promise<{ key: string; body: SegmentBody }[]> {
  const out: { key: string; body: SegmentBody }[] = [];
  const ahead = new Map<string, Promise<Buffer>>();
  const limit = pLimit(SEGMENT_FETCH_CONCURRENCY);
  const listed = newest && newest.seq - floor > 1 ? await listSegmentKeys(store, chainId, floor) : [];
  let cursor = listed.length;
  for (let ref = newest; ref && ref.seq > floor; ) {
    // Keep a window of older keys in flight (a lost race's segments may be among them: harmless).
    while (cursor > 0 && ahead.size < SEGMENT_FETCH_CONCURRENCY * 2) {
      const key = listed[--cursor];
      if (key !== undefined && !ahead.has(key)) ahead.set(key, limit(() => readObject(store, key)));
    }
    const pending = ahead.get(ref.key) ?? readObject(store, ref.key);
    // Done with this seq and every newer one (a lost race's segment of the same seq included).
    for (const key of [...ahead.keys()]) if (seqOf(key) >= ref.seq) ahead.get(key)?.catch(() => undefined), ahead.delete(key);
    const body = parseIndexObject(await pending, ref, SEGMENT_KIND, chainId) as SegmentBody;
    if (body.seq !== ref.seq) throw new IntegrityError(`${ref.key} is segment ${body.seq}, not ${ref.seq}`);
    out.push({ key: ref.key, body });
    const prev = body.prev;
    if (prev && prev.seq !== body.seq - 1) throw new IntegrityError(`${ref.key} names segment ${prev.seq} before it`);
    if (!prev && body.seq !== 0) throw new IntegrityError(`${ref.key} is segment ${body.seq} but names none before it`);
    if (prev && body.chunks[0] && compareTs(body.chunks[0].afterTs, prev.lastTs) !== 0) {
      throw new IntegrityError(`${ref.key} does not continue ${prev.key}`);
    }
    ref = prev;
  }
  for (const stale of ahead.values()) stale.catch(() => undefined);
  return out.reverse();
}

function seqOf(key: string): number {
  return Number(/seg-(\d+)-/.exec(key)?.[1] ?? -1);
}

async function listSegmentKeys(store: Store, chainId: string, floor: number): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(`${chainIndexPrefix(chainId)}seg-`)) {
    if (seqOf(object.key) > floor) keys.push(object.key);
  }
  return keys;
}

async function fetchIndex(store: Store, ref: IndexRef, kind: typeof SEGMENT_KIND | typeof COMPACTED_KIND, chainId: string): Promise<SegmentBody | CompactedBody> {
  return parseIndexObject(await readObject(store, ref.key), ref, kind, chainId);
}

async function readObject(store: Store, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const part of await store.get(key)) parts.push(part as Buffer);
  } catch (error) {
    if (key !== MANIFEST_KEY && error instanceof StoreError && error.kind === 'not-found') {
      throw new IntegrityError(`${key} is named by the manifest but missing from the store`, { cause: error });
    }
    throw error;
  }
  return Buffer.concat(parts);
}
