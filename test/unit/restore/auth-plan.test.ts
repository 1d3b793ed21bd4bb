// Users and roles: what a restore stages and merges, and how the oplog's user-management writes
// reach the staging. Shapes from the real references:
//   ../shared/fixtures/pbm/ops_admin_users_roles.json   MongoDB 7/8 oplog of createUser,
//     grantRolesToUser ($v:2 diff), createRole, updateRole, dropRole/dropUser (deletes inside
//     applyOps), as PBM recorded them;
//   mongo-tools mongorestore/metadata.go RestoreUsersOrRoles   the merge command's fields;
//   mongodb/mongo src/mongo/db/commands/user_management_commands.cpp CmdMergeAuthzCollections
//     (BadValue without temporary collections; drop: replace, then remove the absent ones).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BSON } from 'mongodb';
import type { Document } from 'mongodb';
import type { Base, CollectionEntry } from '../../../src/archive/manifest.ts';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import {
  AUTH_NAMESPACES,
  mergeAuthzCommand,
  mergeRefusal,
  planAuthRestore,
  type AuthPlan,
} from '../../../src/restore/auth-plan.ts';
import { compileNamespaceMapper, SKIP_INTERNAL, type NamespaceOptions } from '../../../src/restore/namespace-mapper.ts';
import { replay } from '../../../src/restore/replay.ts';
import { emptyApplyStats, type Applier } from '../../../src/target/applier.ts';
import { foldDocument, groupByNamespace } from '../../../src/target/fold-batch.ts';
import { idKey } from '../../../src/target/id-key.ts';
import { toOrdered, toPlain } from '../../../src/ordered-document.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const FIXTURE = join(SHARED_DIR, 'fixtures', 'pbm', 'ops_admin_users_roles.json');

function collection(db: string, coll: string): CollectionEntry {
  const object = (suffix: string) => ({ key: `bases/b/${db}/${coll}.${suffix}`, rawBytes: 1, storedBytes: 1, sha256: '0'.repeat(64) });
  return { db, coll, type: 'collection', docs: 1, data: object('bson.gz'), metadata: object('metadata.json.gz') };
}

/** A base with these collections; the fields a plan does not read are left out. */
function baseWith(...collections: CollectionEntry[]): Base {
  return { collections } as unknown as Base;
}

const USERS = collection('admin', 'system.users');
const ROLES = collection('admin', 'system.roles');
const ORDERS = collection('mydb', 'collection1');

function plan(base: Base, rules: NamespaceOptions = {}): AuthPlan | undefined {
  const mapper = compileNamespaceMapper(rules);
  return planAuthRestore(base, (ns) => mapper.accepts(ns));
}

describe('planAuthRestore', () => {
  it('stages both kinds in temporary collections of admin when the base holds them', () => {
    const result = plan(baseWith(ORDERS, USERS, ROLES));
    assert.deepEqual(result?.collections.map((each) => [each.kind, each.source, each.temp, each.base]), [
      ['users', 'admin.system.users', 'admin.mongo_pitr_tempusers', USERS],
      ['roles', 'admin.system.roles', 'admin.mongo_pitr_temproles', ROLES],
    ]);
    assert.deepEqual([...(result?.routes ?? [])], [
      ['admin.system.users', 'admin.mongo_pitr_tempusers'],
      ['admin.system.roles', 'admin.mongo_pitr_temproles'],
    ]);
  });

  it('stages a kind the base lacks, for what the oplog creates later', () => {
    const result = plan(baseWith(USERS));
    assert.deepEqual(result?.collections.map((each) => [each.kind, each.base]), [['users', USERS], ['roles', undefined]]);
  });

  it('restores none without auth in the base, or when the rules leave admin.system.* out', () => {
    assert.equal(plan(baseWith(ORDERS)), undefined, 'backed up without --include-auth');
    assert.equal(plan(baseWith(ORDERS, USERS, ROLES), { exclude: ['admin.system.*'] }), undefined);
    assert.equal(plan(baseWith(ORDERS, USERS, ROLES), { include: ['mydb.*'] }), undefined);
    assert.deepEqual(
      plan(baseWith(USERS, ROLES), { exclude: ['admin.system.roles'] })?.collections.map((each) => each.kind),
      ['users'],
    );
  });
});

describe('mergeAuthzCommand', () => {
  const both = plan(baseWith(USERS, ROLES));
  const usersOnly = plan(baseWith(USERS));
  assert.ok(both && usersOnly);

  it('is mongorestore\'s command: full temporary namespaces, drop as restore --drop, every database', () => {
    assert.deepEqual(mergeAuthzCommand(both, new Set(), false), {
      _mergeAuthzCollections: 1,
      tempUsersCollection: 'admin.mongo_pitr_tempusers',
      tempRolesCollection: 'admin.mongo_pitr_temproles',
      drop: false,
      db: '',
    });
    assert.equal(mergeAuthzCommand(both, new Set(), true)?.drop, true);
  });

  it('merges a kind the base lacked only when the oplog wrote some of it', () => {
    assert.deepEqual(Object.keys(mergeAuthzCommand(usersOnly, new Set(), true) ?? {}), ['_mergeAuthzCollections', 'tempUsersCollection', 'drop', 'db']);
    assert.equal(mergeAuthzCommand(usersOnly, new Set(['roles']), true)?.tempRolesCollection, 'admin.mongo_pitr_temproles');
  });
});

describe('mergeRefusal', () => {
  it('refuses the codes of a target that cannot merge, and accepts the BadValue of one that can', () => {
    assert.match(mergeRefusal(59) ?? '', /no such command/, 'CommandNotFound: FerretDB');
    assert.match(mergeRefusal(13) ?? '', /not authorized/, 'Unauthorized');
    assert.match(mergeRefusal(115) ?? '', /not support/, 'CommandNotSupported');
    assert.equal(mergeRefusal(2), undefined, 'BadValue: "Must provide at least one of..."');
    assert.equal(mergeRefusal(undefined), undefined);
  });
});

// ---- the oplog's users and roles after T0 -----------------------------------------------------

/** A target reduced to documents by namespace, written the way the portable applier folds them. */
class MemoryApplier implements Applier {
  readonly mode = 'portable' as const;
  readonly stats = emptyApplyStats();
  readonly docs = new Map<string, Map<string, Document>>();

  async applyCrud(batch: readonly OplogEntry[]): Promise<void> {
    for (const [ns, entries] of groupByNamespace(batch)) {
      const docs = this.docs.get(ns) ?? new Map<string, Document>();
      this.docs.set(ns, docs);
      for (const entry of entries) {
        const key = idKey(entry.op === 'u' ? entry.o2?._id : entry.o._id);
        const stored = docs.get(key);
        const next = foldDocument(stored ? toOrdered(stored) : null, [entry], this.stats);
        if (next === null) docs.delete(key);
        else docs.set(key, toPlain(next) as Document);
      }
    }
  }

  async applyTransaction(entries: readonly OplogEntry[]): Promise<void> {
    await this.applyCrud(entries);
  }

  async applyCommand(): Promise<void> {
    assert.fail('no command expected');
  }

  ids(ns: string): string[] {
    return [...(this.docs.get(ns)?.values() ?? [])].map((doc) => String(doc._id)).sort();
  }
}

async function replayFixture(rules: NamespaceOptions, routed: boolean): Promise<{ target: MemoryApplier; skipped: Record<string, number> }> {
  const entries = BSON.EJSON.parse(await readFile(FIXTURE, 'utf8'), { relaxed: false }) as OplogEntry[];
  const dir = await mkdtemp(join(tmpdir(), 'auth-plan-'));
  try {
    const file = join(dir, 'oplog.bson');
    await writeFile(file, Buffer.concat(entries.map((entry) => BSON.serialize(entry))));
    const namespaces = compileNamespaceMapper(rules);
    const auth = routed ? planAuthRestore(baseWith(USERS, ROLES), (ns) => namespaces.accepts(ns)) : undefined;
    if (auth) namespaces.routeAuth(auth.routes);
    const target = new MemoryApplier();
    // The base (T0): the user and the role that the fixture later drops.
    target.docs.set('admin.mongo_pitr_tempusers', new Map([[idKey('mydb.olduser'), { _id: 'mydb.olduser', user: 'olduser', db: 'mydb', roles: [] }]]));
    target.docs.set('admin.mongo_pitr_temproles', new Map([[idKey('mydb.oldRole'), { _id: 'mydb.oldRole', role: 'oldRole', db: 'mydb', roles: [], privileges: [] }]]));
    const receipt = await replay({ applier: target, files: [file], namespaces });
    return { target, skipped: receipt.skipped };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('users and roles written after T0', () => {
  it('replay to the staging collections: the merge gets the users and roles of the cutoff', async () => {
    const { target, skipped } = await replayFixture({}, true);
    assert.deepEqual(skipped, {});
    assert.deepEqual(target.ids('admin.mongo_pitr_tempusers'), ['mydb.testuser', 'otherdb.otheruser'], 'olduser dropped');
    assert.deepEqual(target.ids('admin.mongo_pitr_temproles'), ['mydb.customRole', 'otherdb.otherRole'], 'oldRole dropped');
    const users = target.docs.get('admin.mongo_pitr_tempusers');
    assert.deepEqual(users?.get(idKey('mydb.testuser'))?.roles, [{ role: 'readWrite', db: 'mydb' }, { role: 'dbAdmin', db: 'mydb' }], 'grantRolesToUser ($v:2)');
    assert.deepEqual(users?.get(idKey('otherdb.otheruser'))?.roles, [{ role: 'read', db: 'otherdb' }, { role: 'readWrite', db: 'otherdb' }]);
    const roles = target.docs.get('admin.mongo_pitr_temproles');
    assert.deepEqual(roles?.get(idKey('mydb.customRole'))?.privileges, [{ resource: { db: 'mydb', collection: '' }, actions: ['find', 'insert', 'update'] }]);
    assert.equal(target.ids(AUTH_NAMESPACES.users).length, 0, 'admin.system.users itself is never written');
    assert.deepEqual(target.ids('mydb.collection1').length, 2, 'other writes as usual');
  });

  it('stay skipped, and counted, when the restore does not bring users and roles back', async () => {
    for (const [rules, routed] of [[{}, false], [{ exclude: ['admin.system.*'] }, true]] as const) {
      const { target, skipped } = await replayFixture(rules, routed);
      assert.deepEqual(skipped, { [SKIP_INTERNAL]: 9 });
      assert.deepEqual(target.ids('admin.mongo_pitr_tempusers'), ['mydb.olduser'], 'staging untouched');
    }
  });
});
