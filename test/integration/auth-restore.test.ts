// Users and roles, against the MongoDB-wire server (a server of this suite's own under FerretDB,
// since it writes admin): `backup --include-auth` records admin.system.users/roles in the base;
// a target without _mergeAuthzCollections (FerretDB) refuses the restore in one line before
// writing anything, unless admin.system.* is excluded; a MongoDB target (when the run is given
// one) gets the users and roles as they were at the cutoff, oplog changes after T0 included.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Document } from 'mongodb';
import { readManifest } from '../../src/backup/commit.ts';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { ExitCode } from '../../src/errors.ts';
import { restore } from '../../src/restore/restore.ts';
import { connectSource, type Source } from '../../src/source/connect-source.ts';
import type { Store } from '../../src/store/store.ts';
import { runCli } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { isFerretDB, NO_MONGO, uniqueName } from '../support/test-env.ts';

async function folderStore(): Promise<{ store: Store; url: string }> {
  const kind = STORE_KINDS[0];
  assert.ok(kind);
  const { store, url } = await kind.open();
  return { store, url };
}

/** The base's admin.system.* entries: [collection, documents]. */
async function authEntries(store: Store): Promise<Array<[string, number]>> {
  const { manifest } = await readManifest(store);
  const base = manifest.chains.at(-1)?.base;
  assert.ok(base);
  return base.collections.filter((entry) => entry.db === 'admin').map((entry) => [entry.coll, entry.docs]);
}

describe('users and roles (backup --include-auth)', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();
  let source: Source;
  const db = uniqueName('auth');
  before(async () => {
    source = await connectSource(server.mongo().uri);
    await server.client().db(db).collection<{ _id: number; total: number }>('orders').insertMany([{ _id: 1, total: 5 }, { _id: 2, total: 500 }]);
  });
  after(async () => {
    await source?.client.close();
  });

  describe('on FerretDB: no _mergeAuthzCollections', { skip: isFerretDB() ? false : 'FerretDB only: a MongoDB target merges' }, () => {
    let store: Store;
    let storeUrl: string;
    before(async () => {
      // FerretDB has no createUser: the documents the server would write, written directly.
      const admin = server.client().db('admin');
      await admin.collection<{ _id: string } & Document>('system.users').insertOne({
        _id: `${db}.app`,
        user: 'app',
        db,
        credentials: { 'SCRAM-SHA-256': { iterationCount: 15000, salt: 'c2FsdA==', storedKey: 'a2V5MQ==', serverKey: 'a2V5Mg==' } },
        roles: [{ role: 'readWrite', db }],
      });
      await admin.collection<{ _id: string } & Document>('system.roles').insertOne({ _id: `${db}.reader`, role: 'reader', db, privileges: [], roles: [] });
      ({ store, url: storeUrl } = await folderStore());
      await backupBase({ source, store, includeAuth: true });
    });
    after(async () => {
      await store?.close();
    });

    test('the base records admin.system.users and admin.system.roles, and only with --include-auth', async () => {
      assert.deepEqual(await authEntries(store), [['system.roles', 1], ['system.users', 1]]);
      const { store: plain } = await folderStore();
      try {
        await backupBase({ source, store: plain });
        assert.deepEqual(await authEntries(plain), []);
      } finally {
        await plain.close();
      }
    });

    test('restore refuses in one line, exit 8, before writing anything', async () => {
      const restored = uniqueName('auth_restored');
      const args = ['restore', '--quiet', '--store', storeUrl, '--to', server.mongo().uri, '--nsFrom', `${db}.*`, '--nsTo', `${restored}.*`];
      const result = await runCli(args);
      const lines = result.stderr.split('\n').filter((line) => line !== '');
      assert.equal(result.code, ExitCode.target, result.stderr);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', /restoring admin\.system\.users and admin\.system\.roles \(backed up with --include-auth\) needs _mergeAuthzCollections, which the target refuses: no such command there/);
      assert.match(lines[0] ?? '', /--nsExclude 'admin\.system\.\*'/, 'the hint names the way out');
      const { databases } = await server.client().db('admin').admin().listDatabases();
      assert.ok(!databases.some((entry) => entry.name === restored), 'the target database does not exist');
      const staging = await server.client().db('admin').listCollections({ name: /^mongo_pitr_temp/ }).toArray();
      assert.deepEqual(staging, [], 'no staging collection left');
    });

    test('restore with --nsExclude admin.system.* restores the rest', async () => {
      const restored = uniqueName('auth_restored');
      const result = await restore({
        store,
        targetUri: server.mongo().uri,
        namespaces: { exclude: ['admin.system.*'], from: [`${db}.*`], to: [`${restored}.*`] },
      });
      assert.equal(result.auth, undefined);
      assert.equal(await server.client().db(restored).collection('orders').countDocuments(), 2);
    });
  });

  describe('on MongoDB: merged as at the cutoff', { skip: isFerretDB() ? 'needs a MongoDB target (TEST_MONGODB_URI or MONGOMS_SYSTEM_BINARY)' : false }, () => {
    test('users and roles created, changed and dropped after T0 come back as at the cutoff', async () => {
      const { store } = await folderStore();
      const target = server.client().db(db);
      try {
        await target.command({ createUser: 'keeper', pwd: 'k-pass-1', roles: [{ role: 'read', db }] });
        await target.command({ createUser: 'leaver', pwd: 'l-pass-1', roles: [] });
        await backupBase({ source, store, includeAuth: true });
        await target.command({ grantRolesToUser: 'keeper', roles: [{ role: 'readWrite', db }] });
        await target.command({ createRole: 'auditor', privileges: [{ resource: { db, collection: 'orders' }, actions: ['find'] }], roles: [] });
        await target.command({ createUser: 'joiner', pwd: 'j-pass-1', roles: [{ role: 'auditor', db }] });
        await target.command({ dropUser: 'leaver' });
        await backupOplog({ source, store });
        await target.command({ dropAllUsersFromDatabase: 1 });
        await target.command({ dropAllRolesFromDatabase: 1 });

        const result = await restore({
          store,
          targetUri: server.mongo().uri,
          namespaces: { include: [`${db}.*`, 'admin.system.users', 'admin.system.roles'] },
        });
        assert.ok((result.auth?.users ?? 0) >= 2);
        const { users } = await target.command({ usersInfo: 1 });
        const byName = new Map((users as Document[]).map((user) => [user.user as string, user]));
        assert.deepEqual([...byName.keys()].sort(), ['joiner', 'keeper']);
        assert.deepEqual(
          (byName.get('keeper')?.roles as Document[]).map((role) => role.role).sort(),
          ['read', 'readWrite'],
        );
        const { roles } = await target.command({ rolesInfo: 1 });
        assert.deepEqual((roles as Document[]).map((role) => role.role), ['auditor']);
        const staging = await server.client().db('admin').listCollections({ name: /^mongo_pitr_temp/ }).toArray();
        assert.deepEqual(staging, [], 'staging dropped');
      } finally {
        await target.command({ dropAllUsersFromDatabase: 1 }).catch(() => undefined);
        await target.command({ dropAllRolesFromDatabase: 1 }).catch(() => undefined);
        await store.close();
      }
    });
  });
});
