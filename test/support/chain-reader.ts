// Reads an archived chain back from a store, object by object, as a test's independent check
// of what backup wrote: every entry of the base oplog and every chunk, in order.
import { BSON, type Document } from 'mongodb';
import { createGunzip } from 'node:zlib';
import { readBsonFrames } from '../../src/archive/bson-frames.ts';
import type { OplogObject } from '../../src/archive/manifest.ts';
import type { Store } from '../../src/store/store.ts';

export function readOplogObject(store: Store, object: OplogObject): Promise<Document[]> {
  return readObjectDocuments(store, object.key);
}

export async function readObjectDocuments(store: Store, key: string): Promise<Document[]> {
  const body = await store.get(key);
  const documents: Document[] = [];
  for await (const raw of readBsonFrames(body.pipe(createGunzip()))) documents.push(BSON.deserialize(raw));
  return documents;
}
