// verify, find, prune and stream on a cluster store, through the CLI, on a simulated 2-shard cluster
// (FerretDB members, test/support/sim-cluster.ts) backed up to a folder store by `run --topology`
// three times, one cluster base each (--base-every 1s). A few dozen documents: the point is the
// cluster layout (cluster.json over one replica-set store per member), not volume.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { finished, onJsonLines, runCli, spawnCli } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startSimCluster, type SimCluster } from '../support/sim-cluster.ts';
import { markCutoff, passCutoff } from '../support/cluster-workload.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { isFerretDB, NO_MONGO } from '../support/test-env.ts';
import { parseManifest, type Manifest } from '../../src/archive/manifest.ts';
import { parseClusterManifest, type ClusterManifest } from '../../src/archive/cluster-manifest.ts';
import { ExitCode } from '../../src/errors.ts';

const BIN = process.env.TEST_FERRETDB_BIN;
const SKIP = NO_MONGO || (!isFerretDB() || !BIN ? 'the simulated cluster is built from FerretDB binaries (TEST_FERRETDB_BIN)' : false);
const SHARDS = ['shard01', 'shard02'];
const MEMBERS = ['config', ...SHARDS];

type Doc = { _id: number; k: number; note: string };

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe('verify, find, prune and stream on a cluster store (folder store)', { skip: SKIP }, () => {
  let source: SimCluster;
  let url: string;
  let cliArgs: string[];
  let close: () => Promise<void> = async () => {};
  const cli = (args: string[]) => runCli(['--json', ...cliArgs, ...args]);
  const clusterJson = async (): Promise<ClusterManifest> => parseClusterManifest(await readFile(join(url, 'cluster.json')));
  /** A member's manifest; format 2 keeps the chains' heads in manifest.json. */
  const memberManifest = async (name: string): Promise<Manifest> => parseManifest(await readFile(join(url, 'members', name, 'manifest.json')));

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-cluster-ops-'));
    source = await startSimCluster(BIN ?? '', SHARDS, dir);
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const opened = await kind.open();
    url = opened.url;
    cliArgs = opened.cliArgs;
    close = () => opened.store.close();
    let k = 0;
    // Three passes, each a cluster base (--base-every 1s), with writes on both shards between.
    for (let pass = 0; pass < 3; pass++) {
      for (const shard of source.shards) {
        const docs = Array.from({ length: 8 }, (): Doc => ({ _id: k, k: k++, note: `${shard.name} pass ${pass}` }));
        await shard.client.db('app').collection<Doc>('orders').insertMany(docs);
      }
      if (pass > 0) await sleep(1100);
      const run = await cli(['run', '--topology', source.topologyFile, '--base-every', '1s']);
      assert.equal(run.code, 0, run.stderr);
    }
    for (const shard of source.shards) await shard.client.db('app').collection<Doc>('orders').updateOne({ _id: shard.name === 'shard01' ? 0 : 8 }, { $set: { note: 'after the third base' } });
    // Every member's archive must pass the newest cluster base's largest T1 for its window to open.
    await passCutoff(source, await markCutoff(source));
    const run = await cli(['run', '--topology', source.topologyFile]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await clusterJson()).bases.length, 3, 'three cluster bases to work on');
  });
  after(async () => {
    await close();
    await source?.stop();
  });

  test('verify reads every member store and checks cluster.json\'s references: one line per member and one for the cluster', async () => {
    const text = await runCli([...cliArgs, 'verify']);
    assert.equal(text.code, 0, text.stderr);
    for (const name of MEMBERS) assert.match(text.stdout, new RegExp(`^${name}: ok: \\d+ objects? in 3 chains verified$`, 'm'), text.stdout);
    assert.match(text.stdout, /^cluster: ok: 3 cluster bases/m);
    const json = await cli(['verify']);
    assert.equal(json.code, 0, json.stderr);
    const result = lastJson(json.stdout) as { ok: boolean; cluster: boolean; clusterBases: number; members: { name: string; ok: boolean; chains: number }[] };
    assert.equal(result.cluster, true);
    assert.equal(result.clusterBases, 3);
    assert.deepEqual(result.members.map((member) => [member.name, member.ok, member.chains]), MEMBERS.map((name) => [name, true, 3]));
  });

  test('verify fails with the integrity exit code on a damaged member object, naming the member, and still reports the others', async () => {
    const manifest = await memberManifest('shard02');
    const key = manifest.chains[0]?.base.oplog.key;
    assert.ok(key);
    const path = join(url, 'members', 'shard02', key);
    const original = await readFile(path);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0xff;
    await writeFile(path, damaged);
    try {
      const verify = await runCli([...cliArgs, 'verify']);
      assert.equal(verify.code, ExitCode.integrity, verify.stderr);
      assert.match(verify.stderr, /shard02: FAILED/);
      assert.match(verify.stderr, /shard01: ok/);
      assert.match(verify.stderr, /config: ok/);
    } finally {
      await writeFile(path, original);
    }
  });

  test('verify fails with the integrity exit code when cluster.json names a member base its member does not hold', async () => {
    const path = join(url, 'cluster.json');
    const original = await readFile(path);
    const manifest = parseClusterManifest(original);
    const bases = manifest.bases.map((base, index) => (index === 1 ? { ...base, members: base.members.map((member) => (member.name === 'shard01' ? { ...member, baseId: 'no-such-chain' } : member)) } : base));
    await writeFile(path, JSON.stringify({ ...manifest, bases }));
    try {
      const verify = await runCli([...cliArgs, 'verify']);
      assert.equal(verify.code, ExitCode.integrity, verify.stderr);
      assert.match(verify.stderr, new RegExp(`cluster base ${manifest.bases[1]?.id} needs base no-such-chain of shard01`));
      assert.match(verify.stderr, /shard01: ok/, 'the member itself verifies');
    } finally {
      await writeFile(path, original);
    }
  });

  test('find searches every member\'s archive, each match tagged with its member (text and --json); --set-name picks members', async () => {
    // Inserted before passes 1 and 2 (ids 16..47): archived in the oplog of the shard written to.
    const ownerOf = (id: number) => (Math.floor(id / 8) % 2 === 0 ? 'shard01' : 'shard02');
    const json = await cli(['find', '--ns', 'app.orders', '--op', 'i']);
    assert.equal(json.code, 0, json.stderr);
    const found = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { member: string; setName: string; id: number; ns: string });
    const byId = new Map(found.map((op) => [op.id, op]));
    for (let id = 16; id < 48; id++) {
      assert.equal(byId.get(id)?.member, ownerOf(id), `insert of ${id} found on ${ownerOf(id)}`);
      assert.equal(byId.get(id)?.setName, `rs-${ownerOf(id)}`);
    }
    assert.ok(found.every((op) => op.member !== 'config' && op.ns === 'app.orders'));
    const text = await runCli([...cliArgs, 'find', '--ns', 'app.orders', '--id', '17']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^\[shard01\]  \d+:\d+ .* i {2}app\.orders/m, text.stdout);
    const one = await cli(['find', '--ns', 'app.orders', '--op', 'i', '--set-name', 'shard02']);
    assert.equal(one.code, 0, one.stderr);
    const members = new Set(one.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { member: string }).member));
    assert.deepEqual([...members], ['shard02']);
    const limited = await cli(['find', '--ns', 'app.orders', '--limit', '3']);
    assert.equal(limited.stdout.trim().split('\n').length, 3, '--limit counts across members');
  });

  // Last: it removes the older cluster bases the tests above read.
  test('prune --keep drops the older cluster bases as one: the newest cluster window stays whole on every member, cluster.json lists only kept cluster bases', async () => {
    const before = await clusterJson();
    const newest = before.bases.at(-1);
    assert.ok(newest);
    const opened = await cli(['status']);
    assert.deepEqual((lastJson(opened.stdout) as { cluster: { windows: { baseId: string }[] } }).cluster.windows.map((window) => window.baseId), before.bases.map((base) => base.id), 'every cluster base has a window before the prune');
    const dry = await cli(['prune', '--keep', '1ms', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = lastJson(dry.stdout) as { cluster: boolean; removedClusterBases: { id: string }[]; keptClusterBases: { id: string; reason: string }[] };
    assert.equal(planned.cluster, true);
    assert.deepEqual(planned.removedClusterBases.map((base) => base.id), before.bases.slice(0, 2).map((base) => base.id));
    assert.deepEqual(await clusterJson(), before, 'a dry run changes nothing');

    const pruned = await cli(['prune', '--keep', '1ms']);
    assert.equal(pruned.code, 0, pruned.stderr);
    const result = lastJson(pruned.stdout) as { keptClusterBases: { id: string; reason: string }[]; members: { name: string; result: { removedChains: unknown[]; deletedObjects: number } }[] };
    assert.deepEqual(result.keptClusterBases.map((base) => [base.id, base.reason]), [[newest.id, 'newest']]);
    const after = await clusterJson();
    assert.deepEqual(after.bases.map((base) => base.id), [newest.id], 'cluster.json lists only the kept cluster base');
    for (const name of MEMBERS) {
      const kept: string | undefined = newest.members.find((part) => part.name === name)?.baseId;
      assert.ok(kept, `the newest cluster base has a base of ${name}`);
      const manifest = await memberManifest(name);
      assert.deepEqual(manifest.chains.map((chain) => chain.id), [kept], `${name} keeps exactly the newest cluster base's chain`);
      // The removed chains' objects are gone: only the kept chain's base folder stays.
      const folders = await readdir(join(url, 'members', name, 'bases'));
      assert.deepEqual(folders, [kept], `${name}'s bases/ holds only the kept chain`);
      assert.equal(result.members.find((member) => member.name === name)?.result.removedChains.length, 2);
    }
    // What is left still verifies, cluster references included, and still restores: one window.
    const verify = await runCli([...cliArgs, 'verify']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /^cluster: ok: 1 cluster base/m);
    const status = await cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    const windows = (lastJson(status.stdout) as { cluster: { windows: { baseId: string }[] } }).cluster.windows;
    assert.deepEqual(windows.map((window) => window.baseId), [newest.id]);
  });

  // After the prune: the stream extends whatever chains the kept cluster base left.
  test('stream --topology tails every member in one process; SIGTERM seals each and exits 0; without a cluster base it refuses', async () => {
    const empty = STORE_KINDS[0];
    assert.ok(empty);
    const fresh = await empty.open();
    try {
      const refused = await runCli([...fresh.cliArgs, 'stream', '--topology', source.topologyFile]);
      assert.equal(refused.code, ExitCode.usage, refused.stderr);
      assert.match(refused.stderr, /no cluster base yet/);
      assert.match(refused.stderr, /mongo-pitr run/);
    } finally {
      await fresh.store.close();
    }

    const child = spawnCli(['--json', ...cliArgs, 'stream', '--topology', source.topologyFile, '--flush-interval', '1s']);
    const exited = finished(child);
    const started = new Set<string>();
    const chunked = new Set<string>();
    onJsonLines(child.stderr, (event) => {
      if (event.type === 'stream.start') started.add(String(event.member));
      if (event.type === 'stream.chunk' && Number(event.ops) > 0) chunked.add(String(event.member));
    });
    try {
      await waitFor('every member streaming', async () => started.size === MEMBERS.length, 60_000);
      await source.shard('shard01').client.db('app').collection<Doc>('orders').insertMany([1000, 1001, 1002].map((id) => ({ _id: id, k: id, note: 'streamed' })));
      await source.shard('shard02').client.db('app').collection<Doc>('orders').insertMany([2000, 2001].map((id) => ({ _id: id, k: id, note: 'streamed' })));
      await waitFor('a chunk from each shard', async () => chunked.has('shard01') && chunked.has('shard02'), 60_000);
      // The last write, then SIGTERM at once: the member's stream seals it before exiting.
      await source.shard('shard02').client.db('app').collection<Doc>('orders').insertOne({ _id: 2002, k: 2002, note: 'last' });
    } finally {
      child.kill('SIGTERM');
    }
    const done = await exited;
    assert.equal(done.code, 0, done.stderr);
    const result = lastJson(done.stdout) as { cluster: boolean; members: { name: string; ops: number }[] };
    assert.equal(result.cluster, true);
    assert.deepEqual(result.members.map((member) => member.name).sort(), [...MEMBERS].sort());
    const found = await cli(['find', '--ns', 'app.orders', '--op', 'i', '--from', '0']);
    assert.equal(found.code, 0, found.stderr);
    const members = new Map(found.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: number; member: string }).map((op) => [op.id, op.member]));
    for (const id of [1000, 1001, 1002]) assert.equal(members.get(id), 'shard01', `insert ${id} archived on shard01`);
    for (const id of [2000, 2001, 2002]) assert.equal(members.get(id), 'shard02', `insert ${id} archived on shard02`);
    const verify = await runCli([...cliArgs, 'verify']);
    assert.equal(verify.code, 0, verify.stderr);
  });

  test('run takes a new cluster base when a member chain restarted outside it (a base taken on the member store)', async () => {
    const before = await clusterJson();
    const shard = source.shard('shard01');
    // As a stream that found its chain damaged does: a new base of one member, outside run.
    const backup = await runCli(['--store', join(url, 'members', 'shard01'), 'backup', '--uri', shard.uri]);
    assert.equal(backup.code, 0, backup.stderr);
    const run = await cli(['run', '--topology', source.topologyFile]);
    assert.equal(run.code, 0, run.stderr);
    const result = lastJson(run.stdout) as { baseReason?: string };
    assert.equal(result.baseReason, 'member-restarted', run.stdout);
    const after = await clusterJson();
    assert.equal(after.bases.length, before.bases.length + 1);
    const newestShard01 = (await memberManifest('shard01')).chains.at(-1)?.id;
    assert.equal(after.bases.at(-1)?.members.find((part) => part.name === 'shard01')?.baseId, newestShard01, 'the new cluster base names shard01\'s newest chain');
  });
});
