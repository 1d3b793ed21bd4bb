// Reads an archived chain back from a store, object by object, as a test's independent check
// of what backup wrote: every entry of the base oplog and every chunk, in order.
import assert from 'node:assert/strict';
import { BSON, type Document } from 'mongodb';
import { createGunzip } from 'node:zlib';
import { readBsonFrames } from '../../src/archive/bson-frames.ts';
import type { OplogObject } from '../../src/archive/manifest.ts';
import { verifyContinuity } from '../../src/archive/chain-window.ts';
import { readManifest } from '../../src/backup/commit.ts';
import { compareTs, tsFromBson, type Ts } from '../../src/timestamp.ts';
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

/**
 * The `_id`s inserted into `ns` across the newest chain's oplog objects (base oplog, then
 * chunks), in order, asserting the chain's continuity and strictly increasing ts on the way.
 */
export async function archivedInsertIds(store: Store, ns: string): Promise<number[]> {
  const { manifest } = await readManifest(store);
  const chain = manifest.chains.at(-1);
  assert.ok(chain, 'a chain exists');
  verifyContinuity(chain);
  const ids: number[] = [];
  let previous: Ts | undefined;
  for (const object of [chain.base.oplog, ...chain.chunks]) {
    for (const entry of await readOplogObject(store, object)) {
      const ts = tsFromBson(entry.ts);
      if (previous) assert.ok(compareTs(ts, previous) > 0, 'strictly increasing ts');
      previous = ts;
      if (entry.ns === ns && entry.op === 'i') ids.push(entry.o._id as number);
    }
  }
  return ids;
}
