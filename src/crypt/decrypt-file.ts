// A local file that may be an encrypted object (a chunk copied out of the store and given to
// `replay --oplogFile`): recognised by age's first header line, decrypted into a private
// temporary file with the given identities, or refused in one line when there are none.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KeyError } from '../errors.ts';
import { PRIVATE_FILE_MODE } from '../private-mode.ts';
import type { AgeCipher } from './age-cipher.ts';

/** The first line of every age file (age-encryption.org/v1 spec, "Header"). */
const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n');

export async function isAgeFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(AGE_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(AGE_MAGIC);
  } finally {
    await handle.close();
  }
}

export interface PlainFile {
  readonly path: string;
  /** Removes the decrypted copy, if one was made. */
  dispose(): Promise<void>;
}

/** `path` itself when it is not encrypted; else a decrypted copy in a private temporary folder. */
export async function plainFileOf(path: string, cipher: AgeCipher | undefined, signal?: AbortSignal): Promise<PlainFile> {
  if (!(await isAgeFile(path))) return { path, dispose: async () => undefined };
  if (!cipher?.canDecrypt) throw new KeyError(`${path} is encrypted (age) and no identity was given`, { hint: 'give the age identity file it was encrypted to with --identity <file>' });
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-decrypted-'));
  const copy = join(dir, basename(path));
  try {
    await pipeline(createReadStream(path), cipher.decryptStage(path), createWriteStream(copy, { mode: PRIVATE_FILE_MODE, flags: 'wx' }), { signal });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { path: copy, dispose: () => rm(dir, { recursive: true, force: true }) };
}
