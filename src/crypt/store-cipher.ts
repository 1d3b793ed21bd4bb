// Which cipher a store's objects are written and read with. The cipher is attached to the Store
// object rather than wrapped around it: every Store method stays the backend's own (so the bytes
// in the store are the encrypted ones, and the manifest's sizes and sha256, `verify`, `prune` and
// compaction never need the key), and the store seam knows nothing of keys. The object writer
// (backup/store-object.ts) and readers (restore/download-chain.ts, interop/export-dump.ts,
// restore/find-ops.ts) ask for the stage to put in their pipelines.
import type { Store } from '../store/store.ts';
import type { ObjectPart } from '../archive/manifest.ts';
import { partsStage } from '../archive/object-parts.ts';
import { missingIdentity, type AgeCipher, type ByteStage } from './age-cipher.ts';

const ciphers = new WeakMap<Store, AgeCipher>();

/** Makes `store` encrypt new objects to the cipher's recipients and decrypt with its identities. */
export function attachCipher<S extends Store>(store: S, cipher: AgeCipher): S {
  ciphers.set(store, cipher);
  return store;
}

/** The cipher attached to `store`, if any. */
export function cipherOf(store: Store): AgeCipher | undefined {
  return ciphers.get(store);
}

/** The stage that encrypts new objects written to `store`, or undefined when it writes plain. */
export function encryptStageOf(store: Store): ByteStage | undefined {
  const cipher = cipherOf(store);
  return cipher?.encrypts ? cipher.encryptStage() : undefined;
}

/** What readers put after the digest: decryption for an encrypted object, else a pass-through. */
export function decryptStageOf(store: Store, object: { readonly key: string; readonly encryption?: string; readonly parts?: readonly ObjectPart[] }): ByteStage {
  // A compacted object of encrypted pieces: each part decrypted on its own (archive/object-parts.ts).
  if (object.parts) return partsStage(object.key, object.parts.map((part) => ({ storedBytes: part.storedBytes, stage: decryptStageOf(store, { key: object.key, encryption: part.encryption }) })));
  if (object.encryption === undefined) return passThrough;
  const cipher = cipherOf(store);
  if (!cipher?.canDecrypt) throw missingIdentity(object.key);
  return cipher.decryptStage(object.key);
}

/** Refuses, before any download, a plan holding an encrypted object when no identity was given. */
export function requireIdentityFor(store: Store, objects: Iterable<{ readonly key: string; readonly encryption?: string }>): void {
  if (cipherOf(store)?.canDecrypt) return;
  for (const object of objects) if (object.encryption !== undefined) throw missingIdentity(object.key);
}

async function* passThrough(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield* source;
}
