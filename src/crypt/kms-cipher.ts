// Client-side envelope encryption with a KMS key, in the AWS Encryption SDK's message format
// (docs.aws.amazon.com/encryption-sdk/latest/developer-guide/message-format.html): a header that
// holds the encryption context and the data key wrapped by KMS (one "encrypted data key" whose
// provider info is the KMS key's ARN), authenticated by the data key, then the body in framed
// AES-256-GCM segments (each frame its own IV and tag, a sequence number and a final-frame mark,
// so reordering and truncation are detected), then an ECDSA P-384 signature over the whole
// message. Every object gets a data key of its own: GenerateDataKey on write, Decrypt on read.
// All cryptography is the SDK's (@aws-crypto/client-node); this file only chooses its settings
// and adapts its streams to pipeline stages.
//
// Settings and why:
// - CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT: the SDK's default suite with key
//   commitment (one ciphertext decrypts under one data key only) and signing, and refusal to
//   read any message written without commitment.
// - Encryption context {"mongo-pitr:object": <object key in the store>}: the context is bound to
//   the wrapped data key by KMS (it is additional authenticated data of GenerateDataKey and
//   Decrypt) and to the header by its tag, so it cannot be edited; checking it on read against
//   the key the object was asked for refuses an object copied or moved onto another object's key
//   even when whoever did it also rewrote the manifest's sha256. The key is relative to the
//   store (no bucket, no prefix), so a store copied elsewhere and adopted still restores. The
//   object key is already visible to anyone who can list the bucket, so the context (which is
//   stored in clear in the header and appears in CloudTrail's record of each KMS call) says
//   nothing new.
// - Memory bound: KMS_FRAME_BYTES of plaintext per frame; the encryptor holds one frame, the
//   decryptor buffers one frame until its tag is checked and refuses (maxBodySize) a frame
//   larger than that, so a hostile object cannot make it buffer more. Plus the header (a few
//   hundred bytes).
import { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buildClient, cacheClients, CommitmentPolicy, getClient, KmsKeyringNode, KMS, type MessageHeader } from '@aws-crypto/client-node';
import { IntegrityError, KeyError, UsageError } from '../errors.ts';
import type { ByteStage } from './encryption-modes.ts';

// Kept exported from here for callers that name them so; they live in encryption-modes.ts,
// which readers import without loading the Encryption SDK.
export { KMS_ENCRYPTION, KMS_PREFIX } from './encryption-modes.ts';

/** Plaintext bytes per frame of the message body (the SDK's default is 4 KiB; larger frames cost fewer tags). */
export const KMS_FRAME_BYTES = 64 * 1024;

/** The encryption-context entry that binds a message to its object key. */
export const OBJECT_CONTEXT_KEY = 'mongo-pitr:object';

const { encryptStream, decryptStream } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

export interface KmsOptions {
  /** The key new objects are encrypted under; absent when the cipher only decrypts. */
  readonly keyId?: string;
  /** KMS endpoint for tests and compatible services; else AWS_ENDPOINT_URL_KMS or AWS's. */
  readonly endpoint?: string;
}

/** What the encryptor learned from the header it wrote: the key's ARN as KMS reported it. */
export interface KmsWrite {
  readonly stage: ByteStage;
  /** The ARN of the key that wrapped the data key; known once the stage has started. */
  keyArn(): string | undefined;
}

export class KmsCipher {
  readonly keyId: string | undefined;
  readonly #clientProvider: ReturnType<typeof getClient<KMS, ConstructorParameters<typeof KMS>[0]>>;

  constructor(options: KmsOptions) {
    if (options.keyId !== undefined) checkKeyId(options.keyId);
    this.keyId = options.keyId;
    // One client per region for the cipher's life, so objects reuse KMS connections.
    this.#clientProvider = cacheClients(getClient(KMS, options.endpoint === undefined ? {} : { endpoint: options.endpoint }));
  }

  get encrypts(): boolean {
    return this.keyId !== undefined;
  }

  /** Encrypts what streams through under a new data key, bound to `objectKey`. */
  encryptStage(objectKey: string): KmsWrite {
    const keyId = this.keyId;
    if (keyId === undefined) throw new UsageError('no KMS key to encrypt with');
    const keyring = new KmsKeyringNode({ generatorKeyId: keyId, clientProvider: this.#clientProvider });
    let arn: string | undefined;
    const stage: ByteStage = async function* encrypt(source) {
      const encryptor: Duplex = encryptStream(keyring, { encryptionContext: { [OBJECT_CONTEXT_KEY]: objectKey }, frameLength: KMS_FRAME_BYTES });
      encryptor.once('MessageHeader', (header: MessageHeader) => {
        arn = header.encryptedDataKeys[0]?.providerInfo;
      });
      const input = watched(source);
      const feeding = pipeline(input, encryptor).catch(() => undefined);
      try {
        for await (const piece of encryptor) yield piece as Buffer;
      } catch (error) {
        throw input.failure() ?? kmsError(keyId, objectKey, error, 'GenerateDataKey');
      }
      await feeding;
    };
    return { stage, keyArn: () => arn };
  }

  /**
   * Decrypts an object written under `keyArn` (strict: KMS is asked only about that key); refuses
   * one whose context names another object key.
   */
  decryptStage(objectKey: string, keyArn: string | undefined): ByteStage {
    if (keyArn === undefined) throw new KeyError(`${objectKey} is encrypted (kms) but the manifest names no KMS key`, { hint: 'the manifest entry lacks kmsKeyId; run mongo-pitr verify' });
    return this.#decrypt(new KmsKeyringNode({ keyIds: [keyArn], clientProvider: this.#clientProvider }), objectKey, keyArn, objectKey);
  }

  /**
   * Decrypts a local file (a chunk copied out of the store for `replay --oplogFile`): no manifest
   * names its key, so the keyring is in discovery mode (KMS is asked about the key the file's
   * header names), and no object key is expected of its context.
   */
  decryptFileStage(path: string): ByteStage {
    return this.#decrypt(new KmsKeyringNode({ discovery: true, clientProvider: this.#clientProvider }), path, 'named in its header', undefined);
  }

  #decrypt(keyring: KmsKeyringNode, objectKey: string, keyArn: string, expected: string | undefined): ByteStage {
    return async function* decrypt(source) {
      const decryptor: Duplex = decryptStream(keyring, { maxBodySize: KMS_FRAME_BYTES });
      let refused: Error | undefined;
      decryptor.once('MessageHeader', (header: MessageHeader) => {
        // Emitted after the data key is unwrapped and the header's tag checked, before any
        // plaintext: a mismatch stops the stream before a byte of it is released.
        const named = header.encryptionContext[OBJECT_CONTEXT_KEY];
        if (expected !== undefined && named !== expected) {
          refused = new IntegrityError(`${objectKey} holds the object encrypted for ${JSON.stringify(named ?? null)}: it was moved or copied over this one`, {
            hint: 'restore the original object from a replica of the store, or start a new chain',
          });
          decryptor.destroy(refused);
        }
      });
      const input = watched(source);
      const feeding = pipeline(input, decryptor).catch(() => undefined);
      try {
        for await (const piece of decryptor) yield piece as Buffer;
      } catch (error) {
        throw refused ?? input.failure() ?? kmsError(keyArn, objectKey, error, 'Decrypt');
      }
      await feeding;
    };
  }
}

/** The source, remembering its own failure (a download cut off, an abort) so it is not taken for KMS's. */
function watched(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> & { failure(): unknown } {
  let failure: unknown;
  const generator = (async function* () {
    try {
      yield* source;
    } catch (error) {
      failure = error;
      throw error;
    }
  })();
  return Object.assign(generator, { failure: () => failure });
}

/** Refuses what cannot name a KMS key, before any object is written. */
function checkKeyId(keyId: string): void {
  if (keyId === '' || /\s/.test(keyId)) {
    throw new UsageError(`${JSON.stringify(keyId)} is not a KMS key`, { hint: 'give --encrypt kms:<key id | key ARN | alias/name | alias ARN>' });
  }
}

/** KMS's error names (API reference, "Errors" of GenerateDataKey and Decrypt). */
const KMS_ERROR_CODE = /\b(AccessDeniedException|DisabledException|NotFoundException|KMSInvalidStateException|InvalidCiphertextException|IncorrectKeyException|InvalidKeyUsageException|KeyUnavailableException|KMSInternalException|DependencyTimeoutException|InvalidGrantTokenException|UnrecognizedClientException|InvalidSignatureException|ExpiredTokenException)\b/;

/**
 * One line naming the key and KMS's error code. The SDK folds KMS's errors into its own message
 * ("Unable to decrypt data key and one or more KMS CMKs had an error … DisabledException: …"), so
 * the code is read back from it. Altered bytes are an IntegrityError, an abort passes as it is.
 */
export function kmsError(keyId: string, objectKey: string, error: unknown, call: 'GenerateDataKey' | 'Decrypt'): Error {
  if (error instanceof KeyError || error instanceof IntegrityError || error instanceof UsageError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  const code = KMS_ERROR_CODE.exec(message)?.[1];
  if (code !== undefined) {
    return new KeyError(`KMS ${call} with key ${keyId} failed for ${objectKey}: ${code}`, { cause: error, hint: hintFor(code, call) });
  }
  // No wrapped key in the header is for this key, so the keyring asked KMS nothing.
  if (/No Encrypted Data Keys found to match|does not match the requested key|unencryptedDataKey has not been set/.test(message)) {
    return new KeyError(`${objectKey} was not encrypted under KMS key ${keyId}`, { cause: error, hint: 'the manifest names another key than the object holds; run mongo-pitr verify' });
  }
  if (/Region is missing|A region is required/.test(message)) {
    return new KeyError(`KMS key ${keyId}: no region to find it in`, { cause: error, hint: 'give the key as an ARN, or set AWS_REGION' });
  }
  if (/ECONNREFUSED|ENOTFOUND|getaddrinfo|connect E/.test(message)) {
    return new KeyError(`KMS unreachable for key ${keyId} (${objectKey}): ${firstLine(message)}`, { cause: error, hint: 'check --kms-endpoint (or AWS_ENDPOINT_URL_KMS) and the network' });
  }
  if (call === 'Decrypt') {
    return new IntegrityError(`${objectKey} failed authenticated decryption (${firstLine(message)}): it was altered or truncated`, { cause: error, hint: 'run mongo-pitr verify' });
  }
  return error instanceof Error ? error : new Error(message);
}

function hintFor(code: string, call: string): string {
  if (code === 'AccessDeniedException') return `give this identity kms:${call} on the key (key policy or IAM)`;
  if (code === 'DisabledException' || code === 'KMSInvalidStateException') return 'enable the key (aws kms enable-key), or cancel its deletion';
  if (code === 'NotFoundException') return 'check the key id, the account and the region (AWS_REGION) the key lives in';
  return 'check the key, the region and the credentials KMS sees';
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
