// Before a pass extends a chain, it checks that the chain is whole, so that a deleted, truncated
// or altered object is noticed while the backup still runs, not at the next restore:
//   - every pass: one listing of the chain's folders, each object's presence and size compared
//     with the manifest (cheap: no object is read);
//   - every `verifyEveryMs` (default a day): every object read back and its sha256 compared,
//     the time recorded in the manifest (chain.verifiedAt) so that it is done once per period,
//     not on every pass. Objects a pass writes are hashed as they stream, so they need no read.
// A damaged chain is marked in the manifest (what, when) and never extended again.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChainDamaged, damageWithExtent, markChainDamaged, markChainVerified } from '../archive/chain-health.ts';
import { keysOf } from '../archive/chain-window.ts';
import { DigestStream } from '../archive/digest.ts';
import { collectionObjectsOf, type Chain, type ChainDamage, type StoredObject } from '../archive/manifest.ts';
import { StoreError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import type { ManifestCommitter } from './commit.ts';
import { loadChain } from './read-manifest.ts';

export const DEFAULT_VERIFY_EVERY_MS = 24 * 60 * 60 * 1000;

export interface CheckChainOptions {
  /** Read back and hash every object when the last full verify is older than this. */
  readonly verifyEveryMs?: number;
  readonly now?: Date;
  readonly signal?: AbortSignal;
}

export interface ChainCheck {
  /** Set when every object was read back and hashed now: record it with recordVerified once the pass succeeded. */
  readonly verifiedAt: string | null;
}

/**
 * Checks the chain a pass is about to extend. When it is damaged, records that in the manifest
 * and throws ChainDamaged (exit 6) naming the object. A full verify is recorded only by
 * recordVerified after the pass, so that a pass that fails otherwise (an oplog gap, a store
 * error) leaves the manifest as it was.
 */
export async function ensureChainWhole(store: Store, committer: ManifestCommitter, chain: Chain, options: CheckChainOptions = {}): Promise<ChainCheck> {
  if (chain.damage) throw new ChainDamaged(chain, chain.damage);
  const now = options.now ?? new Date();
  const due = dueForVerify(chain, now, options);
  // Format 2: the head lists only the unsealed chunks; the checks cover the chain whole.
  const whole = await loadChain(store, chain);
  const found = (await findMissing(store, whole, now)) ?? (due ? await findCorrupt(store, whole, now, options.signal) : null);
  if (found) {
    const damage = damageWithExtent(whole, found);
    await committer.commit((manifest) => markChainDamaged(manifest, chain.id, damage));
    throw new ChainDamaged(chain, damage);
  }
  return { verifiedAt: due ? now.toISOString() : null };
}

/** Records a full verify (ensureChainWhole's `verifiedAt`) after the pass that did it succeeded. */
export async function recordVerified(committer: ManifestCommitter, chainId: string, check: ChainCheck): Promise<void> {
  const at = check.verifiedAt;
  if (at !== null) await committer.commit((manifest) => markChainVerified(manifest, chainId, at));
}

function dueForVerify(chain: Chain, now: Date, options: CheckChainOptions): boolean {
  const everyMs = options.verifyEveryMs ?? DEFAULT_VERIFY_EVERY_MS;
  return chain.verifiedAt === undefined || now.getTime() - Date.parse(chain.verifiedAt) >= everyMs;
}

/** Every object the manifest names for this chain, with what it says about each. */
function recordedObjects(chain: Chain): Map<string, StoredObject> {
  const objects: StoredObject[] = [
    ...collectionObjectsOf(chain.base),
    chain.base.oplog,
    ...chain.chunks,
  ];
  return new Map(objects.map((object) => [object.key, object]));
}

/** The folders to list: each base folder the chain's keys sit in, and its chunks folder. */
function foldersOf(chain: Chain): string[] {
  const folders = new Set<string>();
  for (const key of keysOf(chain)) folders.add(key.slice(0, key.indexOf('/', key.indexOf('/') + 1) + 1));
  return [...folders].sort();
}

async function findMissing(store: Store, chain: Chain, now: Date): Promise<ChainDamage | null> {
  const listed = new Map<string, number>();
  for (const folder of foldersOf(chain)) for await (const object of store.list(folder)) listed.set(object.key, object.size);
  for (const object of recordedObjects(chain).values()) {
    const size = listed.get(object.key);
    if (size === undefined) return damageOf(object.key, 'is missing from the store', now);
    if (size !== object.storedBytes) return damageOf(object.key, `is ${size} bytes, the manifest says ${object.storedBytes}`, now);
  }
  return null;
}

async function findCorrupt(store: Store, chain: Chain, now: Date, signal?: AbortSignal): Promise<ChainDamage | null> {
  for (const object of recordedObjects(chain).values()) {
    const digest = new DigestStream();
    let body;
    try {
      body = await store.get(object.key, { signal });
    } catch (error) {
      if (error instanceof StoreError && error.kind === 'not-found') return damageOf(object.key, 'is missing from the store', now);
      throw error;
    }
    await pipeline(body, digest, new Writable({ write: (_chunk, _encoding, done) => done() }), { signal });
    const { bytes, sha256 } = digest.digest();
    if (bytes !== object.storedBytes || sha256 !== object.sha256) {
      return damageOf(object.key, `has sha256 ${sha256.slice(0, 12)}… (${bytes} bytes), the manifest says ${object.sha256.slice(0, 12)}… (${object.storedBytes} bytes)`, now);
    }
  }
  return null;
}

function damageOf(key: string, reason: string, now: Date): ChainDamage {
  return { key, reason, detectedAt: now.toISOString() };
}
