// Compaction of KMS-encrypted chunks against local-kms: it copies ciphertext (archive/object-parts.ts),
// so it runs without KMS (the key disabled, no cipher given); every part keeps the object key its
// encryption context names and its KMS key, so the merged objects read back with KMS, every entry
// kept, and a part presented as another piece is still refused.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { readManifest } from '../../src/backup/commit.ts';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compact } from '../../src/backup/compact.ts';
import { decryptStageOf } from '../../src/crypt/store-cipher.ts';
import { IntegrityError } from '../../src/errors.ts';
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

  test('compaction runs with the key disabled: the pieces are copied as parts, each still bound to its own key, and read back with KMS', async () => {
    const before = await insertedIdsDecrypted(reopened(dir, kms()));
    const client = testKmsClient(endpoint);
    await client.send(new DisableKeyCommand({ KeyId: keyArn }));
    let result;
    try {
      // No cipher at all, and KMS would refuse anyway: compaction copies ciphertext.
      result = await compact({ store: reopened(dir) });
    } finally {
      await client.send(new EnableKeyCommand({ KeyId: keyArn }));
      client.destroy();
    }
    assert.ok(result.merged >= 1, `merged ${result.merged}`);
    const { manifest } = await readManifest(reopened(dir));
    const chunks = manifest.chains[0]?.chunks ?? [];
    const merged = chunks.filter((chunk) => chunk.parts !== undefined);
    assert.ok(merged.length >= 1);
    for (const chunk of merged) {
      assert.equal(chunk.encryption, 'kms', chunk.key);
      for (const part of chunk.parts ?? []) {
        assert.equal(part.encryption, 'kms');
        assert.equal(part.kmsKeyId, keyArn);
        assert.ok(part.key && part.key !== chunk.key, 'a part keeps the key its encryption context names');
      }
    }
    assert.deepEqual(await insertedIdsDecrypted(reopened(dir, kms())), before);
    // The context still binds each part to its piece: a part read under another piece's key is refused.
    const first = merged[0];
    const parts = first?.parts ?? [];
    assert.ok(first && parts.length >= 2);
    const swapped = { ...first, parts: [{ ...parts[0], storedBytes: parts[0]?.storedBytes ?? 0, key: parts[1]?.key }, ...parts.slice(1)] };
    const store = reopened(dir, kms());
    await assert.rejects(
      pipeline(await store.get(first.key), decryptStageOf(store, swapped), new Writable({ write: (_c, _e, done) => done() })),
      (error) => error instanceof IntegrityError && /moved or copied over this one/.test(error.message),
    );
  });
});
