// Which shard owns a document of a sharded collection at the cutoff: its shard key's value
// falls in exactly one chunk [min, max) of config.chunks. Pure.
import type { Document } from 'mongodb';
import { InternalStub } from './stub.ts';

/** A chunk as config.chunks holds it, reduced to what ownership needs. */
export interface ChunkRange {
  readonly min: Document;
  readonly max: Document;
  readonly shard: string;
}

/** BSON comparison order of two values (the server's woCompare, db/bson/... canonical types). */
export function compareBsonValues(a: unknown, b: unknown): number {
  void a; void b;
  throw new InternalStub('compareBsonValues');
}

/** The shard key value of a document under a key pattern ({a: 1, b: 'hashed'}), hashed fields hashed. */
export function shardKeyOf(doc: Document, keyPattern: Document): Document {
  void doc; void keyPattern;
  throw new InternalStub('shardKeyOf');
}

/** The server's hashed-index value of one BSON value (db/hasher.cpp), seed 0. */
export function hashedValue(value: unknown): bigint {
  void value;
  throw new InternalStub('hashedValue');
}

/** The chunks of one sharded collection, sorted; `ownerOf` finds the owning shard. */
export class ChunkOwnership {
  constructor(keyPattern: Document, chunks: Iterable<ChunkRange>) {
    void keyPattern; void chunks;
    throw new InternalStub('ChunkOwnership');
  }

  ownerOf(doc: Document): string {
    void doc;
    throw new InternalStub('ChunkOwnership.ownerOf');
  }
}
