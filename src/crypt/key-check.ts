// Proves, before a command writes anything, that every encrypted object it will read can be
// decrypted with what it was given: age objects need an identity (known without any call);
// KMS objects need KMS to unwrap their data keys, which only KMS can say (a key disabled,
// scheduled for deletion, missing in this account or region, or Decrypt refused by policy). So
// for each KMS key the plan names, the smallest object under it is read and decrypted whole
// (one GET and one KMS Decrypt), its plaintext discarded. A refusal is then one KeyError naming
// the key and KMS's error code, raised before a download folder, a target or an export exists.
// The proof is per command: a key disabled between it and a later object still fails that
// object's read, with the same one line.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Store } from '../store/store.ts';
import { KMS_ENCRYPTION } from './kms-cipher.ts';
import { KeyError } from '../errors.ts';
import { decryptStageOf, encryptsNewObjects, requireIdentityFor, type EncryptedObject } from './store-cipher.ts';

export async function checkKeys(store: Store, objects: Iterable<EncryptedObject & { readonly storedBytes: number }>, signal?: AbortSignal): Promise<void> {
  const list = [...objects];
  requireIdentityFor(store, list);
  const smallest = new Map<string, EncryptedObject & { readonly storedBytes: number }>();
  for (const object of list) {
    if (object.encryption !== KMS_ENCRYPTION) continue;
    const id = object.kmsKeyId ?? '';
    const held = smallest.get(id);
    if (!held || object.storedBytes < held.storedBytes) smallest.set(id, object);
  }
  for (const object of smallest.values()) {
    const stage = decryptStageOf(store, object);
    await pipeline(await store.get(object.key, { signal }), stage, new Writable({ write: (_chunk, _encoding, done) => done() }), { signal });
  }
}

/**
 * For compaction, which decrypts pieces to merge them and encrypts the merged object again: why
 * a set of pieces cannot be rewritten with the keys at hand, or undefined when it can. Not a
 * failure: a pass without the key (a backup host holding only age recipients, a role without
 * kms:Decrypt) merges what it can and leaves the rest as it is. Encrypted pieces are never merged
 * into an object this store would write in clear. KMS answers are asked once per key per probe.
 */
export class RewriteProbe {
  readonly #store: Store;
  readonly #signal: AbortSignal | undefined;
  readonly #kms = new Map<string, Promise<string | undefined>>();

  constructor(store: Store, signal?: AbortSignal) {
    this.#store = store;
    this.#signal = signal;
  }

  async refusal(pieces: readonly (EncryptedObject & { readonly storedBytes: number })[]): Promise<string | undefined> {
    const encrypted = pieces.filter((piece) => piece.encryption !== undefined);
    if (encrypted.length === 0) return undefined;
    if (!encryptsNewObjects(this.#store)) return 'its pieces are encrypted and this run writes no encrypted objects (give --encrypt)';
    try {
      requireIdentityFor(this.#store, encrypted);
    } catch (error) {
      if (error instanceof KeyError) return error.message;
      throw error;
    }
    for (const piece of encrypted) {
      if (piece.encryption !== KMS_ENCRYPTION) continue;
      const id = piece.kmsKeyId ?? '';
      let answer = this.#kms.get(id);
      if (!answer) {
        answer = checkKeys(this.#store, [piece], this.#signal).then(
          () => undefined,
          (error: unknown) => {
            if (error instanceof KeyError) return error.message;
            throw error;
          },
        );
        this.#kms.set(id, answer);
      }
      const refused = await answer;
      if (refused !== undefined) return refused;
    }
    return undefined;
  }
}
