// The restorable window on a real server (FerretDB here; a mongod when one is given):
//   - randomized: random writes in rounds, archived in passes at random moments; a restore to the
//     position just past each round equals the snapshot taken right after it, document by
//     document, for every round, the last one included (the newest archived op: issue 12.7);
//   - no hole at a new base: writes during a new base's dump land between the old chain's end
//     and the new base's T1; each of those states restores exactly (issue 11.8);
//   - which chain: a store holding two sources refuses restore, find, export and --before-first
//     without --set-name, listing both, and obeys it when given (issue 12.8).
import { seededRandom } from '../support/seeded-random.ts';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Timestamp, type Document, type MongoClient } from 'mongodb';
import { addChain } from '../../src/archive/manifest.ts';
import { ManifestCommitter } from '../../src/backup/commit.ts';
import { backupBase, backupOplog, runDue } from '../../src/backup/run-due.ts';
import { UsageError } from '../../src/errors.ts';
import { restore } from '../../src/restore/restore.ts';
import type { Store } from '../../src/store/store.ts';
import { formatTs, parseCutoff, tsFromBson, type Ts } from '../../src/timestamp.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { runCli } from '../support/cli.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, isFerretDB, uniqueName } from '../support/test-env.ts';

const folder = STORE_KINDS[0];
assert.ok(folder);


async function snapshot(client: MongoClient, db: string): Promise<Record<string, Document[]>> {
  const result: Record<string, Document[]> = {};
  for (const { name } of await client.db(db).listCollections().toArray()) {
    result[name] = await client.db(db).collection(name).find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();
  }
  return result;
}

/** The newest op in the source's oplog: where the state just snapshotted ends. */
async function newestOp(client: MongoClient): Promise<{ ts: Ts; wall: Date | undefined }> {
  const [op] = await client.db('local').collection('oplog.rs').find({}, { projection: { ts: 1, wall: 1 } }).sort({ $natural: -1 }).limit(1).toArray();
  assert.ok(op && op.ts instanceof Timestamp, 'the oplog has an op');
  return { ts: tsFromBson(op.ts), wall: op.wall instanceof Date ? op.wall : undefined };
}

/** The op right after `ts` in the source's oplog. */
async function opAfter(client: MongoClient, ts: Ts): Promise<Ts> {
  const [op] = await client.db('local').collection('oplog.rs')
    .find({ ts: { $gt: new Timestamp({ t: ts.t, i: ts.i }) } }, { projection: { ts: 1 } }).sort({ $natural: 1 }).limit(1).toArray();
  assert.ok(op && op.ts instanceof Timestamp, `an op after ${formatTs(ts)}`);
  return tsFromBson(op.ts);
}

/**
 * A replacement document. FerretDB logs a replace (and $unset) as {$v:1, $set: <the new whole
 * document>}, so a field the replacement drops survives replay: its oplog cannot say "removed".
 * A real mongod logs the replacement itself (op "u" with a full `o`), so there a replace drops `s`.
 */
function replacement(n: number): { n: number; s?: string } {
  return isFerretDB() ? { n, s: `r${n}` } : { n };
}

/** 2 to 6 random inserts, updates, replaces and deletes on `coll`'s documents 0..29. */
async function randomWrites(client: MongoClient, db: string, coll: string, next: () => number): Promise<void> {
  const docs = client.db(db).collection<{ _id: number; n?: number; s?: string }>(coll);
  const count = 2 + Math.floor(next() * 5);
  for (let k = 0; k < count; k++) {
    const _id = Math.floor(next() * 30);
    const kind = Math.floor(next() * 4);
    if (kind === 0) await docs.updateOne({ _id }, { $set: { s: `v${Math.floor(next() * 1000)}` } }, { upsert: true });
    else if (kind === 1) await docs.updateOne({ _id }, { $inc: { n: 1 } }, { upsert: true });
    else if (kind === 2) await docs.replaceOne({ _id }, replacement(Math.floor(next() * 100)), { upsert: true });
    else await docs.deleteOne({ _id });
  }
}

async function restoreInto(store: Store, uri: string, db: string, until: string): Promise<string> {
  const target = uniqueName('win_restored');
  await restore({ store, targetUri: uri, cutoff: parseCutoff(until), namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${target}.*`] } });
  return target;
}

describe('the restorable window', { skip: NO_MONGO }, () => {
  const suite = useBackupSuite();

  test('randomized rounds: a restore just past each round equals its snapshot, the last round included', async () => {
    const seed = Number(process.env.WINDOW_SEED ?? Date.now() % 1_000_000);
    const next = seededRandom(seed);
    const { client, source, mongo } = suite;
    const { store } = await folder.open();
    const db = uniqueName('win');
    const rounds: { state: Record<string, Document[]>; last: Ts; wall: Date | undefined }[] = [];
    try {
      await client.db(db).collection<{ _id: number; n?: number }>('docs').insertMany(Array.from({ length: 20 }, (_, _id) => ({ _id, n: _id })));
      await backupBase({ source, store });
      const ROUNDS = 8;
      for (let round = 0; round < ROUNDS; round++) {
        await randomWrites(client, db, 'docs', next);
        const last = await newestOp(client);
        rounds.push({ state: await snapshot(client, db), last: last.ts, wall: last.wall });
        // Archive at random moments, and always after the last round: chains end mid-history too.
        if (round === ROUNDS - 1 || next() < 0.4) await backupOplog({ source, store });
      }
      for (const [index, round] of rounds.entries()) {
        // Just past the round: its last op + 1 ordinal, or (not the last round) the next op itself.
        const pastLast = `${round.last.t}:${round.last.i + 1}`;
        const until = index < rounds.length - 1 && next() < 0.5 ? formatTs(await opAfter(client, round.last)) : pastLast;
        const target = await restoreInto(store, mongo.uri, db, until);
        assert.deepEqual(await snapshot(client, target), round.state, `seed ${seed}, round ${index}, --until ${until}`);
        await client.db(target).dropDatabase();
      }
      // Past the newest archived op nothing is restorable: its second's later ordinals, and a
      // millisecond past its wall, may hold ops the archive does not have.
      const newest = rounds.at(-1);
      assert.ok(newest);
      await assert.rejects(restoreInto(store, mongo.uri, db, `${newest.last.t}:${newest.last.i + 2}`), UsageError);
      if (newest.wall) {
        await assert.rejects(restoreInto(store, mongo.uri, db, new Date(newest.wall.getTime() + 1).toISOString()), UsageError);
        const dry = await restore({ store, targetUri: mongo.uri, cutoff: parseCutoff(newest.wall.toISOString()), dryRun: true });
        assert.equal(dry.dryRun, true, 'a millisecond cutoff at the newest op\'s wall is decidable');
      }
    } finally {
      await store.close();
    }
  });

  test('no hole at a new base: every state between the old chain\'s end and the new T1 restores exactly', async () => {
    const seed = Number(process.env.WINDOW_SEED ?? Date.now() % 1_000_000);
    const next = seededRandom(seed);
    const { client, source, mongo } = suite;
    const opened = await folder.open();
    const db = uniqueName('hole');
    const states: { state: Record<string, Document[]>; last: Ts }[] = [];
    // Writes while the new base dumps: the store runs them before each collection's upload (the
    // dump goes one collection at a time), so they land between T0 and T1.
    const inner = opened.store;
    const store: Store = {
      url: inner.url,
      put: async (key, body, options) => {
        if (dumping && /^bases\/.*\.bson\.gz$/.test(key) && !key.endsWith('/oplog.bson.gz')) {
          await randomWrites(client, db, `c${Math.floor(next() * 3)}`, next);
          states.push({ state: await snapshot(client, db), last: (await newestOp(client)).ts });
        }
        return inner.put(key, body, options);
      },
      get: (key, options) => inner.get(key, options),
      stat: (key) => inner.stat(key),
      list: (prefix) => inner.list(prefix),
      delete: (key) => inner.delete(key),
      putIfMatch: (key, body, etag) => inner.putIfMatch(key, body, etag),
      check: () => inner.check(),
      close: () => inner.close(),
    };
    let dumping = false;
    try {
      for (const coll of ['c0', 'c1', 'c2']) await client.db(db).collection<{ _id: number; n: number }>(coll).insertMany(Array.from({ length: 10 }, (_, _id) => ({ _id, n: _id })));
      await backupBase({ source, store });
      await randomWrites(client, db, 'c0', next);
      await backupOplog({ source, store });
      const oldEnd = await newestOp(client);
      states.push({ state: await snapshot(client, db), last: oldEnd.ts });

      dumping = true;
      const result = await runDue({ source, store, baseEveryMs: 0, concurrency: 1 });
      dumping = false;
      assert.ok(result.base, 'a new base was taken');
      assert.ok(result.bridge && result.bridge.chunks > 0, 'the old chain was archived on to the new T1');
      const [oldChain, newChain] = (await ManifestCommitter.open(store)).manifest.chains;
      assert.ok(oldChain && newChain);
      assert.deepEqual(oldChain.chunks.at(-1)?.commitPointTs, newChain.base.endTs, 'the old chain is sealed at the new T1');
      assert.ok(states.length >= 3, 'writes landed during the dump');
      const manifest = (await ManifestCommitter.open(store)).manifest;
      const newBase = manifest.chains.at(-1)?.base;
      assert.ok(newBase);
      for (const [index, { state, last }] of states.entries()) {
        const until = `${last.t}:${last.i + 1}`;
        const target = await restoreInto(store, mongo.uri, db, until);
        assert.deepEqual(await snapshot(client, target), state, `seed ${seed}, state ${index}, --until ${until} (new T1 ${formatTs(newBase.endTs)})`);
        await client.db(target).dropDatabase();
      }
    } finally {
      await opened.store.close();
    }
  });

  test('which chain: two sources in one store need --set-name, and obey it', async () => {
    const { client, source, mongo } = suite;
    const opened = await folder.open();
    const db = uniqueName('which');
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-export-'));
    try {
      await client.db(db).collection<{ _id: number; n?: number }>('docs').insertMany([{ _id: 1 }, { _id: 2 }]);
      await backupBase({ source, store: opened.store });
      await client.db(db).collection<{ _id: number; n?: number }>('docs').deleteOne({ _id: 1 });
      await backupOplog({ source, store: opened.store });
      // A second source in the same store: another shard's replica set (its chain here reuses
      // the first one's objects; only its identity matters to the choice).
      const committer = await ManifestCommitter.open(opened.store);
      const mine = committer.manifest.chains.at(-1);
      assert.ok(mine);
      const other = { setName: 'shard1', replicaSetId: '65f0bbbbbbbbbbbbbbbbbbbb' };
      await committer.commit((manifest) => addChain(manifest, { ...mine, id: `${mine.id}-shard1`, source: other }));
      const setName = source.identity.setName;
      const usage = async (args: string[]) => {
        const result = await runCli([...args.slice(0, 1), ...opened.cliArgs, ...args.slice(1)], opened.env);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
        assert.match(result.stderr, /2 sources; choose one with --set-name and --replica-set-id: /);
        assert.ok(result.stderr.includes(setName) && result.stderr.includes('shard1 (--replica-set-id 65f0b'), result.stderr);
      };
      await usage(['restore', '--dry-run']);
      await usage(['restore', '--dry-run', '--before-first', JSON.stringify({ op: 'd', ns: `${db}.docs` })]);
      await usage(['find', '--op', 'd']);
      await usage(['export', join(dir, 'out')]);

      const chosen = ['--set-name', setName, ...(source.identity.replicaSetId ? ['--replica-set-id', source.identity.replicaSetId] : [])];
      const dry = await runCli(['restore', ...opened.cliArgs, '--dry-run', ...chosen], opened.env);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`^chain ${mine.id},`));
      const found = await runCli(['find', ...opened.cliArgs, '--op', 'd', '--ns', `${db}.docs`, ...chosen], opened.env);
      assert.equal(found.code, 0, found.stderr);
      assert.equal(found.stdout.trim().split('\n').length, 1, 'the delete, once');
      const before = await runCli(['restore', ...opened.cliArgs, '--to', mongo.uri, '--before-first', JSON.stringify({ op: 'd', ns: `${db}.docs` }), '--set-name', 'shard1', '--dry-run'], opened.env);
      assert.equal(before.code, 0, before.stderr);
      assert.match(before.stdout, new RegExp(`chain ${mine.id}-shard1,`));
      const exported = await runCli(['export', ...opened.cliArgs, join(dir, 'out'), ...chosen], opened.env);
      assert.equal(exported.code, 0, exported.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await opened.store.close();
    }
  });
});
