// A local file that may be an encrypted object (a chunk copied out of the store and given to
// `replay --oplogFile`): recognised by age's first header line or by the AWS Encryption SDK's
// message header (version 2 with a committing suite, the only ones this program writes),
// decrypted into a private temporary file with the given identities or KMS, or refused in one
// line when an age file meets no identity.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KeyError } from '../errors.ts';
import { PRIVATE_FILE_MODE } from '../private-mode.ts';
import type { Ciphers } from './store-cipher.ts';

/** The first line of every age file (age-encryption.org/v1 spec, "Header"). */
const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n');

/**
 * An Encryption SDK message of format version 2 starts with the version byte 0x02 and the
 * two-byte suite id; 0x0478 and 0x0578 are the committing suites (without and with signing:
 * docs.aws.amazon.com/encryption-sdk/latest/developer-guide/algorithms-reference.html). A gzip
 * file starts 1f 8b; a BSON file with its little-endian length, which would have to be
 * 0x??780502 bytes, over MongoDB's 16 MiB document limit for any nonzero high byte.
 */
const KMS_MESSAGE_HEADS = [Buffer.from([0x02, 0x04, 0x78]), Buffer.from([0x02, 0x05, 0x78])];

async function headOf(path: string, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export async function isAgeFile(path: string): Promise<boolean> {
  return (await headOf(path, AGE_MAGIC.length)).equals(AGE_MAGIC);
}

export async function isKmsFile(path: string): Promise<boolean> {
  const head = await headOf(path, 4);
  return head.length === 4 && head[3] !== 0 && KMS_MESSAGE_HEADS.some((magic) => head.subarray(0, 3).equals(magic));
}

export interface PlainFile {
  readonly path: string;
  /** Removes the decrypted copy, if one was made. */
  dispose(): Promise<void>;
}

/** `path` itself when it is not encrypted; else a decrypted copy in a private temporary folder. */
export async function plainFileOf(path: string, cipher: Ciphers | undefined, signal?: AbortSignal): Promise<PlainFile> {
  let stage;
  if (await isKmsFile(path)) {
    // Imported here only: plain files never load the Encryption SDK (encryption-modes.ts).
    stage = (cipher?.kms ?? new (await import('./kms-cipher.ts')).KmsCipher({})).decryptFileStage(path);
  } else if (await isAgeFile(path)) {
    if (!cipher?.age?.canDecrypt) throw new KeyError(`${path} is encrypted (age) and no identity was given`, { hint: 'give the age identity file it was encrypted to with --identity <file>' });
    stage = cipher.age.decryptStage(path);
  } else {
    return { path, dispose: async () => undefined };
  }
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-decrypted-'));
  const copy = join(dir, basename(path));
  try {
    await pipeline(createReadStream(path), stage, createWriteStream(copy, { mode: PRIVATE_FILE_MODE, flags: 'wx' }), { signal });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { path: copy, dispose: () => rm(dir, { recursive: true, force: true }) };
}
