// Reads the keys the user names: recipients (public keys, age1…) given inline or as files in
// age's recipients-file format, and identities (AGE-SECRET-KEY-1…) as files in age-keygen's
// output format. Both formats: one key per line, "#" comments and blank lines ignored
// (age's doc/age.1.ronn, "RECIPIENTS AND IDENTITIES").
import { readFile, stat } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { formatMode, isOpenToOthers } from '../private-mode.ts';
// The cipher modules are imported only when a key is named (encryption-modes.ts says why).
import { KMS_PREFIX } from './encryption-modes.ts';
import type { Ciphers } from './store-cipher.ts';

const RECIPIENT_PREFIX = 'age1';
const IDENTITY_PREFIX = 'AGE-SECRET-KEY-';

export interface KeyOptions {
  /** Recipients, or files of recipients: new objects are encrypted to all of them; or one kms:<key>. */
  readonly encrypt?: readonly string[];
  /** KMS endpoint (tests, KMS-compatible services); else AWS_ENDPOINT_URL_KMS or AWS's own. */
  readonly kmsEndpoint?: string;
  /** Identity files: encrypted objects are decrypted with whichever matches. */
  readonly identity?: readonly string[];
  /** Told when an identity file is readable by other accounts. */
  readonly onWarning?: (message: string) => void;
}

/** The ciphers the options ask for, or undefined when they name no key and no KMS endpoint. */
export async function loadCipher(options: KeyOptions): Promise<Ciphers | undefined> {
  const kmsKeys = (options.encrypt ?? []).filter((value) => value.startsWith(KMS_PREFIX)).map((value) => value.slice(KMS_PREFIX.length));
  const recipients: string[] = [];
  for (const value of options.encrypt ?? []) {
    if (value.startsWith(KMS_PREFIX)) continue;
    recipients.push(...(value.startsWith(RECIPIENT_PREFIX) ? [value] : await keyLines(value, 'recipients')));
  }
  checkOneMode(kmsKeys, recipients);
  const identities: string[] = [];
  for (const file of options.identity ?? []) identities.push(...(await identitiesIn(file, options.onWarning)));
  const age = recipients.length === 0 && identities.length === 0 ? undefined : new (await import('./age-cipher.ts')).AgeCipher({ recipients, identities });
  const kms = kmsKeys.length === 0 && options.kmsEndpoint === undefined ? undefined : new (await import('./kms-cipher.ts')).KmsCipher({ keyId: kmsKeys[0], endpoint: options.kmsEndpoint });
  if (!age && !kms) return undefined;
  return { ...(age && { age }), ...(kms && { kms }) };
}

/** New objects are written in one mode under one KMS key: anything else is a mistake to name now. */
function checkOneMode(kmsKeys: readonly string[], recipients: readonly string[]): void {
  if (kmsKeys.length > 1) {
    throw new UsageError(`--encrypt names ${kmsKeys.length} KMS keys; new objects are encrypted under one`, { hint: 'give one --encrypt kms:<key>; to rotate, change it: old objects stay readable' });
  }
  if (kmsKeys.length === 1 && recipients.length > 0) {
    throw new UsageError('--encrypt names both a KMS key and age recipients; new objects are encrypted in one mode', {
      hint: 'give either kms:<key> or age recipients; a chain may still mix objects written in either mode',
    });
  }
}

async function identitiesIn(file: string, onWarning?: (message: string) => void): Promise<string[]> {
  const identities = (await keyLines(file, 'identity')).filter((line) => line.startsWith(IDENTITY_PREFIX));
  if (identities.length === 0) throw new UsageError(`identity file ${file} holds no age identity (AGE-SECRET-KEY-…)`, { hint: 'make one with age-keygen -o <file>' });
  for (const identity of identities) {
    try {
      await (await import('./age-cipher.ts')).recipientOfIdentity(identity);
    } catch (error) {
      throw new UsageError(`identity file ${file} holds a malformed age identity`, { cause: error, hint: 'make one with age-keygen -o <file>' });
    }
  }
  const { mode } = await stat(file);
  if (isOpenToOthers(mode)) onWarning?.(`identity file ${file} has mode ${formatMode(mode)}: other local accounts may read the key; fix: chmod 600 ${file}`);
  return identities;
}

async function keyLines(file: string, what: 'recipients' | 'identity'): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`cannot read ${what} file ${file}: ${code}`, {
      cause: error,
      hint: what === 'recipients' ? 'give an age public key (age1…) or a file of them' : 'give the file age-keygen wrote',
    });
  }
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length === 0) throw new UsageError(`${what} file ${file} is empty`);
  return lines;
}
