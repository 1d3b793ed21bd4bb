// A run is pinned to one member (issue 11, point 1): the URI's read preference selects it once,
// then every command of the run goes over a direct connection to it. Measured on the real server:
// FerretDB answers hello as a one-member replica set (setName, hosts), so the discovery, the pin
// and the direct connection are real there; with a mongod replica set (MONGOMS_SYSTEM_BINARY or
// TEST_MONGODB_URI) secondaryPreferred selects a secondary and the run stays on it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CommandStartedEvent } from 'mongodb';
import { backupBase } from '../../src/backup/run-due.ts';
import { connectSource } from '../../src/source/connect-source.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { NO_MONGO, isFerretDB, uniqueName } from '../support/test-env.ts';

/** The test server's URI as a user would write it for a secondary: discovery on, secondary reads. */
function secondaryUri(uri: string): string {
  const withoutDirect = uri.replace(/([?&])directConnection=true&?/i, '$1').replace(/[?&]$/, '');
  return `${withoutDirect}${withoutDirect.includes('?') ? '&' : '/?'}readPreference=secondaryPreferred`;
}

// The base backs up the whole server: a server of this file's own (on FerretDB), so that other
// files' databases, created and dropped while it runs, are neither dumped nor raced with.
describe('member pinning', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();

  test('a run with secondary reads connects directly to one member of the set and sends every command there', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store } = await kind.open();
    const uri = server.mongo().uri;
    const client = server.client();
    const db = uniqueName('pin');
    await client.db(db).collection<{ _id: number }>('items').insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: n })));
    const hello = await client.db('admin').command({ hello: 1 });
    const source = await connectSource(secondaryUri(uri), { monitorCommands: true });
    const seen: CommandStartedEvent[] = [];
    source.client.on('commandStarted', (event) => seen.push(event));
    try {
      assert.ok((hello.hosts as string[]).includes(source.member), `${source.member} is one of ${String(hello.hosts)}`);
      assert.equal(source.client.options.directConnection, true);
      assert.deepEqual(source.client.options.hosts.map(String), [source.member]);
      assert.equal(source.identity.setName, hello.setName);
      const pinnedHello = await source.client.db('admin').command({ hello: 1 });
      if (!isFerretDB() && (hello.hosts as string[]).length > 1) assert.equal(pinnedHello.secondary, true);

      await backupBase({ source, store });
      const addresses = new Set(seen.map((event) => event.address));
      assert.ok(seen.length > 5, `commands were seen (${seen.length})`);
      assert.deepEqual([...addresses], [source.member]);
    } finally {
      await source.client.close();
      await client.db(db).dropDatabase();
    }
  });

  test('the pinned run never shows the URI password: not in source.uri, not in a connection error', async () => {
    const withPassword = secondaryUri(server.mongo().uri).replace('mongodb://', 'mongodb://backup:s3cr3t-pw@');
    try {
      const source = await connectSource(withPassword, { serverSelectionTimeoutMS: 2_000 });
      try {
        assert.ok(!source.uri.includes('s3cr3t-pw'));
        assert.ok(source.uri.includes('backup:***@'));
      } finally {
        await source.client.close();
      }
    } catch (error) {
      // A server that checks credentials refuses these: the error must not carry the password.
      assert.ok(!String((error as Error).message).includes('s3cr3t-pw'), String(error));
      assert.ok(!String((error as Error).stack).includes('s3cr3t-pw'));
    }
  });
});
