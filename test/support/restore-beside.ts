// Restoring a database beside its source (under a new name) and comparing the two, collection by
// collection and document by document.
import assert from 'node:assert/strict';
import type { Document, MongoClient } from 'mongodb';
import { restore } from '../../src/restore/restore.ts';
import type { Store } from '../../src/store/store.ts';

/** Every collection of `db` with its documents in _id order. */
export async function snapshot(client: MongoClient, db: string): Promise<Record<string, Document[]>> {
  const result: Record<string, Document[]> = {};
  const names = (await client.db(db).listCollections().toArray()).map((info) => info.name).sort();
  for (const name of names) result[name] = await client.db(db).collection(name).find().sort({ _id: 1 }).toArray();
  return result;
}

/**
 * Restores everything archived of `db` into `<db>_r` on the same server and asserts it equals
 * `db` as it is now, which must hold `collections` collections.
 */
export async function assertRestoresBeside(options: { store: Store; uri: string; client: MongoClient; db: string; collections: number }): Promise<void> {
  const { store, uri, client, db } = options;
  const restored = `${db}_r`;
  await restore({ store, targetUri: uri, namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${restored}.*`] } });
  const expected = await snapshot(client, db);
  assert.equal(Object.keys(expected).length, options.collections);
  assert.deepEqual(await snapshot(client, restored), expected);
}
