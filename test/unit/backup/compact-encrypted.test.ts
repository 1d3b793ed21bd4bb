// Compaction of an encrypted chain needs no key (issue 18: "compaction run without the key"):
// a chain on a real folder store, its first chunks plain and the rest age-encrypted (encryption
// turned on mid-chain), compacted by a run that holds the public key only. Merged objects of
// encrypted pieces are the pieces' ciphertext part after part (archive/object-parts.ts), so no
// plaintext is written and nothing is decrypted; with the identity every entry reads back in
// order, through hours (level 2) and a day (level 3, parts of parts); without it a read of a
// merged object stops in one line (KeyError), and a truncated merged object is an IntegrityError.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { BSON } from 'mongodb';
import { readBsonFrames } from '../../../src/archive/bson-frames.ts';
import { verifyContinuity } from '../../../src/archive/chain-window.ts';
import type { Chunk, Manifest, OplogObject } from '../../../src/archive/manifest.ts';
import { ManifestCommitter, readManifest } from '../../../src/backup/commit.ts';
import { compact } from '../../../src/backup/compact.ts';
import { AgeCipher } from '../../../src/crypt/age-cipher.ts';
import { attachCipher } from '../../../src/crypt/store-cipher.ts';
import { IntegrityError, KeyError } from '../../../src/errors.ts';
import { fetchVerified } from '../../../src/restore/download-chain.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { appendChunks, syntheticBase } from '../../support/synthetic-chain.ts';

const PLAIN_CHUNKS = 38;
const ENCRYPTED_CHUNKS = 362;
/** Ten minutes apart: 400 chunks span 67 hours, so closed hours and days (plain, then encrypted) merge. */
const STEP_SECONDS = 600;
const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n');

/** The `_id`s the chain's objects insert, read as restore reads them (verified, decrypted, gunzipped). */
async function insertedIds(store: Store, manifest: Manifest, dir: string): Promise<number[]> {
  const chain = manifest.chains[0];
  assert.ok(chain);
  const ids: number[] = [];
  for (const object of [chain.base.oplog, ...chain.chunks]) {
    const file = join(dir, object.key);
    await fetchVerified(store, object, file);
    const bytes = gunzipSync(await readFile(file));
    for await (const raw of readBsonFrames((async function* () { yield bytes; })())) ids.push(BSON.deserialize(raw).o._id as number);
  }
  return ids;
}

describe('compaction of an encrypted chain', () => {
  let dir: string;
  let identity: string;
  let recipient: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-compact-age-'));
    identity = await generateX25519Identity();
    recipient = await identityToRecipient(identity);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('runs without the key, copies ciphertext only, and reads back every entry with the identity', async () => {
    const storeDir = join(dir, 'store');
    const plain = new FolderStore(storeDir);
    const committer = await ManifestCommitter.open(plain);
    const base = await syntheticBase(plain, committer);
    const afterPlain = await appendChunks(plain, committer, base, 1, PLAIN_CHUNKS, { stepSeconds: STEP_SECONDS, perCommit: 20 });
    // Encryption turned on: the rest of the chain is written to the public key only.
    const sealing = attachCipher(new FolderStore(storeDir), new AgeCipher({ recipients: [recipient] }));
    const sealingCommitter = await ManifestCommitter.open(sealing);
    await appendChunks(sealing, sealingCommitter, afterPlain, PLAIN_CHUNKS + 1, ENCRYPTED_CHUNKS, { stepSeconds: STEP_SECONDS, perCommit: 20 });
    const reader = attachCipher(new FolderStore(storeDir), new AgeCipher({ identities: [identity] }));
    const before = (await readManifest(reader)).manifest;
    const expected = Array.from({ length: 2 * (PLAIN_CHUNKS + ENCRYPTED_CHUNKS) + 1 }, (_, n) => n);
    assert.deepEqual(await insertedIds(reader, before, join(dir, 'before')), expected);

    // No key at all, then the public key only (what `run --encrypt` holds): both compact.
    const result = await compact({ store: new FolderStore(storeDir) });
    assert.ok(result.merged >= 1, `merged ${result.merged}`);
    const again = await compact({ store: attachCipher(new FolderStore(storeDir), new AgeCipher({ recipients: [recipient] })) });
    const { manifest } = await readManifest(reader);
    const chain = manifest.chains[0];
    assert.ok(chain);
    verifyContinuity(chain);
    const merged = chain.chunks.filter((chunk): chunk is Chunk & { level: number } => (chunk.level ?? 0) >= 1);
    assert.ok(merged.some((chunk) => chunk.level === 3), `a day merged (levels ${merged.map((chunk) => chunk.level).join(',')}; second run merged ${again.merged})`);
    const withParts = merged.filter((chunk) => chunk.parts !== undefined);
    assert.ok(withParts.length >= 1);
    for (const chunk of withParts) {
      assert.equal(chunk.encryption, 'age');
      assert.equal(chunk.parts?.reduce((sum, part) => sum + part.storedBytes, 0), chunk.storedBytes);
      // At most a part per archived chunk: a day of hours lists the hours' parts (plain pieces
      // merged the plain way before are one plain part).
      assert.ok((chunk.parts?.length ?? 0) <= (chunk.pieces ?? 1) && (chunk.parts?.length ?? 0) >= 2);
      const bytes = await readFile(join(storeDir, chunk.key));
      const plainParts = chunk.parts?.filter((part) => part.encryption === undefined).length ?? 0;
      if (plainParts === 0) assert.ok(bytes.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC), 'ciphertext, not a re-encryption or plaintext');
    }
    assert.ok(withParts.some((chunk) => chunk.parts?.some((part) => part.encryption === undefined)), 'a merged object spans the switch: plain and encrypted parts');
    assert.ok(withParts.some((chunk) => chunk.level === 3), 'a day of encrypted hours: their parts, flattened');
    // Plain-only spans still merge the old way, into one gzip stream.
    assert.ok(merged.some((chunk) => chunk.parts === undefined && chunk.encryption === undefined));

    // With the identity: every entry, in order, as before compaction.
    assert.deepEqual(await insertedIds(reader, manifest, join(dir, 'after')), expected);
    // Without it: one line naming the object; a truncated merged object is caught.
    const sample = withParts.find((chunk) => chunk.parts?.every((part) => part.encryption !== undefined));
    assert.ok(sample);
    await assert.rejects(fetchVerified(new FolderStore(storeDir), sample, join(dir, 'nokey', 'x')), (error: unknown) =>
      error instanceof KeyError && error.message.includes(sample.key) && !error.message.includes('\n'));
    const full = await readFile(join(storeDir, sample.key));
    const truncated: OplogObject = { ...sample, storedBytes: full.length - 100 };
    const cut = new FolderStore(join(dir, 'cut'));
    await cut.put(sample.key, full.subarray(0, full.length - 100));
    await assert.rejects(fetchVerified(attachCipher(cut, new AgeCipher({ identities: [identity] })), { ...truncated, sha256: sample.sha256 }, join(dir, 'cut-out')), IntegrityError);
  });
});
