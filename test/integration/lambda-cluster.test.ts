// The Lambda handler in-process on a simulated 2-shard cluster (FerretDB members,
// test/support/sim-cluster.ts) and a folder store, configured with MONGO_PITR_TOPOLOGY as inline
// JSON and no MONGODB_URI: the cluster pass runs under the invocation's deadline. Invocations
// whose deadline passes in the middle of the member bases leave a pending cluster base (never a
// recorded one with a member base missing) and every member chain consistent; later ones resume
// it to one cluster base of every member; then each invocation archives every member's new oplog.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseClusterManifest, type ClusterManifest } from '../../src/archive/cluster-manifest.ts';
import { parseManifest } from '../../src/archive/manifest.ts';
import { verifyContinuity } from '../../src/archive/chain-window.ts';
import { handler, type LambdaSummary } from '../../src/lambda/handler.ts';
import { runCli } from '../support/cli.ts';
import { startSimCluster, type SimCluster } from '../support/sim-cluster.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { contextWith, withEnv } from '../support/lambda-invocation.ts';
import { isFerretDB, NO_MONGO, uniqueName } from '../support/test-env.ts';

const BIN = process.env.TEST_FERRETDB_BIN;
const SKIP = NO_MONGO || (!isFerretDB() || !BIN ? 'the simulated cluster is built from FerretDB binaries (TEST_FERRETDB_BIN)' : false);
const SHARDS = ['shard01', 'shard02'];
const MEMBERS = ['config', ...SHARDS];
const MARGIN_MS = 100;

type Doc = { _id: number; pad: string };


describe('the Lambda handler on a sharded cluster (MONGO_PITR_TOPOLOGY, folder store)', { skip: SKIP }, () => {
  let source: SimCluster;
  before(async () => {
    source = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(tmpdir(), 'mongo-pitr-lambda-cluster-')));
  });
  after(async () => source?.stop());

  test('deadlines mid-way through the member bases leave a pending cluster base that later invocations finish; then every member\'s oplog is archived', async (t) => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const opened = await kind.open();
    const url = opened.url;
    // Enough per shard that the bases take several short invocations.
    for (const shard of source.shards) {
      await shard.client.db('app').collection<Doc>('big').insertMany(Array.from({ length: 1500 }, (_, n) => ({ _id: n, pad: 'x'.repeat(200) })));
    }
    const topology = await readFile(source.topologyFile, 'utf8');
    const env = { MONGODB_URI: '', MONGO_PITR_TOPOLOGY: topology, MONGO_PITR_STORE: url, MONGO_PITR_SAFETY_MARGIN_MS: String(MARGIN_MS) };
    /** The handler's log lines (NDJSON on stderr) of every invocation so far. */
    const logged: Record<string, unknown>[] = [];
    const invoke = async (budgetMs: number): Promise<LambdaSummary> => {
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        for (const line of String(chunk).split('\n')) if (line.startsWith('{')) logged.push(JSON.parse(line) as Record<string, unknown>);
        return (write as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof process.stderr.write;
      try {
        const result = await withEnv(env, () => handler({ 'detail-type': 'Scheduled Event' }, contextWith(budgetMs, MARGIN_MS)));
        t.diagnostic(`budget ${budgetMs} ms: ${String(result.message)}`);
        return result;
      } finally {
        process.stderr.write = write;
      }
    };
    const memberEvents = (type: string) => logged.filter((event) => event.type === type).map((event) => String(event.member));
    const clusterJson = async (): Promise<ClusterManifest | undefined> => {
      const bytes = await readFile(join(url, 'cluster.json')).catch(() => undefined);
      return bytes && parseClusterManifest(bytes);
    };
    try {
      let stopped = 0;
      let budgetMs = 200;
      for (let invocation = 1; ; invocation++) {
        assert.ok(invocation <= 40, 'the cluster base is finished within 40 invocations');
        const result = await invoke(budgetMs);
        // On a loaded machine a 200 ms budget can run out while the store is checked, before the
        // cluster pass starts: the handler then says so and records nothing, which is right too.
        const reachedPass = result.cluster === true;
        assert.ok(reachedPass || (result.stoppedEarly === true && /^stopped early/.test(String(result.message))), `the cluster pass ran, or the invocation stopped before it: ${String(result.message)}`);
        // After each invocation: every member store holds only whole chains, and cluster.json
        // records a cluster base only with a base of every member.
        for (const name of await readdir(join(url, 'members')).catch(() => [])) {
          const bytes = await readFile(join(url, 'members', name, 'manifest.json')).catch(() => undefined);
          if (bytes) for (const chain of parseManifest(bytes).chains) verifyContinuity(chain);
        }
        const manifest = await clusterJson();
        for (const base of manifest?.bases ?? []) assert.deepEqual(base.members.map((member) => member.name).sort(), [...MEMBERS].sort());
        if (!result.stoppedEarly) break;
        if (reachedPass) stopped++;
        assert.equal(manifest?.bases.length ?? 0, 0, 'no cluster base recorded while stopped early');
        budgetMs += 300;
      }
      assert.ok(stopped > 0, 'at least one invocation ran out of time (the deadline reached the cluster pass)');
      const done = await clusterJson();
      assert.equal(done?.bases.length, 1);
      assert.equal(done?.pendingBase, undefined);
      // Each member's base in the log as it started and as it was finished (by the cluster base or
      // by the member's own pass resuming it), whichever invocation did it: the receipts of
      // invocations cut off midway are in the log, the summary comes only at the end.
      for (const part of done?.bases[0]?.members ?? []) {
        assert.ok(memberEvents('lambda.member.base').includes(part.name), `${part.name}'s base started in the log`);
        const finished = logged.filter((event) => event.member === part.name && /^lambda\.member\.(base-taken|pass-done)$/.test(String(event.type)) && String(event.message).includes(part.baseId));
        assert.ok(finished.length > 0, `${part.name}'s base ${part.baseId} finished in the log: ${JSON.stringify(logged.filter((event) => event.member === part.name))}`);
      }

      // Next: new writes on both shards are archived by the next invocation onto each member chain.
      for (const [index, shard] of source.shards.entries()) await shard.client.db('app').collection<Doc>('big').insertOne({ _id: 10_000 + index, pad: 'new' });
      logged.length = 0;
      const next = await invoke(60_000);
      assert.equal(next.stoppedEarly, false, String(next.message));
      // The receipt per member: each member's own pass, the new write on each shard archived.
      const receipts = next.members as { name: string; oplog?: { oplog?: { ops: number } } }[];
      assert.deepEqual(receipts.map((member) => member.name).sort(), [...MEMBERS].sort());
      for (const name of SHARDS) assert.ok((receipts.find((member) => member.name === name)?.oplog?.oplog?.ops ?? 0) >= 1, `${name}'s receipt counts its new write: ${JSON.stringify(receipts)}`);
      assert.deepEqual(memberEvents('lambda.member.pass-done').sort(), [...MEMBERS].sort(), 'a log line per member as its pass ends');
      const found = await runCli(['--json', '--store', url, 'find', '--ns', 'app.big', '--op', 'i', '--id', '10000']);
      assert.equal(found.code, 0, found.stderr);
      assert.equal((JSON.parse(found.stdout.trim()) as { member: string }).member, 'shard01');
      const verify = await runCli(['--store', url, 'verify']);
      assert.equal(verify.code, 0, verify.stderr);
    } finally {
      await opened.store.close();
    }
  });
});
