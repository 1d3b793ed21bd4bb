// Proves, before a command writes anything, that every encrypted object it will read can be
// decrypted with what it was given: age objects need an identity (known without any call);
// KMS objects need KMS to unwrap their data keys, which only KMS can say (a key disabled,
// scheduled for deletion, missing in this account or region, or Decrypt refused by policy). So
// for each KMS key the plan names, the smallest object under it is read and decrypted whole
// (one GET and one KMS Decrypt per part under that key), its plaintext discarded. A refusal is
// then one KeyError naming the key and KMS's error code, raised before a download folder, a
// target or an export exists. The proof is per command: a key disabled between it and a later
// object still fails that object's read, with the same one line.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Store } from '../store/store.ts';
import { KMS_ENCRYPTION } from './encryption-modes.ts';
import { decryptStageOf, piecesOf, requireIdentityFor, type EncryptedObject } from './store-cipher.ts';

type Recorded = EncryptedObject & { readonly storedBytes: number };

export async function checkKeys(store: Store, objects: Iterable<Recorded>, signal?: AbortSignal): Promise<void> {
  const list = [...objects];
  requireIdentityFor(store, list);
  const smallest = new Map<string, Recorded>();
  for (const object of list) {
    for (const piece of piecesOf(object)) {
      if (piece.encryption !== KMS_ENCRYPTION) continue;
      const id = piece.kmsKeyId ?? '';
      const held = smallest.get(id);
      if (!held || object.storedBytes < held.storedBytes) smallest.set(id, object);
    }
  }
  for (const object of new Set(smallest.values())) {
    const stage = decryptStageOf(store, object);
    await pipeline(await store.get(object.key, { signal }), stage, new Writable({ write: (_chunk, _encoding, done) => done() }), { signal });
  }
}
