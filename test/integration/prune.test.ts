// Retention on both stores: three real chains A, B, C (in different seconds) and two orphans,
// made once; each test that prunes works on a copy of that store of its own, so the tests pass in
// any order. Young orphans stay; a dry run changes nothing; a prune whose horizon falls at B's
// end drops A and the orphans, keeps B (it restores to the horizon) and C (the newest), and both
// restore; a prune with nothing kept but the newest leaves C whole and restorable. The retention rules alone, on
// hand-made manifests: test/unit/archive/retention.test.ts.
import { adoptManifest } from '../../src/backup/commit.ts';
import assert from 'node:assert/strict';
import { after, describe, test, before } from 'node:test';
import { keysOf } from '../../src/archive/chain-window.ts';
import { chainEnd, type Chain } from '../../src/archive/manifest.ts';
import { MANIFEST_KEY } from '../../src/archive/object-keys.ts';
import { prune } from '../../src/backup/prune.ts';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { readManifest } from '../../src/backup/commit.ts';
import { restore } from '../../src/restore/restore.ts';
import type { Store } from '../../src/store/store.ts';
import type { Cutoff } from '../../src/timestamp.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { runCli } from '../support/cli.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';
import { waitFor } from '../support/wait-for.ts';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

async function manifestBytes(store: Store): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(MANIFEST_KEY)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function exists(store: Store, key: string): Promise<boolean> {
  return (await store.stat(key)) !== null;
}

for (const kind of STORE_KINDS) {
  describe(`prune on the ${kind.name} store`, { skip: NO_MONGO || kind.skip }, () => {
    const suite = useBackupSuite(kind);
    const db = uniqueName('prune');
    let chains: Chain[] = [];
    const orphanKeys: string[] = [];

    const docs = () => suite.client.db(db).collection<{ _id: number }>('docs');
    /** Restores into a fresh database and returns its _ids. */
    const restoredIds = async (store: Store, cutoff?: Cutoff): Promise<number[]> => {
      const target = uniqueName('restored');
      await restore({ store, targetUri: suite.mongo.uri, cutoff, namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${target}.*`] } });
      const ids = (await suite.client.db(target).collection<{ _id: number }>('docs').find().sort({ _id: 1 }).toArray()).map((doc) => doc._id);
      await suite.client.db(target).dropDatabase();
      return ids;
    };

    before(async () => {
      const { source, store } = suite;
      // Three chains, each a base then one chunk, in different seconds so their windows differ:
      // each waits for the clock to leave the second of the previous chain's last op.
      for (const n of [1, 3, 5]) {
        const previous = (await readManifest(store)).manifest.chains.at(-1);
        if (previous) {
          const lastSecond = chainEnd(previous).lastTs.t;
          await waitFor(`the clock past second ${lastSecond}`, async () => Math.floor(Date.now() / 1000) > lastSecond, 10_000);
        }
        await docs().insertOne({ _id: n });
        await backupBase({ source, store });
        await docs().insertOne({ _id: n + 1 });
        await backupOplog({ source, store });
      }
      chains = [...(await readManifest(store)).manifest.chains];
      assert.equal(chains.length, 3);
      // An abandoned base folder and a lost race's chunk in C's folder: referenced by nothing.
      orphanKeys.push('bases/0000000000001-0000000000-0dead0ba/x/y.bson.gz', `chunks/${chains[2]?.id}/9999999999999-0000000000-0dead0c0.bson.gz`);
      for (const key of orphanKeys) await store.put(key, Buffer.from('orphan'));
    });

    /** A new store of this kind holding a copy of every object of the suite's: a test's own to prune. */
    const copies: Store[] = [];
    after(async () => {
      for (const store of copies) await store.close();
    });
    const copyOfStore = async (): Promise<Awaited<ReturnType<typeof kind.open>>> => {
      const opened = await kind.open();
      copies.push(opened.store);
      for await (const { key } of suite.store.list('')) await opened.store.put(key, await suite.store.get(key));
      // The copied manifest names the suite's store as its home: this copy takes it over, as an
      // operator would with --adopt-manifest after copying a store.
      assert.equal(await adoptManifest(opened.store), suite.store.url);
      return opened;
    };

    test('young orphans stay, and nothing inside --keep goes (CLI)', async () => {
      const before = await manifestBytes(suite.store);
      const result = await runCli(['prune', '--keep', '3650d', '--json', ...suite.cli.cliArgs], suite.cli.env);
      assert.equal(result.code, 0, result.stderr);
      const printed = JSON.parse(result.stdout) as { removedChains: unknown[]; orphans: unknown[]; youngOrphans: number };
      assert.deepEqual(printed.removedChains, []);
      assert.deepEqual(printed.orphans, []);
      assert.equal(printed.youngOrphans, 2);
      for (const key of orphanKeys) assert.ok(await exists(suite.store, key), `${key} kept`);
      assert.deepEqual(await manifestBytes(suite.store), before, 'nothing to remove: no manifest write');
    });

    const [a, b, c] = [0, 1, 2];
    /** Two hours from now (orphans are past the 1h grace), with the horizon at B's end. */
    const atBEnd = () => {
      const now = new Date(Date.now() + 2 * HOUR_MS);
      const horizonMs = Date.parse(chainEnd(chains[b] as Chain).lastWall ?? '');
      assert.ok(Number.isFinite(horizonMs), 'FerretDB entries carry a wall clock');
      return { now, keepMs: now.getTime() - horizonMs };
    };

    test('a dry run lists chain A and both orphans, and changes nothing', async () => {
      const before = await manifestBytes(suite.store);
      const result = await prune({ store: suite.store, ...atBEnd(), dryRun: true });
      assert.deepEqual(result.removedChains.map((chain) => chain.id), [chains[a]?.id]);
      assert.deepEqual(result.orphans.map((orphan) => orphan.key).sort(), [...orphanKeys].sort());
      assert.equal(result.deletedObjects, keysOf(chains[a] as Chain).length + 2);
      assert.deepEqual(await manifestBytes(suite.store), before);
      for (const key of [...orphanKeys, ...keysOf(chains[a] as Chain)]) assert.ok(await exists(suite.store, key), `${key} still there`);
    });

    test('the horizon at B\'s end drops A and the orphans, keeps B and C, and both restore', async () => {
      const { store, cliArgs, env } = await copyOfStore();
      const result = await prune({ store, ...atBEnd() });
      assert.deepEqual(result.removedChains.map((chain) => chain.id), [chains[a]?.id]);
      assert.deepEqual(result.keptChains.map(({ id, reason }) => [id, reason]), [[chains[b]?.id, 'in-retention'], [chains[c]?.id, 'newest']]);
      const { manifest } = await readManifest(store);
      assert.deepEqual(manifest.chains.map((chain) => chain.id), [chains[b]?.id, chains[c]?.id]);
      for (const key of [...orphanKeys, ...keysOf(chains[a] as Chain)]) assert.equal(await exists(store, key), false, `${key} deleted`);
      for (const key of [...keysOf(chains[b] as Chain), ...keysOf(chains[c] as Chain)]) assert.ok(await exists(store, key), `${key} kept`);
      const verified = await runCli(['verify', ...cliArgs], env);
      assert.equal(verified.code, 0, verified.stderr);
      // Restore to just before B's last op (the insert of 4 on a server of our own), then to the newest op.
      const atB = await restoredIds(store, { ts: chainEnd(chains[b] as Chain).lastTs, input: 'B end' });
      assert.deepEqual(atB.filter((id) => id <= 3 || id >= 5), [1, 2, 3]);
      if (suite.mongo.own) assert.deepEqual(atB, [1, 2, 3]);
      assert.deepEqual(await restoredIds(store), [1, 2, 3, 4, 5, 6]);
      const again = await prune({ store, ...atBEnd() });
      assert.equal(again.deletedObjects, 0, 'a second prune finds nothing');
    });

    test('with nothing to keep, the newest chain still stays whole and restorable', async () => {
      const { store } = await copyOfStore();
      const result = await prune({ store, keepMs: 0, now: new Date(Date.now() + DAY_MS) });
      assert.deepEqual(result.removedChains.map((chain) => chain.id), [chains[a]?.id, chains[b]?.id]);
      assert.deepEqual(result.keptChains.map(({ id, reason }) => [id, reason]), [[chains[c]?.id, 'newest']]);
      assert.deepEqual(result.orphans.map((orphan) => orphan.key).sort(), [...orphanKeys].sort());
      const { manifest } = await readManifest(store);
      assert.deepEqual(manifest.chains, [chains[c]], 'chain C, every chunk of it');
      for (const key of [...orphanKeys, ...keysOf(chains[a] as Chain), ...keysOf(chains[b] as Chain)]) assert.equal(await exists(store, key), false, `${key} deleted`);
      for (const key of keysOf(chains[c] as Chain)) assert.ok(await exists(store, key), `${key} kept`);
      assert.deepEqual(await restoredIds(store), [1, 2, 3, 4, 5, 6]);
    });
  });
}
