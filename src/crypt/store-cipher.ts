// Which cipher a store's objects are written and read with. The cipher is attached to the Store
// object rather than wrapped around it: every Store method stays the backend's own (so the bytes
// in the store are the encrypted ones, and the manifest's sizes and sha256, `verify`, `prune` and
// compaction never need the key), and the store seam knows nothing of keys. The object writer
// (backup/store-object.ts) and readers (restore/download-chain.ts, interop/export-dump.ts,
// restore/find-ops.ts) ask for the stage to put in their pipelines.
//
// Two modes, one per object (the manifest's `encryption` says which): age (recipients encrypt,
// identities decrypt) and KMS envelope encryption (a key id encrypts; reading needs only KMS's
// Decrypt permission on the key the manifest names, so no flag is needed to restore). New
// objects are written in one mode; old objects of any mode stay readable, so a chain may mix them.
import type { Store } from '../store/store.ts';
import type { ObjectPart } from '../archive/manifest.ts';
import { partsStage } from '../archive/object-parts.ts';
import type { AgeCipher } from './age-cipher.ts';
import type { KmsCipher } from './kms-cipher.ts';
// Not the cipher modules themselves: a store without encrypted objects never loads their
// libraries (encryption-modes.ts says what they weigh). A cipher given by the user was made by
// key-files.ts, which imported its module then.
import { AGE_ENCRYPTION, deferredStage, KMS_ENCRYPTION, missingIdentity, type ByteStage } from './encryption-modes.ts';

/** The keys a command was given: either mode may be absent. */
export interface Ciphers {
  readonly age?: AgeCipher;
  readonly kms?: KmsCipher;
}

/** What a reader needs to know of an object to decrypt it (a manifest record). */
export interface EncryptedObject {
  readonly key: string;
  readonly encryption?: string;
  readonly kmsKeyId?: string;
  /** A compacted object of encrypted pieces, read part by part (archive/object-parts.ts). */
  readonly parts?: readonly ObjectPart[];
}

/**
 * Each piece an object is decrypted as: the object itself, or its parts (a KMS part keeps the
 * piece's own key, which its encryption context names).
 */
export function piecesOf(object: EncryptedObject): EncryptedObject[] {
  if (!object.parts) return [object];
  return object.parts.map((part) => ({ key: part.key ?? object.key, ...(part.encryption && { encryption: part.encryption }), ...(part.kmsKeyId !== undefined && { kmsKeyId: part.kmsKeyId }) }));
}

/** What the manifest records about how an object was encrypted. */
export type EncryptionRecord = { readonly encryption: typeof AGE_ENCRYPTION } | { readonly encryption: typeof KMS_ENCRYPTION; readonly kmsKeyId?: string };

export interface EncryptingStage {
  readonly stage: ByteStage;
  /** Read once the stage has run: the record for the manifest. */
  record(): EncryptionRecord;
}

const ciphers = new WeakMap<Store, Ciphers>();

/** Makes `store` encrypt new objects with the given mode and decrypt with the given keys. */
export function attachCipher<S extends Store>(store: S, cipher: Ciphers): S {
  ciphers.set(store, cipher);
  return store;
}

/** The ciphers attached to `store`, if any. */
export function cipherOf(store: Store): Ciphers | undefined {
  return ciphers.get(store);
}

/** The stage that encrypts the new object `key` written to `store`, or undefined when it writes plain. */
export function encryptStageOf(store: Store, key: string): EncryptingStage | undefined {
  const cipher = cipherOf(store);
  if (cipher?.kms?.encrypts) {
    const write = cipher.kms.encryptStage(key);
    return { stage: write.stage, record: () => ({ encryption: KMS_ENCRYPTION, ...optional(write.keyArn()) }) };
  }
  if (cipher?.age?.encrypts) return { stage: cipher.age.encryptStage(), record: () => ({ encryption: AGE_ENCRYPTION }) };
  return undefined;
}

/** True when objects written to `store` are encrypted (in either mode). */
export function encryptsNewObjects(store: Store): boolean {
  const cipher = cipherOf(store);
  return cipher?.kms?.encrypts === true || cipher?.age?.encrypts === true;
}

function optional(kmsKeyId: string | undefined): { kmsKeyId?: string } {
  return kmsKeyId === undefined ? {} : { kmsKeyId };
}

/** KMS reads without a --kms-endpoint: AWS's endpoint, or AWS_ENDPOINT_URL_KMS, which the SDK reads. */
let defaultKms: Promise<KmsCipher> | undefined;

async function kmsOf(store: Store): Promise<KmsCipher> {
  const kms = cipherOf(store)?.kms;
  if (kms) return kms;
  defaultKms ??= import('./kms-cipher.ts').then(({ KmsCipher }) => new KmsCipher({}));
  return defaultKms;
}

/** What readers put after the digest: decryption for an encrypted object, else a pass-through. */
export function decryptStageOf(store: Store, object: EncryptedObject): ByteStage {
  // A compacted object of encrypted pieces: each part decrypted on its own (archive/object-parts.ts).
  if (object.parts) {
    const pieces = piecesOf(object);
    return partsStage(object.key, object.parts.map((part, index) => ({ storedBytes: part.storedBytes, stage: decryptStageOf(store, pieces[index] ?? { key: object.key }) })));
  }
  if (object.encryption === undefined) return passThrough;
  if (object.encryption === KMS_ENCRYPTION) return deferredStage(async () => (await kmsOf(store)).decryptStage(object.key, object.kmsKeyId));
  const age = cipherOf(store)?.age;
  if (!age?.canDecrypt) throw missingIdentity(object.key);
  return age.decryptStage(object.key);
}

/**
 * Refuses, before any download, a plan holding an age-encrypted object when no identity was
 * given. KMS-encrypted objects need a call to KMS to know: crypt/key-check.ts proves those.
 */
export function requireIdentityFor(store: Store, objects: Iterable<EncryptedObject>): void {
  if (cipherOf(store)?.age?.canDecrypt) return;
  for (const object of objects) for (const piece of piecesOf(object)) if (piece.encryption === AGE_ENCRYPTION) throw missingIdentity(object.key);
}

async function* passThrough(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield* source;
}
