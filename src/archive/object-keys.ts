// Object keys, the one codec for names in the store (store/ treats keys as opaque). Base objects
// are laid out like `mongodump --gzip` output so mongorestore can read a base folder directly:
//   manifest.json                                    the head (format 2) or whole manifest (1)
//   manifest-v1.json                                 format 1 manifest as it was before conversion
//   bases/<T0>-<runId>/<db>/<coll>.bson.gz           documents, concatenated raw BSON, gzip
//   bases/<T0>-<runId>/<db>/<coll>.metadata.json.gz  options, indexes, uuid (mongodump format)
//   bases/<T0>-<runId>/<db>/<coll>.pieces/<n>.bson.gz  a collection dumped in pieces: the n-th (n >= 1)
//   bases/<T0>-<runId>/oplog.bson.gz                 the oplog written while the dump ran
//   bases/<T0>-<runId>/<cid>.bson.gz                 encrypted bases: documents, named by a random
//   bases/<T0>-<runId>/<cid>.metadata.json.gz        collection id, never by db or collection (opaque-base.ts)
//   chunks/<chainId>/<first ts>-<runId>.bson.gz      archived oplog, concatenated raw BSON, gzip
//   chunks/<chainId>/<first ts>-L<level>-<runId>.bson.gz  compacted: many chunks' entries in one
//   index/<chainId>/seg-<seq>-<runId>.json           format 2: sealed chunk records (JSON)
//   index/<chainId>/compacted-<seq>-<runId>.json     format 2: records of segments 0..seq, compacted
// Timestamps are fixed-width (timestamp.ts tsKey) so listings sort by time. The run id keeps two
// racing runs from ever writing the same key: the loser's objects are orphans, never overwrites.
import { randomBytes } from 'node:crypto';
import { tsKey, type Ts } from '../timestamp.ts';

export const MANIFEST_KEY = 'manifest.json';
/** The format-1 manifest as it was before its first format-2 commit (backup/commit.ts). */
export const MANIFEST_V1_COPY_KEY = 'manifest-v1.json';
export const BASES_PREFIX = 'bases/';
export const CHUNKS_PREFIX = 'chunks/';
export const INDEX_PREFIX = 'index/';

/** A short random id naming one run's objects. */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

export function baseId(startTs: Ts, runId: string): string {
  return `${tsKey(startTs)}-${runId}`;
}

export function basePrefix(id: string): string {
  return `${BASES_PREFIX}${id}/`;
}

/**
 * Escapes what cannot stand in a path segment. Database names cannot hold "/", "\\" or ".";
 * collection names can hold "/" and "%", so those are percent-encoded (as mongodump does).
 */
export function escapeName(name: string): string {
  return name.replace(/[%/\\\0]/g, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function unescapeName(segment: string): string {
  return segment.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export function collectionDataKey(id: string, db: string, coll: string): string {
  return `${basePrefix(id)}${escapeName(db)}/${escapeName(coll)}.bson.gz`;
}

/**
 * A later piece of a collection dumped in pieces (backup/dump-pieces.ts); the first piece is its
 * data key. One path segment deeper than any collection's objects (an escaped name holds no "/"),
 * so no collection's key can be a piece's.
 */
export function collectionPieceKey(id: string, db: string, coll: string, piece: number): string {
  return `${basePrefix(id)}${escapeName(db)}/${escapeName(coll)}.pieces/${String(piece).padStart(6, '0')}.bson.gz`;
}

export function collectionMetadataKey(id: string, db: string, coll: string): string {
  return `${basePrefix(id)}${escapeName(db)}/${escapeName(coll)}.metadata.json.gz`;
}

/** A random id naming an encrypted base's collection objects in place of its names (opaque-base.ts). */
export function newOpaqueCollectionId(): string {
  return randomBytes(8).toString('hex');
}

export function opaqueDataKey(id: string, collectionId: string): string {
  return `${basePrefix(id)}${collectionId}.bson.gz`;
}

export function opaqueMetadataKey(id: string, collectionId: string): string {
  return `${basePrefix(id)}${collectionId}.metadata.json.gz`;
}

/**
 * True for an encrypted base's collection object: right under the base folder and not its
 * oplog, where a named one always sits in a database folder.
 */
export function isOpaqueKey(key: string): boolean {
  return /^bases\/[^/]+\/[0-9a-f]{16}\.(bson|metadata\.json)\.gz$/.test(key);
}

export function baseOplogKey(id: string): string {
  return `${basePrefix(id)}oplog.bson.gz`;
}

export function chunkKey(chainId: string, firstTs: Ts, runId: string): string {
  return `${CHUNKS_PREFIX}${chainId}/${tsKey(firstTs)}-${runId}.bson.gz`;
}

/** A compacted object: the entries of many chunks from `firstTs` on, at a level (1 hour, 2 day). */
export function compactedChunkKey(chainId: string, firstTs: Ts, level: number, runId: string): string {
  return `${CHUNKS_PREFIX}${chainId}/${tsKey(firstTs)}-L${level}-${runId}.bson.gz`;
}

/** The first ts of the chunk a key under chunks/ names, or undefined for any other key. */
export function chunkKeyFirstTs(key: string): Ts | undefined {
  const match = /^chunks\/[^/]+\/(\d{13})-(\d{10})-/.exec(key);
  return match ? { t: Number(match[1]), i: Number(match[2]) } : undefined;
}

export function chainIndexPrefix(chainId: string): string {
  return `${INDEX_PREFIX}${chainId}/`;
}

/** Fixed width so a listing sorts segments by seq. */
function seqKey(seq: number): string {
  return String(seq).padStart(10, '0');
}

export function segmentKey(chainId: string, seq: number, runId: string): string {
  return `${chainIndexPrefix(chainId)}seg-${seqKey(seq)}-${runId}.json`;
}

export function compactedIndexKey(chainId: string, throughSeq: number, runId: string): string {
  return `${chainIndexPrefix(chainId)}compacted-${seqKey(throughSeq)}-${runId}.json`;
}
