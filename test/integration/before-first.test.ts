// restore --before-first: a FerretDB collection takes inserts and updates, a snapshot is read,
// then a bulk delete runs and more writes follow. Restoring to just before the first delete of
// the namespace must give back the snapshot, document for document: the deleted documents are
// back, nothing written after the delete is there. Run through the CLI on both stores.
import { instantText } from '../../src/words.ts';
import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import { MongoClient } from 'mongodb';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { connectSource } from '../../src/source/connect-source.ts';
import type { Store } from '../../src/store/store.ts';
import { runCli } from '../support/cli.ts';
import { dedicatedMongo, type DedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

interface Item {
  _id: number;
  n: number;
  tag: number;
  note?: string;
}

for (const kind of STORE_KINDS) {
  describe(`restore --before-first on the ${kind.name} store`, { skip: NO_MONGO || kind.skip }, () => {
    let mongo: DedicatedMongo;
    let client: MongoClient;
    let store: Store;
    let cli: { cliArgs: string[]; env: NodeJS.ProcessEnv };
    let snapshot: Item[];
    const db = uniqueName('bf');
    const items = () => client.db(db).collection<Item>('items');

    before(async () => {
      mongo = await dedicatedMongo();
      client = new MongoClient(mongo.uri);
      const opened = await kind.open();
      store = opened.store;
      cli = opened;
      await items().insertMany(Array.from({ length: 40 }, (_, k) => ({ _id: k + 1, n: k + 1, tag: (k + 1) % 3 })));
      const source = await connectSource(mongo.uri);
      try {
        await backupBase({ source, store });
        await items().updateOne({ _id: 5 }, { $set: { note: 'edited before' } });
        await items().insertMany([41, 42, 43].map((n) => ({ _id: n, n, tag: n % 3 })));
        await items().updateMany({ tag: 1 }, { $inc: { n: 100 } });
        snapshot = await items().find().sort({ _id: 1 }).toArray();
        const deleted = await items().deleteMany({ tag: 0 });
        assert.ok(deleted.deletedCount > 10, 'a bulk delete');
        await items().insertMany([44, 45].map((n) => ({ _id: n, n, tag: n % 3 })));
        await items().updateOne({ _id: 1 }, { $set: { note: 'edited after' } });
        await items().deleteOne({ _id: 2 });
        await backupOplog({ source, store });
      } finally {
        await source.client.close();
      }
    });
    after(async () => {
      await store?.close();
      await client?.close();
      await mongo?.stop();
    });

    test('restores the snapshot taken right before the bulk delete, document by document', async () => {
      const restored = uniqueName('restored');
      const filter = JSON.stringify({ op: 'd', ns: `${db}.items` });
      const result = await runCli([
        'restore', ...cli.cliArgs, '--to', mongo.uri, '--before-first', filter,
        '--nsInclude', `${db}.*`, '--nsFrom', `${db}.*`, '--nsTo', `${restored}.*`,
      ], cli.env);
      assert.equal(result.code, 0, result.stderr);
      // Its time first, then in brackets the position (what --until takes); find's line repeats the position.
      const match = new RegExp(`^cutoff (.+) \\[((\\d+):\\d+)\\], the first match \\(not applied\\): \\2  \\S+  d  ${db}\\.items  _id \\d+\\n`).exec(result.stdout);
      assert.ok(match, result.stdout);
      assert.equal(match[1], instantText(Number(match[3]) * 1000, {}), 'the time is the position\'s second');
      const back = await client.db(restored).collection<Item>('items').find().sort({ _id: 1 }).toArray();
      assert.equal(back.length, snapshot.length);
      snapshot.forEach((expected, index) => assert.deepEqual(back[index], expected, `document ${expected._id}`));
      await client.db(restored).dropDatabase();
    });

    test('no matching op is a usage error, and so is --until with --before-first', async () => {
      const none = await runCli(['restore', ...cli.cliArgs, '--to', mongo.uri, '--before-first', JSON.stringify({ command: 'dropDatabase', ns: `${db}.*` })], cli.env);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /^mongo-pitr: usage error: no archived op matches --before-first .*\n$/);
      const both = await runCli(['restore', ...cli.cliArgs, '--to', mongo.uri, '--until', '1:0', '--before-first', '{"op":"d"}'], cli.env);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /--until or --before-first, not both/);
    });
  });
}
