// How --encrypt kms:<key>, --kms-endpoint and their environment are read (no KMS needed): one
// mode and one KMS key for new objects, refused at once otherwise; KMS's errors turned into one
// KeyError line naming the key and the code; local files recognised as Encryption SDK messages.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BSON } from 'mongodb';
import { ENV, pickList } from '../../../src/config.ts';
import { isKmsFile } from '../../../src/crypt/decrypt-file.ts';
import { loadCipher } from '../../../src/crypt/key-files.ts';
import { kmsError, KMS_FRAME_BYTES } from '../../../src/crypt/kms-cipher.ts';
import { IntegrityError, KeyError, UsageError } from '../../../src/errors.ts';
import { runCli } from '../../support/cli.ts';

const ARN = 'arn:aws:kms:eu-west-2:111122223333:key/0b7a6c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b';
const AGE_RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

describe('KMS options', () => {
  test('kms:<key> makes a cipher that encrypts under that key, and no age cipher', async () => {
    for (const keyId of [ARN, 'alias/backups', '0b7a6c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b', 'arn:aws:kms:eu-west-2:111122223333:alias/backups']) {
      const ciphers = await loadCipher({ encrypt: [`kms:${keyId}`] });
      assert.equal(ciphers?.kms?.keyId, keyId);
      assert.equal(ciphers?.kms?.encrypts, true);
      assert.equal(ciphers?.age, undefined);
    }
  });

  test('an endpoint alone gives a KMS cipher that only decrypts; nothing at all gives none', async () => {
    const ciphers = await loadCipher({ kmsEndpoint: 'http://127.0.0.1:4599' });
    assert.equal(ciphers?.kms?.encrypts, false);
    assert.equal(await loadCipher({}), undefined);
  });

  test('two KMS keys, KMS beside age recipients, or an empty key are refused before anything is written', async () => {
    await assert.rejects(loadCipher({ encrypt: [`kms:${ARN}`, 'kms:alias/other'] }), (error) => error instanceof UsageError && /2 KMS keys/.test(error.message));
    await assert.rejects(loadCipher({ encrypt: [`kms:${ARN}`, AGE_RECIPIENT] }), (error) => error instanceof UsageError && /both a KMS key and age recipients/.test(error.message));
    await assert.rejects(loadCipher({ encrypt: ['kms:'] }), UsageError);
    await assert.rejects(loadCipher({ encrypt: ['kms:alias/has space'] }), UsageError);
  });

  test('the environment (Lambda: MONGO_PITR_ENCRYPT) names the key the same way', async () => {
    const saved = process.env[ENV.encrypt];
    process.env[ENV.encrypt] = `kms:${ARN}`;
    try {
      const ciphers = await loadCipher({ encrypt: pickList(undefined, ENV.encrypt, {}, 'encrypt') });
      assert.equal(ciphers?.kms?.keyId, ARN);
    } finally {
      if (saved === undefined) delete process.env[ENV.encrypt];
      else process.env[ENV.encrypt] = saved;
    }
  });

  test('--kms-endpoint that is not an http(s) URL is a usage error (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-kmsopt-'));
    try {
      const result = await runCli(['status', '--store', dir, '--kms-endpoint', 'localhost:4599']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--kms-endpoint localhost:4599: not an http:\/\/ or https:\/\/ URL/);
      const fromEnv = await runCli(['status', '--store', dir], { [ENV.kmsEndpoint]: 'ftp://x' });
      assert.equal(fromEnv.code, 2, fromEnv.stderr);
      assert.match(fromEnv.stderr, new RegExp(ENV.kmsEndpoint));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the frame length is a stated constant within the format limit', () => {
    assert.equal(KMS_FRAME_BYTES, 64 * 1024);
  });
});

describe('kmsError', () => {
  // The SDK's own wording when every KMS call for a data key failed (kms_keyring.js, _onDecrypt).
  const sdkFailure = (code: string) =>
    new Error(`Unable to decrypt data key and one or more KMS CMKs had an error. \n  Error #1 \n ${code}: The request was rejected because the key is disabled.\n    at x (y.js:1:1) \n`);

  test('a KMS refusal is one KeyError line naming the key, the call and the code', () => {
    const error = kmsError(ARN, 'chunks/a/b.bson.gz', sdkFailure('DisabledException'), 'Decrypt');
    assert.ok(error instanceof KeyError);
    assert.equal(error.message, `KMS Decrypt with key ${ARN} failed for chunks/a/b.bson.gz: DisabledException`);
    assert.doesNotMatch(error.message, /\n/);
    for (const code of ['AccessDeniedException', 'NotFoundException', 'KMSInvalidStateException', 'IncorrectKeyException']) {
      assert.match(kmsError(ARN, 'k', sdkFailure(code), 'GenerateDataKey').message, new RegExp(`GenerateDataKey with key .*: ${code}$`));
    }
  });

  test('no wrapped key for the named key, or no region, is a KeyError; altered bytes an IntegrityError; an abort passes', () => {
    assert.ok(kmsError(ARN, 'k', new Error('unencryptedDataKey has not been set'), 'Decrypt') instanceof KeyError);
    assert.ok(kmsError('alias/x', 'k', new Error('Region is missing'), 'GenerateDataKey') instanceof KeyError);
    assert.ok(kmsError(ARN, 'k', new Error('Unsupported state or unable to authenticate data'), 'Decrypt') instanceof IntegrityError);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    assert.equal(kmsError(ARN, 'k', abort, 'Decrypt'), abort);
  });
});

describe('isKmsFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-kmsfile-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('an Encryption SDK v2 message is recognised; gzip and BSON files are not', async () => {
    const message = join(dir, 'message');
    // Version 2, suite 0x0578, then the first byte of the 32-byte message id.
    await writeFile(message, Buffer.from([0x02, 0x05, 0x78, 0x9c, 0, 0, 0]));
    assert.equal(await isKmsFile(message), true);
    const gzip = join(dir, 'chunk.bson.gz');
    await writeFile(gzip, Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
    assert.equal(await isKmsFile(gzip), false);
    const bson = join(dir, 'oplog.bson');
    await writeFile(bson, BSON.serialize({ op: 'i', ns: 'a.b', o: { _id: 1 } }));
    assert.equal(await isKmsFile(bson), false);
    const short = join(dir, 'short');
    await writeFile(short, Buffer.from([0x02, 0x05]));
    assert.equal(await isKmsFile(short), false);
  });
});
