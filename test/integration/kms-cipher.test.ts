// The KMS cipher on its own against local-kms: a round trip over many 64 KiB frames; the
// message is refused when truncated at a frame boundary (the SDK's final-frame mark), when a
// body byte is flipped (the frame's GCM tag), when read as another object (the encryption
// context), and when the named key is not the one that wrapped its data key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { KMS_FRAME_BYTES, KmsCipher } from '../../src/crypt/kms-cipher.ts';
import type { ByteStage } from '../../src/crypt/age-cipher.ts';
import { IntegrityError, KeyError } from '../../src/errors.ts';
import { createTestKey } from '../servers/local-kms.ts';

const KMS_ENDPOINT = process.env.TEST_KMS_ENDPOINT;
const NO_KMS = KMS_ENDPOINT ? false : 'no KMS endpoint: run through `node test/run.ts` (it starts local-kms)';

async function through(stage: ByteStage, bytes: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const piece of stage((async function* () {
    // Fed in pieces smaller than a frame, as a download arrives.
    for (let at = 0; at < bytes.length; at += 10_000) yield bytes.subarray(at, at + 10_000);
  })())) out.push(piece);
  return Buffer.concat(out);
}

describe('KMS cipher', { skip: NO_KMS }, () => {
  const endpoint = KMS_ENDPOINT ?? '';
  let cipher: KmsCipher;
  let arn: string;
  let otherArn: string;
  const plain = randomBytes(10 * KMS_FRAME_BYTES + 1234);
  let sealed: Buffer;
  before(async () => {
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    arn = await createTestKey(endpoint, 'mongo-pitr cipher test');
    otherArn = await createTestKey(endpoint, 'mongo-pitr cipher test, other');
    cipher = new KmsCipher({ keyId: arn, endpoint });
    const write = cipher.encryptStage('chunks/a/b.bson.gz');
    sealed = await through(write.stage, plain);
    assert.equal(write.keyArn(), arn);
  });

  test('round trip; the ciphertext holds no plaintext run', async () => {
    assert.ok(!sealed.includes(plain.subarray(5000, 5064)));
    assert.ok((await through(cipher.decryptStage('chunks/a/b.bson.gz', arn), sealed)).equals(plain));
  });

  test('truncated at a frame boundary or with a flipped body byte: IntegrityError', async () => {
    // Each full frame: 4-byte sequence number, 12-byte IV, the content, a 16-byte tag.
    const frame = 4 + 12 + KMS_FRAME_BYTES + 16;
    // The body starts where frames 1, 2, 3 follow one another (sequence numbers big-endian).
    let body = -1;
    for (let at = 0; at + 2 * frame + 4 <= sealed.length && body < 0; at++) {
      if (sealed.readUInt32BE(at) === 1 && sealed.readUInt32BE(at + frame) === 2 && sealed.readUInt32BE(at + 2 * frame) === 3) body = at;
    }
    assert.ok(body > 0, 'frames found');
    // Three whole frames: without the final-frame mark this would pass as shorter data.
    const truncated = sealed.subarray(0, body + 3 * frame);
    await assert.rejects(through(cipher.decryptStage('chunks/a/b.bson.gz', arn), truncated), IntegrityError);
    const flipped = Buffer.from(sealed);
    flipped[Math.floor(flipped.length / 2)] ^= 0x01;
    await assert.rejects(through(cipher.decryptStage('chunks/a/b.bson.gz', arn), flipped), IntegrityError);
  });

  test('read as another object: refused by the encryption context', async () => {
    await assert.rejects(through(cipher.decryptStage('chunks/a/c.bson.gz', arn), sealed), (error) => error instanceof IntegrityError && /moved or copied over this one/.test(error.message));
  });

  test('a manifest naming another key: KeyError, and KMS is not asked to unwrap with it', async () => {
    await assert.rejects(through(cipher.decryptStage('chunks/a/b.bson.gz', otherArn), sealed), (error) => error instanceof KeyError && error.message.includes(otherArn));
  });
});
