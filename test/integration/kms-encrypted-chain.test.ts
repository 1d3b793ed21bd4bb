// KMS envelope encryption through the CLI as users run it, on the folder store and on MinIO, with
// local-kms as the KMS (test/servers/local-kms.ts): a chain written with --encrypt kms:<ARN>
// (base + oplog chunks) restores equal to the source; list/status name the key and verify runs
// with KMS unreachable; with the key disabled, or a manifest naming another key, restore fails in
// one line with exit 6 naming the key and KMS's error, before the target is touched; a flipped
// byte is found by verify without KMS and by restore with it; an object copied over another
// object's key is refused by its encryption context even when its manifest record is made to
// match; a chain mixing age, KMS and plain objects restores with the identity and KMS.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import type { Document } from 'mongodb';
import { readManifest } from '../../src/backup/read-manifest.ts';
import { MANIFEST_KEY } from '../../src/archive/object-keys.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { runCli } from '../support/cli.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';
import { createTestKey, LOCAL_KMS_REGION, testKmsClient } from '../servers/local-kms.ts';

const KMS_ENDPOINT = process.env.TEST_KMS_ENDPOINT;
const NO_KMS = KMS_ENDPOINT ? false : 'no KMS endpoint: run through `node test/run.ts` (it starts local-kms)';

/** What stderr holds besides the plan line restore prints first ("chain <id>, window ..."). */
const errorLines = (stderr: string): string[] => stderr.trim().split('\n').filter((line) => !line.startsWith('chain '));
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(piece as Buffer);
  return Buffer.concat(pieces);
}

for (const kind of STORE_KINDS) {
  describe(`KMS-encrypted chain on the ${kind.name} store`, { skip: NO_MONGO || kind.skip || NO_KMS }, () => {
    const suite = useBackupSuite(kind);
    const endpoint = KMS_ENDPOINT ?? '';
    let keyArn: string;
    let otherArn: string;
    before(async () => {
      keyArn = await createTestKey(endpoint, `mongo-pitr ${kind.name} test`);
      otherArn = await createTestKey(endpoint, 'mongo-pitr other key');
    });

    // local-kms takes any credentials; the folder kind sets none, the S3 kind MinIO's.
    const kmsEnv = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: LOCAL_KMS_REGION };
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli([...suite.cli.cliArgs, ...args], { ...kmsEnv, ...suite.cli.env, ...env });
    /** KMS reached by the flag; reads also work through AWS_ENDPOINT_URL_KMS (asserted below). */
    const withKms = (args: string[]) => [...args, '--kms-endpoint', endpoint];
    const snapshot = async (db: string): Promise<Document[]> =>
      suite.client.db(db).collection('people').find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();
    const restoreArgs = (db: string, target: string) => ['restore', '--to', suite.mongo.uri, '--nsInclude', `${db}.*`, '--nsFrom', `${db}.*`, '--nsTo', `${target}.*`];
    const setKeyEnabled = async (arn: string, enabled: boolean) => {
      const client = testKmsClient(endpoint);
      try {
        await client.send(enabled ? new EnableKeyCommand({ KeyId: arn }) : new DisableKeyCommand({ KeyId: arn }));
      } finally {
        client.destroy();
      }
    };

    test('a chain encrypted under a KMS key restores equal; the key disabled or another key named fails in one line; a flipped byte is caught', async () => {
      const db = uniqueName('kms');
      const people = suite.client.db(db).collection<{ _id: number; name: string; n: number }>('people');
      await people.insertMany(Array.from({ length: 300 }, (_, n) => ({ _id: n, name: `Customer ${n}`, n })));
      const backup = await cli(withKms(['backup', '--uri', suite.mongo.uri, '--encrypt', `kms:${keyArn}`]));
      assert.equal(backup.code, 0, backup.stderr);
      await people.updateMany({ n: { $lt: 100 } }, { $set: { name: 'Renamed' } });
      await people.deleteMany({ n: { $gte: 290 } });
      const oplog = await cli(withKms(['oplog', '--uri', suite.mongo.uri, '--encrypt', `kms:${keyArn}`]));
      assert.equal(oplog.code, 0, oplog.stderr);
      const expected = await snapshot(db);

      const { manifest } = await readManifest(suite.store);
      const chain = manifest.chains.at(-1);
      assert.ok(chain && chain.chunks.length >= 1);
      const objects = [chain.base.oplog, ...chain.chunks, ...chain.base.collections.flatMap((entry) => (entry.data ? [entry.data, entry.metadata] : [entry.metadata]))];
      for (const object of objects) {
        assert.equal(object.encryption, 'kms', object.key);
        assert.equal(object.kmsKeyId, keyArn, `${object.key} names the key's ARN`);
      }
      const chunk = chain.chunks.at(-1);
      assert.ok(chunk);
      const sealed = await readAll(await suite.store.get(chunk.key));
      // An Encryption SDK message, format version 2, suite 0x0578 (committing, signed).
      assert.deepEqual([...sealed.subarray(0, 3)], [0x02, 0x05, 0x78]);

      // No KMS for these: the endpoint points nowhere.
      const unreachable = { AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9' };
      const listed = await cli(['list'], unreachable);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`encrypted: kms \\(every object; KMS key ${escape(keyArn)}\\)`));
      const verified = await cli(['verify'], unreachable);
      assert.equal(verified.code, 0, `verify needs no KMS: ${verified.stderr}`);

      // Disabled key: one line naming the key and KMS's error code, nothing written.
      await setKeyEnabled(keyArn, false);
      const untouched = uniqueName('kms_none');
      try {
        const disabled = await cli(withKms(restoreArgs(db, untouched)));
        assert.equal(disabled.code, 6, disabled.stderr);
        assert.match(disabled.stderr, new RegExp(`^mongo-pitr: key error: KMS Decrypt with key ${escape(keyArn)} failed for .*: DisabledException`, 'm'));
        assert.equal(errorLines(disabled.stderr).length, 1, `one line: ${disabled.stderr}`);
        const verifiedDisabled = await cli(['verify']);
        assert.equal(verifiedDisabled.code, 0, `verify needs no usable key: ${verifiedDisabled.stderr}`);
        // export refuses the same way, before its folder exists.
        const exportDir = join(tmpdir(), uniqueName('kms-export'));
        const exported = await cli(withKms(['export', exportDir]));
        assert.equal(exported.code, 6, exported.stderr);
        assert.match(exported.stderr, /DisabledException/);
        await assert.rejects(stat(exportDir), { code: 'ENOENT' });
      } finally {
        await setKeyEnabled(keyArn, true);
      }
      assert.deepEqual(await suite.client.db(untouched).listCollections().toArray(), [], 'nothing was written to the target');

      // The manifest names another key than the objects were written under: refused the same way.
      const head = await readAll(await suite.store.get(MANIFEST_KEY));
      await suite.store.put(MANIFEST_KEY, Buffer.from(head.toString('utf8').replaceAll(keyArn, otherArn)));
      try {
        const wrongKey = await cli(withKms(restoreArgs(db, untouched)));
        assert.equal(wrongKey.code, 6, wrongKey.stderr);
        assert.match(wrongKey.stderr, new RegExp(`^mongo-pitr: key error: .* was not encrypted under KMS key ${escape(otherArn)}`, 'm'));
        assert.equal(errorLines(wrongKey.stderr).length, 1, `one line: ${wrongKey.stderr}`);
      } finally {
        await suite.store.put(MANIFEST_KEY, head);
      }
      assert.deepEqual(await suite.client.db(untouched).listCollections().toArray(), [], 'nothing was written to the target');

      // With KMS (reached through AWS_ENDPOINT_URL_KMS, which the AWS SDK reads): equal to the source.
      const target = uniqueName('kms_restored');
      const restored = await cli(restoreArgs(db, target), { AWS_ENDPOINT_URL_KMS: endpoint });
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(await snapshot(target), expected);
      // find reads the chunks with KMS too: the ten deletes.
      const found = await cli(withKms(['find', '--json', '--ns', `${db}.people`, '--op', 'd']));
      assert.equal(found.code, 0, found.stderr);
      const ops = found.stdout.trim().split('\n').map((line) => JSON.parse(line) as { op: string; ns: string });
      assert.deepEqual(ops.map((op) => `${op.op} ${op.ns}`), Array.from({ length: 10 }, () => `d ${db}.people`));

      // replay --oplogFile on the chunk copied out of the store: recognised as a KMS message and
      // decrypted with the key its header names.
      const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-kms-replay-'));
      try {
        const chunkFile = join(dir, 'chunk.bson.gz');
        await writeFile(chunkFile, sealed);
        const replayed = await cli(withKms(['replay', '--to', suite.mongo.uri, '--oplogFile', chunkFile, '--nsInclude', `${db}.*`, '--nsFrom', `${db}.*`, '--nsTo', `${uniqueName('kms_replayed')}.*`]));
        assert.equal(replayed.code, 0, replayed.stderr);
        assert.match(replayed.stdout, /applied/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }

      // One flipped byte in the middle of the encrypted chunk.
      const flipped = Buffer.from(sealed);
      flipped[Math.floor(flipped.length / 2)] ^= 0x01;
      await suite.store.put(chunk.key, flipped);
      try {
        const verifyFlipped = await cli(['verify'], unreachable);
        assert.equal(verifyFlipped.code, 6, verifyFlipped.stderr);
        assert.match(verifyFlipped.stderr, new RegExp(`${escape(chunk.key)} is corrupt`));
        const restoreFlipped = await cli(withKms(restoreArgs(db, uniqueName('kms_flipped'))));
        assert.equal(restoreFlipped.code, 6, restoreFlipped.stderr);
        assert.match(restoreFlipped.stderr, new RegExp(escape(chunk.key)));
      } finally {
        await suite.store.put(chunk.key, sealed);
      }

      // A key that does not exist: the backup fails in one line naming it, before any commit.
      const missingKey = `arn:aws:kms:${LOCAL_KMS_REGION}:111122223333:key/00000000-0000-4000-8000-000000000000`;
      const noSuchKey = await cli(withKms(['oplog', '--uri', suite.mongo.uri, '--encrypt', `kms:${missingKey}`]));
      assert.equal(noSuchKey.code, 6, noSuchKey.stderr);
      assert.match(noSuchKey.stderr, new RegExp(`key error: KMS GenerateDataKey with key ${escape(missingKey)} failed for .*: NotFoundException`));
    });

    test("an object copied over another object's key is refused by its encryption context, even with its manifest record made to match", async () => {
      const db = uniqueName('kms_swap');
      const people = suite.client.db(db).collection<{ _id: number; n: number }>('people');
      await people.insertMany(Array.from({ length: 20 }, (_, n) => ({ _id: n, n })));
      assert.equal((await cli(withKms(['backup', '--uri', suite.mongo.uri, '--encrypt', `kms:${keyArn}`]))).code, 0);
      await people.insertOne({ _id: 100, n: 100 });
      assert.equal((await cli(withKms(['oplog', '--uri', suite.mongo.uri, '--encrypt', `kms:${keyArn}`]))).code, 0);
      const { manifest } = await readManifest(suite.store);
      const chain = manifest.chains.at(-1);
      const victim = chain?.chunks.at(-1);
      const intruder = chain?.base.oplog;
      assert.ok(victim && intruder && victim.encryption === 'kms' && intruder.encryption === 'kms');
      const original = await readAll(await suite.store.get(victim.key));
      const intruderBytes = await readAll(await suite.store.get(intruder.key));
      // Whoever can write the store can also rewrite the victim's size and sha256 in the head:
      // then only the context tells the objects apart.
      const head = await readAll(await suite.store.get(MANIFEST_KEY));
      let records = 0;
      const forged = JSON.stringify(JSON.parse(head.toString('utf8')), (_name, value: unknown) => {
        if (typeof value !== 'object' || value === null || (value as { key?: unknown }).key !== victim.key) return value;
        records++;
        return { ...value, sha256: intruder.sha256, storedBytes: intruder.storedBytes };
      });
      assert.equal(records, 1, 'the victim is recorded in the head');
      await suite.store.put(victim.key, intruderBytes);
      await suite.store.put(MANIFEST_KEY, Buffer.from(forged));
      try {
        const verified = await cli(['verify']);
        assert.equal(verified.code, 0, `sizes and digests now agree, so verify cannot tell: ${verified.stderr}`);
        const refused = await cli(withKms(restoreArgs(db, uniqueName('kms_swapped'))));
        assert.equal(refused.code, 6, refused.stderr);
        assert.match(refused.stderr, new RegExp(`integrity error: ${escape(victim.key)} holds the object encrypted for "${escape(intruder.key)}": it was moved or copied over this one`));
        assert.equal(errorLines(refused.stderr).length, 1, `one line: ${refused.stderr}`);
      } finally {
        await suite.store.put(victim.key, original);
        await suite.store.put(MANIFEST_KEY, head);
      }
    });

    test('a chain mixing age, KMS and plain objects restores with the identity and KMS, and names what is missing', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-keys-'));
      try {
        const identity = await generateX25519Identity();
        const recipient = await identityToRecipient(identity);
        const identityFile = join(dir, 'age.txt');
        await writeFile(identityFile, `${identity}\n`, { mode: 0o600 });
        const db = uniqueName('kms_mixed');
        const people = suite.client.db(db).collection<{ _id: number; n: number }>('people');
        await people.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: n, n })));
        assert.equal((await cli(['backup', '--uri', suite.mongo.uri, '--encrypt', recipient])).code, 0);
        await people.insertOne({ _id: 1000, n: 1000 });
        const toKms = await cli(withKms(['oplog', '--uri', suite.mongo.uri, '--encrypt', `kms:${keyArn}`]));
        assert.equal(toKms.code, 0, toKms.stderr);
        await people.insertOne({ _id: 1001, n: 1001 });
        assert.equal((await cli(['oplog', '--uri', suite.mongo.uri])).code, 0);
        const expected = await snapshot(db);

        const { manifest } = await readManifest(suite.store);
        const chain = manifest.chains.at(-1);
        assert.ok(chain);
        assert.equal(chain.base.oplog.encryption, 'age');
        const modes = chain.chunks.map((chunk) => chunk.encryption ?? 'none');
        assert.ok(modes.includes('kms') && modes.includes('none'), modes.join(','));
        assert.match((await cli(['list'])).stdout, /encrypted: mixed \(.*; KMS keys? /);

        const noIdentity = await cli(withKms(restoreArgs(db, uniqueName('kms_mixed_none'))));
        assert.equal(noIdentity.code, 6, noIdentity.stderr);
        assert.match(noIdentity.stderr, /is encrypted \(age\) and no identity was given/);
        const target = uniqueName('kms_mixed_restored');
        const both = await cli(withKms([...restoreArgs(db, target), '--identity', identityFile]));
        assert.equal(both.code, 0, both.stderr);
        assert.deepEqual(await snapshot(target), expected);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
