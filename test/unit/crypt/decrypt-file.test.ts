// replay --oplogFile given an encrypted chunk copied out of the store: recognised by age's header
// line, decrypted into a private temporary copy with the identity, refused in one KeyError
// without one; a plain file is used as it is.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { AgeCipher } from '../../../src/crypt/age-cipher.ts';
import { plainFileOf } from '../../../src/crypt/decrypt-file.ts';
import { KeyError } from '../../../src/errors.ts';

describe('plainFileOf', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-plainfile-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a plain file is itself; an age file is decrypted to a private copy, or refused without an identity', async () => {
    const identity = await generateX25519Identity();
    const cipher = new AgeCipher({ recipients: [await identityToRecipient(identity)], identities: [identity] });
    const content = randomBytes(100_000);
    const plainPath = join(dir, 'plain.bson.gz');
    await writeFile(plainPath, content);
    const plain = await plainFileOf(plainPath, undefined);
    assert.equal(plain.path, plainPath);

    const sealed: Buffer[] = [];
    for await (const piece of cipher.encryptStage()(Readable.from([content]))) sealed.push(piece);
    const agePath = join(dir, 'chunk.bson.gz');
    await writeFile(agePath, Buffer.concat(sealed));
    await assert.rejects(plainFileOf(agePath, undefined), KeyError);
    await assert.rejects(plainFileOf(agePath, { age: new AgeCipher({ recipients: [await identityToRecipient(identity)] }) }), KeyError);
    const opened = await plainFileOf(agePath, { age: cipher });
    assert.notEqual(opened.path, agePath);
    assert.ok((await readFile(opened.path)).equals(content));
    assert.equal((await stat(opened.path)).mode & 0o777, 0o600);
    await opened.dispose();
    await assert.rejects(stat(opened.path), { code: 'ENOENT' });
  });
});
