// Client-side encryption of stored objects in age's format (age-encryption.org/v1: an X25519
// (or post-quantum hybrid) stanza per recipient wrapping a random file key, a header MAC, then
// the payload in ChaCha20-Poly1305 STREAM segments of 64 KiB with a last-segment flag, so
// truncation and reordering are detected). The format and all cryptography are the
// `age-encryption` library's (the TypeScript port by the age authors); nothing is hand-written
// here: this file only adapts its web streams to pipeline stages.
// Memory bound: the library buffers one 64 KiB segment each way; the stages pull from their
// source on demand, so backpressure reaches the gzip and the upload.
import { ReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import { IntegrityError, KeyError, UsageError } from '../errors.ts';
import { missingIdentity, type ByteStage } from './encryption-modes.ts';

// Kept exported from here for callers that name them so; they live in encryption-modes.ts,
// which readers import without loading age-encryption.
export { AGE_ENCRYPTION, missingIdentity, type ByteStage } from './encryption-modes.ts';

/** The library's message when no identity unwraps any of a file's stanzas (age-encryption index.js). */
const NO_IDENTITY_MATCHED = 'no identity matched';

export class AgeCipher {
  readonly #recipients: readonly string[];
  readonly #identities: readonly string[];

  /** `recipients` (age1…) encrypt new objects; `identities` (AGE-SECRET-KEY-1…) decrypt old ones. */
  constructor(options: { recipients?: readonly string[]; identities?: readonly string[] }) {
    this.#recipients = options.recipients ?? [];
    this.#identities = options.identities ?? [];
    // Refused now rather than on the first object: a typo must not cost a whole dump.
    const probe = new Encrypter();
    for (const recipient of this.#recipients) {
      try {
        probe.addRecipient(recipient);
      } catch (error) {
        throw new UsageError(`${JSON.stringify(recipient.slice(0, 12))}… is not an age recipient`, { cause: error, hint: 'give public keys as age-keygen -y prints them: age1…' });
      }
    }
  }

  /** True when new objects are to be encrypted. */
  get encrypts(): boolean {
    return this.#recipients.length > 0;
  }

  get canDecrypt(): boolean {
    return this.#identities.length > 0;
  }

  /** Encrypts what streams through to every recipient. */
  encryptStage(): ByteStage {
    const recipients = this.#recipients;
    return async function* encrypt(source) {
      const encrypter = new Encrypter();
      for (const recipient of recipients) encrypter.addRecipient(recipient);
      yield* asBuffers(await encrypter.encrypt(ReadableStream.from(source)));
    };
  }

  /** Decrypts what streams through; a wrong key is a KeyError, altered bytes an IntegrityError. */
  decryptStage(key: string): ByteStage {
    const identities = this.#identities;
    if (identities.length === 0) throw missingIdentity(key);
    return async function* decrypt(source) {
      const decrypter = new Decrypter();
      for (const identity of identities) decrypter.addIdentity(identity);
      try {
        yield* asBuffers(await decrypter.decrypt(ReadableStream.from(source)));
      } catch (error) {
        throw decryptionError(key, error);
      }
    };
  }
}

/** Thrown before anything is downloaded when an encrypted object meets no --identity. */

function decryptionError(key: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes(NO_IDENTITY_MATCHED)) {
    return new KeyError(`${key} is encrypted to recipients none of the given identities match`, {
      cause: error,
      hint: 'give the identity of the recipients it was written for, --identity repeated for several; if the identity is right, run mongo-pitr verify, which checks the object without the key',
    });
  }
  // Only the library's own errors are classified; an abort or an I/O error passes as it is.
  if (error instanceof Error && error.constructor === Error && !('code' in error)) {
    return new IntegrityError(`${key} failed authenticated decryption (${message}): it was altered or truncated`, { cause: error, hint: 'run mongo-pitr verify' });
  }
  return error instanceof Error ? error : new Error(message);
}

async function* asBuffers(stream: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const piece of stream) yield Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

/** The public key of an identity, so a malformed identity file is refused when it is read. */
export function recipientOfIdentity(identity: string): Promise<string> {
  return identityToRecipient(identity);
}
