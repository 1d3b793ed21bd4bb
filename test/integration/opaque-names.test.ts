// Nothing secret in the store (issue 18): after an encrypted backup and oplog pass, on the folder
// store and on MinIO, no object key and no byte of any object that is not age-encrypted (the
// manifest head, index segments, anything else) holds a database name, a collection or view
// name, an index name or a document value of the source. `status`, `list`, `verify` and `prune`
// run without the key; a restore with the identity equals the source. The names are distinctive
// strings so a plain substring search of raw bytes finds any copy.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import type { Document } from 'mongodb';
import { useBackupSuite } from '../support/backup-suite.ts';
import { runCli } from '../support/cli.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO } from '../support/test-env.ts';
import type { Store } from '../../src/store/store.ts';
import { ManifestCommitter, readHead, readManifest } from '../../src/backup/commit.ts';
import { archiveOplog } from '../../src/backup/archive-oplog.ts';
import { SEGMENT_CHUNKS } from '../../src/archive/index-segment.ts';
import { formatTs } from '../../src/timestamp.ts';
import { takeBase } from '../../src/backup/take-base.ts';
import { AgeCipher } from '../../src/crypt/age-cipher.ts';
import { attachCipher } from '../../src/crypt/store-cipher.ts';
import { restore } from '../../src/restore/restore.ts';
import { readCatalog } from '../../src/source/catalog.ts';

/** age-encryption.org/v1 files start with this line (the age spec's header). */
const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n');

async function readAll(store: Store, key: string): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of await store.get(key)) pieces.push(piece as Buffer);
  return Buffer.concat(pieces);
}

for (const kind of STORE_KINDS) {
  describe(`no names in an encrypted store (${kind.name})`, { skip: NO_MONGO || kind.skip }, () => {
    const suite = useBackupSuite(kind);
    let dir: string;
    let identityFile: string;
    let identity: string;
    let recipient: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-names-'));
      identity = await generateX25519Identity();
      recipient = await identityToRecipient(identity);
      identityFile = join(dir, 'key.txt');
      await writeFile(identityFile, `${identity}\n`, { mode: 0o600 });
    });
    after(() => rm(dir, { recursive: true, force: true }));
    const cli = (args: string[]) => runCli([...suite.cli.cliArgs, ...args], suite.cli.env);

    test('keys, manifest and index bytes name nothing; status/list/verify/prune need no key; restore equals the source', async () => {
      const tag = randomBytes(3).toString('hex');
      const db = `secretdb_8f3a_${tag}`;
      const coll = 'hiddencoll_c41e';
      // FerretDB has no views; the empty collection stands in for an object-less entry.
      const empty = 'emptycoll_d93b';
      const index = 'secretidx_5e0a';
      const value = 'secretvalue_b7c2';
      const secrets = [db, 'secretdb_8f3a', coll, empty, index, value];
      const people = suite.client.db(db).collection<{ _id: number; note: string; n: number }>(coll);
      await people.insertMany(Array.from({ length: 120 }, (_, n) => ({ _id: n, note: `${value} ${n}`, n })));
      await people.createIndex({ note: 1 }, { name: index });
      await suite.client.db(db).createCollection(empty);
      const backup = await cli(['backup', '--uri', suite.mongo.uri, '--encrypt', recipient]);
      assert.equal(backup.code, 0, backup.stderr);
      await people.insertOne({ _id: 1000, note: `${value} after the base`, n: 1000 });
      await people.updateMany({ n: { $lt: 5 } }, { $set: { note: `${value} updated` } });
      const oplog = await cli(['oplog', '--uri', suite.mongo.uri, '--encrypt', recipient]);
      assert.equal(oplog.code, 0, oplog.stderr);
      // More than a segment's worth of tiny chunks (SEGMENT_CHUNKS), so that index segments, the
      // sealed chunk records, are among the plain objects searched below.
      await people.insertMany(Array.from({ length: SEGMENT_CHUNKS + 20 }, (_, n) => ({ _id: 2000 + n, note: `${value} tiny ${n}`, n: 2000 + n })));
      const sealing = attachCipher(suite.store, new AgeCipher({ recipients: [recipient] }));
      const committer = await ManifestCommitter.open(sealing);
      const head = committer.manifest.chains.at(-1);
      assert.ok(head);
      const archived = await archiveOplog({ source: suite.source, store: sealing, committer, chain: head, limits: { chunkBytes: 100, chunkSpanSeconds: 3600 } });
      assert.ok(archived.chunks > SEGMENT_CHUNKS, `${archived.chunks} chunks`);
      const expected = await people.find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();

      // Every object: its key names nothing; an object that is not age-encrypted names nothing either.
      let plain = 0;
      let encrypted = 0;
      for await (const object of suite.store.list('')) {
        for (const secret of secrets) assert.ok(!object.key.includes(secret), `key ${object.key} names ${secret}`);
        const bytes = await readAll(suite.store, object.key);
        if (bytes.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC)) {
          encrypted++;
          continue;
        }
        plain++;
        for (const secret of secrets) assert.ok(!bytes.includes(secret), `${object.key} holds ${secret} in the clear`);
      }
      assert.ok(plain >= 2, 'the manifest and an index segment are readable without the key');
      const { manifest: sealed } = await readHead(suite.store);
      assert.ok(sealed.chains.at(-1)?.history?.segment, 'a segment was sealed');
      assert.ok(encrypted >= 4, `the base and the chunk are encrypted (${encrypted} objects)`);

      // Without the key: status, list, verify, prune.
      for (const args of [['status'], ['list'], ['verify'], ['prune', '--keep', '30d']]) {
        const result = await cli(args);
        assert.equal(result.code, 0, `${args.join(' ')} without the key: ${result.stderr}`);
      }

      // A dry run whose cutoff falls inside the encrypted chunk reads it: with the identity only.
      const { manifest } = await readManifest(suite.store);
      const lastChunk = manifest.chains.at(-1)?.chunks.find((chunk) => chunk.count >= 2);
      assert.ok(lastChunk);
      const dryRun = ['restore', '--to', suite.mongo.uri, '--dry-run', '--until', formatTs(lastChunk.lastTs)];
      const dryNoKey = await cli(dryRun);
      assert.equal(dryNoKey.code, 6, dryNoKey.stderr);
      assert.match(dryNoKey.stderr, /key error: .* is encrypted \(age\) and no identity was given/);
      const dryWithKey = await cli([...dryRun, '--identity', identityFile]);
      assert.equal(dryWithKey.code, 0, dryWithKey.stderr);

      // With the identity: restore equals the source, the empty collection included.
      const target = `restored_${tag}`;
      const restored = await cli(['restore', '--to', suite.mongo.uri, '--nsInclude', `${db}.*`, '--nsFrom', `${db}.*`, '--nsTo', `${target}.*`, '--identity', identityFile]);
      assert.equal(restored.code, 0, restored.stderr);
      const restoredColl = suite.client.db(target).collection(coll);
      assert.deepEqual(await restoredColl.find({}, { promoteValues: false }).sort({ _id: 1 }).toArray(), expected);
      const indexes = (await restoredColl.listIndexes().toArray()).map((spec: Document) => spec.name as string);
      assert.ok(indexes.includes(index), `index restored: ${indexes.join(', ')}`);
      assert.equal((await suite.client.db(target).listCollections({ name: empty }).toArray()).length, 1, 'the empty collection is restored');

      // export with the identity writes the mongodump layout with names again.
      const exported = join(dir, `export-${kind.name}`);
      const exportResult = await cli(['export', exported, '--nsInclude', `${db}.*`, '--identity', identityFile]);
      assert.equal(exportResult.code, 0, exportResult.stderr);
      const exportedMetadata = JSON.parse(await readFile(join(exported, db, `${coll}.metadata.json`), 'utf8')) as Document;
      assert.equal(exportedMetadata.collectionName, coll);
      assert.ok(!('db' in exportedMetadata) && !('docs' in exportedMetadata), 'mongodump\'s metadata format, nothing added');
      assert.ok((await readFile(join(exported, db, `${coll}.bson`))).includes(value));
    });

    test('a resumed encrypted base skips what earlier runs stored, by collection UUID, and restores equal', async (t) => {
      const tag = randomBytes(3).toString('hex');
      const db = `secretdb_8f3a_resume_${tag}`;
      for (let c = 0; c < 3; c++) {
        await suite.client.db(db).collection<{ _id: number; c: number }>(`hiddencoll_${c}`).insertMany(Array.from({ length: 20 }, (_, n) => ({ _id: n, c })));
      }
      // This suite's store already holds test 1's chain: the resumed base becomes the newest chain.
      {
        const store = attachCipher(suite.store, new AgeCipher({ recipients: [recipient] }));
        const committer = await ManifestCommitter.open(store);
        const stop = new AbortController();
        const first = await takeBase({ source: suite.source, store, committer, concurrency: 1, signal: stop.signal, onCollection: () => stop.abort() });
        assert.equal(first.stoppedEarly, true);
        const pending = first.stoppedEarly ? first.pending : undefined;
        assert.equal(pending?.opaque?.collections.length, 1, 'one collection stored before the stop');
        assert.deepEqual(pending?.collections, [], 'named nowhere');
        const uuid = pending?.opaque?.collections[0]?.uuid;
        t.diagnostic(`the server reports collection UUIDs: ${uuid !== undefined}`);

        const second = await takeBase({ source: suite.source, store, committer, concurrency: 1 });
        assert.equal(second.stoppedEarly, false);
        const base = second.stoppedEarly ? undefined : second.chain.base;
        assert.ok(base?.opaque);
        const listed = (await readCatalog(suite.client)).length;
        assert.equal(base.opaque.collections.length, listed, 'every collection once: none stored twice');
        assert.ok(base.opaque.collections.every((entry) => entry.uuid === undefined && entry.docs === undefined), 'UUIDs and counts leave with the pending base');
        if (uuid !== undefined) {
          const folders = new Set(base.opaque.collections.map((entry) => entry.metadata.key.split('/')[1]));
          assert.equal(folders.size, 2, 'the first run\'s collection was kept, not dumped again');
        }
        const reader = attachCipher(suite.store, new AgeCipher({ identities: [identity] }));
        const target = `restored_resume_${tag}`;
        await restore({ store: reader, targetUri: suite.mongo.uri, namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${target}.*`] } });
        for (let c = 0; c < 3; c++) {
          assert.equal(await suite.client.db(target).collection(`hiddencoll_${c}`).countDocuments(), 20);
        }
      }
    });
  });
}
