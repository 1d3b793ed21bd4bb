// The age stages and the object writer/reader seam, without servers: objects written through a
// store with a cipher attached are age files (age-encryption.org/v1) whose size and sha256 in the
// manifest are over the stored bytes; they read back with the identity, and fail cleanly with no
// identity (KeyError), a wrong one (KeyError), or altered/truncated bytes (IntegrityError).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { storeGzipped } from '../../../src/backup/store-object.ts';
import { AgeCipher } from '../../../src/crypt/age-cipher.ts';
import { attachCipher, decryptStageOf } from '../../../src/crypt/store-cipher.ts';
import { IntegrityError, KeyError, UsageError } from '../../../src/errors.ts';
import { fetchVerified } from '../../../src/restore/download-chain.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import type { StoredObject } from '../../../src/archive/manifest.ts';

async function collect(stage: (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>, input: Buffer): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stage(Readable.from([input.subarray(0, 1000), input.subarray(1000)]))) pieces.push(piece);
  return Buffer.concat(pieces);
}

describe('age cipher', () => {
  let dir: string;
  let identity: string;
  let recipient: string;
  let otherIdentity: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-age-'));
    identity = await generateX25519Identity();
    recipient = await identityToRecipient(identity);
    otherIdentity = await generateX25519Identity();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('round trip over several 64 KiB segments; the ciphertext is an age file', async () => {
    const plain = randomBytes(300_000);
    const sealed = await collect(new AgeCipher({ recipients: [recipient] }).encryptStage(), plain);
    assert.equal(sealed.subarray(0, 21).toString(), 'age-encryption.org/v1');
    assert.ok(!sealed.includes(plain.subarray(0, 64)));
    const opened = await collect(new AgeCipher({ identities: [otherIdentity, identity] }).decryptStage('k'), sealed);
    assert.ok(opened.equals(plain));
  });

  test('a wrong identity is a KeyError; a flipped payload byte or a truncation is an IntegrityError', async () => {
    const sealed = await collect(new AgeCipher({ recipients: [recipient] }).encryptStage(), randomBytes(200_000));
    await assert.rejects(collect(new AgeCipher({ identities: [otherIdentity] }).decryptStage('k'), sealed), KeyError);
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 70_000] ^= 1;
    await assert.rejects(collect(new AgeCipher({ identities: [identity] }).decryptStage('k'), flipped), IntegrityError);
    // Cut at a segment boundary: without age's last-segment flag this would pass as shorter data.
    const header = sealed.length - 200_000 - 4 * 16;
    const truncated = sealed.subarray(0, header + 2 * (65536 + 16));
    await assert.rejects(collect(new AgeCipher({ identities: [identity] }).decryptStage('k'), truncated), IntegrityError);
  });

  test('a malformed recipient is refused when the cipher is made', () => {
    assert.throws(() => new AgeCipher({ recipients: ['age1notakey'] }), UsageError);
  });

  test('objects written through a store with a cipher are encrypted; the manifest digest is over the stored bytes', async () => {
    const store = attachCipher(new FolderStore(join(dir, 'store')), { age: new AgeCipher({ recipients: [recipient] }) });
    const document = Buffer.from('{"customer":"Ada Lovelace"}'.repeat(1000));
    const object = await storeGzipped(store, 'bases/1/db/coll.bson.gz', Readable.from([document]));
    assert.equal(object.encryption, 'age');
    const stored = await readFile(join(dir, 'store', 'bases', '1', 'db', 'coll.bson.gz'));
    assert.equal(object.storedBytes, stored.length);
    assert.equal(object.sha256, createHash('sha256').update(stored).digest('hex'));
    assert.equal(stored.subarray(0, 21).toString(), 'age-encryption.org/v1');

    // Read back as a restore does: hashed as stored, decrypted into a plain gzip file.
    const reader = attachCipher(new FolderStore(join(dir, 'store')), { age: new AgeCipher({ identities: [identity] }) });
    const file = join(dir, 'download.gz');
    await fetchVerified(reader, object, file);
    const chunks: Buffer[] = [];
    await pipeline((await import('node:fs')).createReadStream(file), createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) chunks.push(chunk);
    });
    assert.ok(Buffer.concat(chunks).equals(document));

    // No identity: refused before reading; a wrong identity: KeyError.
    assert.throws(() => decryptStageOf(new FolderStore(join(dir, 'store')), object), KeyError);
    const wrong = attachCipher(new FolderStore(join(dir, 'store')), { age: new AgeCipher({ identities: [otherIdentity] }) });
    await assert.rejects(fetchVerified(wrong, object, join(dir, 'wrong.gz')), KeyError);

    // A flipped byte in the stored object: the restore's read fails as an integrity error.
    const path = join(dir, 'store', 'bases', '1', 'db', 'coll.bson.gz');
    stored[stored.length - 20] ^= 1;
    await writeFile(path, stored);
    await assert.rejects(fetchVerified(reader, object, join(dir, 'flipped.gz')), IntegrityError);
    const plainObject: StoredObject = { key: object.key, rawBytes: 0, storedBytes: 0, sha256: '' };
    assert.equal(typeof decryptStageOf(reader, plainObject), 'function', 'a plain object reads without a key');
  });
});
