// Object keys, the one codec for names in the store (store/ treats keys as opaque). Base objects
// are laid out like `mongodump --gzip` output so mongorestore can read a base folder directly:
//   manifest.json
//   bases/<T0>-<runId>/<db>/<coll>.bson.gz           documents, concatenated raw BSON, gzip
//   bases/<T0>-<runId>/<db>/<coll>.metadata.json.gz  options, indexes, uuid (mongodump format)
//   bases/<T0>-<runId>/oplog.bson.gz                 the oplog written while the dump ran
//   chunks/<chainId>/<first ts>-<runId>.bson.gz      archived oplog, concatenated raw BSON, gzip
// Timestamps are fixed-width (timestamp.ts tsKey) so listings sort by time. The run id keeps two
// racing runs from ever writing the same key: the loser's objects are orphans, never overwrites.
import { randomBytes } from 'node:crypto';
import { tsKey, type Ts } from '../timestamp.ts';

export const MANIFEST_KEY = 'manifest.json';
export const BASES_PREFIX = 'bases/';
export const CHUNKS_PREFIX = 'chunks/';

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

export function collectionMetadataKey(id: string, db: string, coll: string): string {
  return `${basePrefix(id)}${escapeName(db)}/${escapeName(coll)}.metadata.json.gz`;
}

export function baseOplogKey(id: string): string {
  return `${basePrefix(id)}oplog.bson.gz`;
}

export function chunkKey(chainId: string, firstTs: Ts, runId: string): string {
  return `${CHUNKS_PREFIX}${chainId}/${tsKey(firstTs)}-${runId}.bson.gz`;
}
