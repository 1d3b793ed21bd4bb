// Compaction of age-encrypted chunks: merging decrypts the pieces and encrypts the merged object
// again. A run without the identity (a backup host holds only recipients) leaves those spans as
// they are and says so instead of failing the pass; a run that has the identity but writes no
// encrypted objects leaves them too, since the merged object would be stored in clear; a run
// with both merges them into objects encrypted again, every entry kept.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { readManifest } from '../../../src/backup/commit.ts';
import { compact } from '../../../src/backup/compact.ts';
import { AgeCipher } from '../../../src/crypt/age-cipher.ts';
import { encryptedMinuteChain, insertedIdsDecrypted, reopened } from '../../support/encrypted-chain.ts';

const CHUNKS = 130;
const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('compaction of age-encrypted chunks', () => {
  let identity: string;
  let recipient: string;
  let dir: string;
  before(async () => {
    identity = await generateX25519Identity();
    recipient = await identityToRecipient(identity);
    dir = await encryptedMinuteChain({ age: new AgeCipher({ recipients: [recipient] }) }, CHUNKS, dirs);
  });

  test('without the identity: nothing merged, the spans named, no failure', async () => {
    const reasons: string[] = [];
    const result = await compact({ store: reopened(dir, { age: new AgeCipher({ recipients: [recipient] }) }), onSkipped: (reason) => reasons.push(reason) });
    assert.equal(result.merged, 0);
    assert.ok(result.skipped >= 1, `skipped ${result.skipped}`);
    assert.match(reasons[0] ?? '', /is encrypted \(age\) and no identity was given/);
  });

  test('with the identity but no recipients: nothing merged, rather than merged objects in clear', async () => {
    const result = await compact({ store: reopened(dir, { age: new AgeCipher({ identities: [identity] }) }) });
    assert.equal(result.merged, 0);
    assert.ok(result.skipped >= 1);
    const { manifest } = await readManifest(reopened(dir));
    for (const chunk of manifest.chains[0]?.chunks ?? []) assert.equal(chunk.encryption, 'age', `${chunk.key} stays encrypted`);
  });

  test('with both: merged into objects encrypted again, every entry kept in order', async () => {
    const both = { age: new AgeCipher({ recipients: [recipient], identities: [identity] }) };
    const before = await insertedIdsDecrypted(reopened(dir, both));
    const result = await compact({ store: reopened(dir, both) });
    assert.ok(result.merged >= 1, `merged ${result.merged}`);
    assert.equal(result.skipped, 0);
    const { manifest } = await readManifest(reopened(dir));
    const chunks = manifest.chains[0]?.chunks ?? [];
    assert.ok(chunks.some((chunk) => (chunk.level ?? 0) >= 1));
    for (const chunk of chunks) assert.equal(chunk.encryption, 'age', chunk.key);
    assert.deepEqual(await insertedIdsDecrypted(reopened(dir, both)), before);
  });
});
