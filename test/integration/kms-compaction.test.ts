// Compaction of KMS-encrypted chunks against local-kms: with the key usable, spans merge into
// objects encrypted again under the key (one new data key each), every entry kept; with the key
// disabled, the pass leaves them unmerged and names the key and KMS's error instead of failing.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { readManifest } from '../../src/backup/commit.ts';
import { compact } from '../../src/backup/compact.ts';
import { KmsCipher } from '../../src/crypt/kms-cipher.ts';
import { encryptedMinuteChain, insertedIdsDecrypted, reopened } from '../support/encrypted-chain.ts';
import { createTestKey, testKmsClient } from '../servers/local-kms.ts';

const KMS_ENDPOINT = process.env.TEST_KMS_ENDPOINT;
const NO_KMS = KMS_ENDPOINT ? false : 'no KMS endpoint: run through `node test/run.ts` (it starts local-kms)';
const CHUNKS = 130;
const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('compaction of KMS-encrypted chunks', { skip: NO_KMS }, () => {
  const endpoint = KMS_ENDPOINT ?? '';
  let keyArn: string;
  let dir: string;
  const kms = () => ({ kms: new KmsCipher({ keyId: keyArn, endpoint }) });
  before(async () => {
    // local-kms takes any credentials.
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    keyArn = await createTestKey(endpoint, 'mongo-pitr compaction test');
    dir = await encryptedMinuteChain(kms(), CHUNKS, dirs);
  });

  test('the key disabled: nothing merged, the key and DisabledException named, no failure', async () => {
    const client = testKmsClient(endpoint);
    await client.send(new DisableKeyCommand({ KeyId: keyArn }));
    try {
      const reasons: string[] = [];
      const result = await compact({ store: reopened(dir, kms()), onSkipped: (reason) => reasons.push(reason) });
      assert.equal(result.merged, 0);
      assert.ok(result.skipped >= 1);
      assert.match(reasons[0] ?? '', new RegExp(`KMS Decrypt with key ${keyArn.replace(/[/.]/g, '\\$&')} failed for .*: DisabledException`));
    } finally {
      await client.send(new EnableKeyCommand({ KeyId: keyArn }));
      client.destroy();
    }
  });

  test('the key usable: merged into objects encrypted under it again, every entry kept in order', async () => {
    const before = await insertedIdsDecrypted(reopened(dir, kms()));
    const result = await compact({ store: reopened(dir, kms()) });
    assert.ok(result.merged >= 1, `merged ${result.merged}`);
    const { manifest } = await readManifest(reopened(dir));
    const chunks = manifest.chains[0]?.chunks ?? [];
    assert.ok(chunks.some((chunk) => (chunk.level ?? 0) >= 1));
    for (const chunk of chunks) {
      assert.equal(chunk.encryption, 'kms', chunk.key);
      assert.equal(chunk.kmsKeyId, keyArn, chunk.key);
    }
    assert.deepEqual(await insertedIdsDecrypted(reopened(dir, kms())), before);
  });
});
