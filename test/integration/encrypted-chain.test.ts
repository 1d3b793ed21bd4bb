// An encrypted chain on MinIO, through the CLI as users run it: backup and oplog with --encrypt
// (a public key only), restore with --identity equal to the source; without the identity or with
// a wrong one, restore fails in one line with exit 6 before writing anything, and so does replay
// of a chunk copied out of the store; `verify` needs no key; a flipped byte in an encrypted chunk is caught by verify without the key and by restore
// with it. Then a mixed chain: plain, then encrypted, then rotated to a new recipient, restores
// with both identities and names the object whose identity is missing.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import type { Document } from 'mongodb';
import { collectionObjectsOf } from '../../src/archive/manifest.ts';
import { readManifest } from '../../src/backup/commit.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { runCli } from '../support/cli.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, NO_S3, uniqueName } from '../support/test-env.ts';

const S3 = STORE_KINDS[1];

/** What stderr holds besides the plan line restore prints first ("chain <id>, window ..."). */
const errorLines = (stderr: string): string[] => stderr.trim().split('\n').filter((line) => !line.startsWith('chain '));

interface Key {
  readonly file: string;
  readonly recipient: string;
}

async function makeKey(dir: string, name: string): Promise<Key> {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  const file = join(dir, `${name}.txt`);
  // age-keygen's output format: comments, then the identity.
  await writeFile(file, `# created: 2026-12-01T00:00:00Z\n# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  return { file, recipient };
}

describe('encrypted chain on S3', { skip: NO_MONGO || NO_S3 }, () => {
  if (!S3) throw new Error('no S3 store kind');
  const suite = useBackupSuite(S3);
  let dir: string;
  let keyA: Key;
  let keyB: Key;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-keys-'));
    keyA = await makeKey(dir, 'a');
    keyB = await makeKey(dir, 'b');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const snapshot = async (db: string): Promise<Document[]> =>
    suite.client.db(db).collection('people').find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();
  const cli = (args: string[]) => runCli([...suite.cli.cliArgs, ...args], suite.cli.env);

  test('restores equal with the identity, fails cleanly without or with a wrong one; a flipped byte is caught', async () => {
    const db = uniqueName('secret');
    const people = suite.client.db(db).collection<{ _id: number; name: string; n: number }>('people');
    await people.insertMany(Array.from({ length: 300 }, (_, n) => ({ _id: n, name: `Customer ${n}`, n })));
    const backup = await cli(['backup', '--uri', suite.mongo.uri, '--encrypt', keyA.recipient]);
    assert.equal(backup.code, 0, backup.stderr);
    await people.updateMany({ n: { $lt: 100 } }, { $set: { name: 'Renamed' } });
    await people.deleteMany({ n: { $gte: 290 } });
    const oplog = await cli(['oplog', '--uri', suite.mongo.uri, '--encrypt', keyA.recipient]);
    assert.equal(oplog.code, 0, oplog.stderr);
    const expected = await snapshot(db);

    // The manifest stays readable without the key and names no namespace's activity.
    const { manifest } = await readManifest(suite.store);
    const chain = manifest.chains.at(-1);
    assert.ok(chain && chain.chunks.length >= 1);
    assert.equal(chain.base.oplog.encryption, 'age');
    assert.deepEqual(chain.base.collections, [], 'an encrypted base names no collection (opaque-names.test.ts)');
    for (const object of collectionObjectsOf(chain.base)) assert.equal(object.encryption, 'age');
    for (const chunk of chain.chunks) {
      assert.equal(chunk.encryption, 'age');
      assert.deepEqual(chunk.stats.byNs, {});
    }
    const chunk = chain.chunks.at(-1);
    assert.ok(chunk);
    const stored: Buffer[] = [];
    for await (const piece of await suite.store.get(chunk.key)) stored.push(piece as Buffer);
    const sealed = Buffer.concat(stored);
    assert.equal(sealed.subarray(0, 21).toString(), 'age-encryption.org/v1');

    const listed = await cli(['list']);
    assert.match(listed.stdout, /encrypted: age/, 'list runs without the key and says the chain is encrypted');
    const verified = await cli(['verify']);
    assert.equal(verified.code, 0, `verify needs no key: ${verified.stderr}`);

    const restoreArgs = (target: string) => ['restore', '--to', suite.mongo.uri, '--nsInclude', `${db}.*`, '--nsFrom', `${db}.*`, '--nsTo', `${target}.*`];
    const missing = uniqueName('secret_none');
    const noKey = await cli(restoreArgs(missing));
    assert.equal(noKey.code, 6, noKey.stderr);
    assert.match(noKey.stderr, /mongo-pitr: key error: .* is encrypted \(age\) and no identity was given.*--identity/);
    assert.equal(errorLines(noKey.stderr).length, 1, `one line: ${noKey.stderr}`);
    const wrong = await cli([...restoreArgs(missing), '--identity', keyB.file]);
    assert.equal(wrong.code, 6, wrong.stderr);
    assert.match(wrong.stderr, /none of the given identities match/);
    assert.equal(errorLines(wrong.stderr).length, 1, `one line: ${wrong.stderr}`);
    assert.deepEqual(await suite.client.db(missing).listCollections().toArray(), [], 'nothing was written to the target');

    const target = uniqueName('secret_restored');
    const restored = await cli([...restoreArgs(target), '--identity', keyB.file, '--identity', keyA.file]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await snapshot(target), expected);

    // replay --oplogFile on the chunk copied out of the store needs the identity too.
    const chunkFile = join(dir, 'chunk.bson.gz');
    await writeFile(chunkFile, sealed);
    const replayArgs = ['replay', '--to', suite.mongo.uri, '--oplogFile', chunkFile, '--nsInclude', `${db}.*`, '--nsFrom', `${db}.*`, '--nsTo', `${uniqueName('secret_replayed')}.*`];
    const replayNoKey = await cli(replayArgs);
    assert.equal(replayNoKey.code, 6, replayNoKey.stderr);
    assert.match(replayNoKey.stderr, /^mongo-pitr: key error: .*chunk\.bson\.gz is encrypted \(age\) and no identity was given.*\n$/);
    const replayed = await cli([...replayArgs, '--identity', keyA.file]);
    assert.equal(replayed.code, 0, replayed.stderr);

    // One flipped byte in the middle of the encrypted chunk.
    const flipped = Buffer.from(sealed);
    flipped[Math.floor(flipped.length / 2)] ^= 0x01;
    await suite.store.put(chunk.key, flipped);
    const verifyFlipped = await cli(['verify']);
    assert.equal(verifyFlipped.code, 6, verifyFlipped.stderr);
    assert.match(verifyFlipped.stderr, new RegExp(`${chunk.key} is corrupt`));
    const restoreFlipped = await cli([...restoreArgs(uniqueName('secret_flipped')), '--identity', keyA.file]);
    assert.equal(restoreFlipped.code, 6, restoreFlipped.stderr);
    assert.match(restoreFlipped.stderr, new RegExp(chunk.key.replace(/[.]/g, '\\.')));
    await suite.store.put(chunk.key, sealed);
  });

  test('a mixed chain (plain, then to key A, then rotated to key B) restores with both identities', async () => {
    const db = uniqueName('mixed');
    const people = suite.client.db(db).collection<{ _id: number; name: string; n: number }>('people');
    await people.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: n, name: `P ${n}`, n })));
    assert.equal((await cli(['backup', '--uri', suite.mongo.uri])).code, 0);
    await people.insertOne({ _id: 1000, name: 'after plain base', n: 1000 });
    assert.equal((await cli(['oplog', '--uri', suite.mongo.uri, '--encrypt', keyA.recipient])).code, 0);
    await people.insertOne({ _id: 1001, name: 'after rotation', n: 1001 });
    const recipientsFile = join(dir, 'recipients.txt');
    await writeFile(recipientsFile, `# rotated\n${keyB.recipient}\n`);
    assert.equal((await cli(['oplog', '--uri', suite.mongo.uri, '--encrypt', recipientsFile])).code, 0);
    const expected = await snapshot(db);

    const { manifest } = await readManifest(suite.store);
    const chain = manifest.chains.at(-1);
    assert.ok(chain);
    assert.equal(chain.base.oplog.encryption, undefined, 'the base is plain');
    const encrypted = chain.chunks.filter((chunk) => chunk.encryption === 'age');
    assert.ok(encrypted.length >= 2, 'both later chunks are encrypted');

    assert.match((await cli(['list'])).stdout, /encrypted: mixed/);
    const args = (target: string) => ['restore', '--to', suite.mongo.uri, '--nsInclude', `${db}.*`, '--nsFrom', `${db}.*`, '--nsTo', `${target}.*`];
    const onlyB = await cli([...args(uniqueName('mixed_b')), '--identity', keyB.file]);
    assert.equal(onlyB.code, 6, onlyB.stderr);
    assert.match(onlyB.stderr, new RegExp(`${encrypted[0]?.key.replace(/[.]/g, '\\.')} is encrypted to recipients none of the given identities match`));
    const target = uniqueName('mixed_restored');
    const both = await cli([...args(target), '--identity', keyA.file, '--identity', keyB.file]);
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(await snapshot(target), expected);
  });
});
