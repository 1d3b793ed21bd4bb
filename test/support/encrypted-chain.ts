// Synthetic chains written through a store with a cipher attached, and their entries read back
// through the store's decrypting stage: for the compaction tests of both encryption modes.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BSON } from 'mongodb';
import { readBsonFrames } from '../../src/archive/bson-frames.ts';
import { ManifestCommitter, readManifest } from '../../src/backup/commit.ts';
import { attachCipher, decryptStageOf, type Ciphers } from '../../src/crypt/store-cipher.ts';
import { FolderStore } from '../../src/store/folder-store.ts';
import { appendChunks, syntheticBase } from './synthetic-chain.ts';

/** A folder store holding a chain of `chunks` chunks one minute apart, written with `writer`. */
export async function encryptedMinuteChain(writer: Ciphers, chunks: number, dirs: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-compact-enc-'));
  dirs.push(dir);
  const store = attachCipher(new FolderStore(dir), writer);
  const committer = await ManifestCommitter.open(store);
  const base = await syntheticBase(store, committer);
  await appendChunks(store, committer, base, 1, chunks, { stepSeconds: 60, perCommit: 20 });
  return dir;
}

/** The same store as another run opens it, with other keys (or none). */
export function reopened(dir: string, ciphers?: Ciphers): FolderStore {
  const store = new FolderStore(dir);
  return ciphers ? attachCipher(store, ciphers) : store;
}

/** Every inserted _id of the newest chain, decrypting each object with `store`'s keys. */
export async function insertedIdsDecrypted(store: FolderStore): Promise<number[]> {
  const { manifest } = await readManifest(store);
  const chain = manifest.chains.at(-1);
  if (!chain) throw new Error('no chain');
  const ids: number[] = [];
  for (const object of [chain.base.oplog, ...chain.chunks]) {
    await pipeline(await store.get(object.key), decryptStageOf(store, object), createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const raw of readBsonFrames(source)) ids.push((BSON.deserialize(raw).o as { _id: number })._id);
    });
  }
  return ids;
}
