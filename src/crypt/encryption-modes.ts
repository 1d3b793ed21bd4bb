// The names of the encryption modes and what every reader of the manifest needs of them, without
// the cryptographic libraries. age-encryption and @aws-crypto/client-node (which brings the KMS
// and DynamoDB clients of the AWS SDK) add about 40 MiB of resident code and heap to a process;
// V8 sizes its old generation as a multiple of what survives a full collection, so that weight
// was paid again in uncollected garbage (restore peak RSS 281 MiB at 20,000 documents, 241 MiB
// with neither library loaded). A store that holds no encrypted object, with no key given, never
// loads them: age-cipher.ts and kms-cipher.ts are imported only when a key is given or an
// encrypted object is read (store-cipher.ts, key-files.ts, decrypt-file.ts).
import { KeyError } from '../errors.ts';

/** What the manifest records on an object encrypted by age (age-cipher.ts). */
export const AGE_ENCRYPTION = 'age' as const;

/** What the manifest records on an object encrypted under a KMS key (kms-cipher.ts). */
export const KMS_ENCRYPTION = 'kms' as const;

/** How `--encrypt` names a KMS key: kms:<key id, key ARN, alias/name or alias ARN>. */
export const KMS_PREFIX = 'kms:';

/** A pipeline stage: bytes in, bytes out. */
export type ByteStage = (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>;

export function missingIdentity(key: string): KeyError {
  return new KeyError(`${key} is encrypted (age) and no identity was given`, { hint: 'give the age identity file it was encrypted to with --identity <file>, repeated for several' });
}

/**
 * A stage whose real stage is made when the first byte is asked for: a cipher module imported on
 * first use. A failure to make it (a missing key) fails the pipeline like the stage's own errors.
 */
export function deferredStage(make: () => Promise<ByteStage>): ByteStage {
  return async function* deferred(source) {
    const stage = await make();
    yield* stage(source);
  };
}
