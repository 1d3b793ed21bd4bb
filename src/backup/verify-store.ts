// Verify of one replica-set store: every object's size and sha256, and every chain's continuity,
// without restoring. Reads each object once, streaming; writes nothing. Shared by `verify` on a
// replica-set store and on each member store of a cluster store (cluster/cluster-verify.ts).
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import pLimit from 'p-limit';
import { keysOf, verifyContinuity } from '../archive/chain-window.ts';
import { DigestStream } from '../archive/digest.ts';
import { collectionObjectsOf, type Chain, type StoredObject } from '../archive/manifest.ts';
import { checkDigest, getRecorded } from '../restore/download-chain.ts';
import type { Store } from '../store/store.ts';
import { readManifest } from './commit.ts';

export interface StoreVerifyResult {
  readonly chains: number;
  readonly objects: number;
  /** The ids of the chains verified, oldest first. */
  readonly chainIds: readonly string[];
}

/** Throws IntegrityError at the first object or link that does not match its manifest. */
export async function verifyStore(store: Store, onChain?: (chain: Chain, objects: number) => void): Promise<StoreVerifyResult> {
  const { manifest } = await readManifest(store);
  const limit = pLimit(4);
  let objects = 0;
  for (const chain of manifest.chains) {
    verifyContinuity(chain);
    const all: StoredObject[] = [...collectionObjectsOf(chain.base), chain.base.oplog, ...chain.chunks];
    await Promise.all(all.map((object) => limit(() => verifyObject(store, object))));
    objects += all.length;
    onChain?.(chain, keysOf(chain).length);
  }
  return { chains: manifest.chains.length, objects, chainIds: manifest.chains.map((chain) => chain.id) };
}

async function verifyObject(store: Store, object: StoredObject): Promise<void> {
  const body = await getRecorded(store, object);
  const digest = new DigestStream();
  await pipeline(body, digest, new Writable({ write: (_chunk, _encoding, done) => done() }));
  checkDigest(object, digest);
}
