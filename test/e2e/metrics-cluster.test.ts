// `mongo-pitr stream --topology … --metrics-addr`: one process tails every member of a simulated
// 2-shard cluster (FerretDB members, test/support/sim-cluster.ts) and its Prometheus endpoint is
// scraped while it runs. Each member has the replica-set stream's series (metrics.test.ts),
// labelled by member and role besides its set name, and they agree with that member's manifest;
// the cluster's window (start and end) agrees with what `status` computes from the store. The
// same endpoint for a cluster `run` while its pass runs, closed as it exits.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sealOf } from '../../src/archive/chain-window.ts';
import { chainChunkCount, parseManifest, type Chain } from '../../src/archive/manifest.ts';
import { finished, runCli, spawnCli } from '../support/cli.ts';
import { scrapeSamples } from '../support/metrics-scrape.ts';
import { markCutoff, passCutoff } from '../support/cluster-workload.ts';
import { startSimCluster, type SimCluster } from '../support/sim-cluster.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { isFerretDB, NO_MONGO } from '../support/test-env.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../support/wait-for.ts';
import { freePort } from '../servers/process-server.ts';

const BIN = process.env.TEST_FERRETDB_BIN;
const SKIP = NO_MONGO || (!isFerretDB() || !BIN ? 'the simulated cluster is built from FerretDB binaries (TEST_FERRETDB_BIN)' : false);
const SHARDS = ['shard01', 'shard02'];

/** "secs:ordinal" as status --json gives a time: the seconds. */
const secondsOf = (formatted: string): number => Number(formatted.split(':')[0]);

const scrape = (url: string): Promise<Map<string, number> | undefined> => scrapeSamples(url, 5000);

/** The key a member's series has: its labels in name order. */
function memberKey(name: string, member: { name: string; role: string; setName: string }): string {
  return `${name}{member="${member.name}",role="${member.role}",set_name="${member.setName}"}`;
}

function sample(samples: Map<string, number>, key: string): number {
  const value = samples.get(key);
  assert.ok(value !== undefined, `${key} is exposed (got ${[...samples.keys()].filter((k) => k.startsWith('mongo_pitr_') && !k.includes('process') && !k.includes('nodejs')).join(', ')})`);
  return value;
}

describe('mongo-pitr stream and run --topology --metrics-addr', { skip: SKIP }, () => {
  let source: SimCluster;
  let url: string;
  let cliArgs: string[];
  let close: () => Promise<void> = async () => {};
  before(async () => {
    source = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(tmpdir(), 'mongo-pitr-metrics-cluster-')));
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const opened = await kind.open();
    url = opened.url;
    cliArgs = opened.cliArgs;
    close = () => opened.store.close();
  });
  after(async () => {
    await close();
    await source?.stop();
  });

  const members = () => [
    { name: 'config', role: 'config', setName: source.config.setName },
    ...source.shards.map((shard) => ({ name: shard.name, role: 'shard', setName: shard.setName })),
  ];
  const chainOf = async (name: string): Promise<Chain> => {
    const chain = parseManifest(await readFile(join(url, 'members', name, 'manifest.json'))).chains.at(-1);
    assert.ok(chain, `${name} has a chain`);
    return chain;
  };

  test('every member\'s series, labelled by member and role, match its manifest; the cluster window matches status', async () => {
    for (const shard of source.shards) await shard.client.db('app').collection<{ _id: number }>('orders').insertMany([{ _id: 1 }, { _id: 2 }]);
    const run = await runCli([...cliArgs, 'run', '--topology', source.topologyFile]);
    assert.equal(run.code, 0, run.stderr);
    const before = new Map(await Promise.all(members().map(async (member) => [member.name, (await chainOf(member.name)).chunks.length] as const)));

    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}/metrics`;
    const child = spawnCli(['--json', ...cliArgs, 'stream', '--topology', source.topologyFile, '--flush-interval', '1s', '--metrics-addr', `127.0.0.1:${port}`]);
    const exited = finished(child);
    try {
      // Every member's series from start-up, primed from its manifest: healthy, nothing written yet.
      let samples = new Map<string, number>();
      await waitFor('every member\'s series', async () => {
        samples = (await scrape(endpoint)) ?? new Map<string, number>();
        return members().every((member) => samples.has(memberKey('mongo_pitr_chain_healthy', member)));
      }, 60_000);
      for (const member of members()) {
        assert.equal(sample(samples, memberKey('mongo_pitr_chain_healthy', member)), 1, member.name);
        assert.equal(sample(samples, memberKey('mongo_pitr_chunks_written_total', member)), 0, member.name);
      }
      assert.equal(samples.has('mongo_pitr_chain_healthy{set_name=""}'), false, 'no series for a source named nowhere');

      // Writes on both shards, then every member's oplog moved past a cutoff (the config servers
      // too), so every member archives a chunk and the cluster window moves.
      for (const [n, shard] of source.shards.entries()) await shard.client.db('app').collection<{ _id: number }>('orders').insertMany(Array.from({ length: 20 }, (_, k) => ({ _id: 100 * (n + 1) + k })));
      const cutoff = await markCutoff(source);
      await passCutoff(source, cutoff);
      await waitFor('a chunk of every member past the cutoff', async () => {
        const chains = await Promise.all(members().map((member) => chainOf(member.name)));
        return chains.every((chain) => (chain.chunks.at(-1)?.lastTs.t ?? 0) >= cutoff.t);
      }, 60_000);

      // The scrape after the same commits as the manifests (the counters move after the commit),
      // and after the cluster window was read again (it follows each chunk).
      let status: { baseId: string; from: string; to: string } | undefined;
      const windowKey = (edge: 'start' | 'end') => `mongo_pitr_cluster_window_${edge}_timestamp_seconds{cluster_base="${status?.baseId ?? ''}"}`;
      await waitFor('the scrape to agree with every manifest and with status', async () => {
        samples = (await scrape(endpoint)) ?? new Map<string, number>();
        for (const member of members()) {
          const chain = await chainOf(member.name);
          if (samples.get(memberKey('mongo_pitr_chunks_written_total', member)) !== chain.chunks.length - (before.get(member.name) ?? 0)) return false;
        }
        const report = await runCli(['--json', ...cliArgs, 'status']);
        status = (JSON.parse(report.stdout.trim().split('\n').at(-1) ?? '{}') as { cluster?: { windows: { baseId: string; from: string; to: string }[] } }).cluster?.windows.at(-1);
        return status !== undefined && samples.get(windowKey('end')) === secondsOf(status.to);
      }, 30_000);
      assert.ok(status);
      assert.equal(sample(samples, windowKey('start')), secondsOf(status.from));
      assert.ok(sample(samples, windowKey('end')) >= cutoff.t - 1, 'the cluster window reaches the cutoff every member passed');

      for (const member of members()) {
        const chain = await chainOf(member.name);
        const streamed = chain.chunks.slice(before.get(member.name) ?? 0);
        const last = chain.chunks.at(-1);
        assert.ok(last && streamed.length > 0, `${member.name} streamed a chunk`);
        assert.equal(sample(samples, memberKey('mongo_pitr_oplog_entries_archived_total', member)), streamed.reduce((sum, chunk) => sum + chunk.count, 0), member.name);
        assert.equal(sample(samples, memberKey('mongo_pitr_bytes_written_total', member)), streamed.reduce((sum, chunk) => sum + chunk.storedBytes, 0), member.name);
        assert.equal(sample(samples, memberKey('mongo_pitr_newest_archived_op_timestamp_seconds', member)), last.lastTs.t, member.name);
        assert.equal(sample(samples, memberKey('mongo_pitr_restorable_window_start_timestamp_seconds', member)), chain.base.oplog.lastTs.t, member.name);
        assert.equal(sample(samples, memberKey('mongo_pitr_restorable_window_end_timestamp_seconds', member)), sealOf(chain).ts.t, member.name);
        assert.equal(sample(samples, memberKey('mongo_pitr_chain_healthy', member)), 1, member.name);
      }
      assert.ok(sample(samples, 'mongo_pitr_process_resident_memory_bytes') > 0, 'the process metrics come along');

      child.kill('SIGTERM');
      const result = await exited;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /"type":"metrics.listen".*127\.0\.0\.1/);
      assert.equal(await scrape(endpoint), undefined, 'the endpoint closes with the stream');
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('a cluster run serves every member\'s series and the cluster window while it runs; nothing listens after it exits', async () => {
    // A cluster base to extend (the test above leaves one; this one does not rely on it).
    for (const shard of source.shards) await shard.client.db('app').collection<{ _id: string }>('orders').insertOne({ _id: 'before-run' });
    const first = await runCli([...cliArgs, 'run', '--topology', source.topologyFile]);
    assert.equal(first.code, 0, first.stderr);
    const before = new Map(await Promise.all(members().map(async (member) => [member.name, await chainOf(member.name)] as const)));
    // Some 4 MB of oplog on each shard: at --chunk-size 1 (MiB) each shard's pass commits several
    // chunks one at a time, which keeps the pass running long enough to be scraped more than once.
    for (const shard of source.shards) {
      const docs = shard.client.db('app').collection<{ _id: string; payload: string }>('bulk');
      for (let n = 0; n < 4; n++) await docs.insertMany(Array.from({ length: 10 }, (_, k) => ({ _id: `${n}-${k}`, payload: 'x'.repeat(100_000) })));
    }

    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}/metrics`;
    const child = spawnCli(['--json', ...cliArgs, 'run', '--topology', source.topologyFile, '--chunk-size', '1', '--no-compact', '--metrics-addr', `127.0.0.1:${port}`]);
    const exit = finished(child);
    let exited = false;
    void exit.then(() => (exited = true));
    const scrapes: Map<string, number>[] = [];
    try {
      while (!exited) {
        const samples = await scrape(endpoint);
        if (samples && !exited) scrapes.push(samples);
        await sleep(20);
      }
      const result = await exit;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /"type":"metrics.listen".*127\.0\.0\.1/);
      // At exit the endpoint is gone at once: nothing waits for a last scrape.
      assert.equal(await scrape(endpoint), undefined, 'nothing listens once the cluster run has exited');
    } finally {
      child.kill('SIGKILL');
    }

    // While it ran: every member's series, labelled by member and role, primed from its manifest.
    assert.ok(scrapes.length > 0, 'scraped while the pass ran');
    const primed = scrapes.filter((samples) => members().every((member) => samples.get(memberKey('mongo_pitr_chain_healthy', member)) === 1));
    assert.ok(primed.length > 0, `every member's series, healthy, while it ran (${scrapes.length} scrapes)`);
    assert.equal(scrapes.some((samples) => samples.has('mongo_pitr_chain_healthy{set_name=""}')), false, 'no series for a source named nowhere');
    for (const member of members()) {
      const chain = await chainOf(member.name);
      const was = before.get(member.name);
      assert.ok(was);
      const written = chainChunkCount(chain) - (chain.id === was.id ? chainChunkCount(was) : 0);
      const counts = scrapes.flatMap((samples) => samples.get(memberKey('mongo_pitr_chunks_written_total', member)) ?? []);
      assert.deepEqual(counts, [...counts].sort((x, y) => x - y), `${member.name}: chunks written only grows`);
      assert.ok(counts.every((count) => count <= written), `${member.name}: ${counts.join(',')} ≤ ${written}`);
      // Primed as the member connected: the window of the chain the pass extends.
      assert.equal(primed[0]?.get(memberKey('mongo_pitr_restorable_window_start_timestamp_seconds', member)), was.base.oplog.lastTs.t, member.name);
    }
    const shardCounts = scrapes.map((samples) => source.shards.reduce((sum, shard) => sum + (samples.get(memberKey('mongo_pitr_chunks_written_total', { name: shard.name, role: 'shard', setName: shard.setName })) ?? 0), 0));
    assert.ok(shardCounts.some((count) => count > 0), `a scrape saw the shards' chunks counted: ${shardCounts.join(',')}`);

    // The cluster window, as status computes it from the store, labelled by its cluster base.
    const report = await runCli(['--json', ...cliArgs, 'status']);
    const status = (JSON.parse(report.stdout.trim().split('\n').at(-1) ?? '{}') as { cluster?: { windows: { baseId: string; from: string; to: string }[] } }).cluster?.windows.at(-1);
    assert.ok(status, 'status shows a cluster window');
    const startKey = `mongo_pitr_cluster_window_start_timestamp_seconds{cluster_base="${status.baseId}"}`;
    const endKey = `mongo_pitr_cluster_window_end_timestamp_seconds{cluster_base="${status.baseId}"}`;
    const withWindow = scrapes.filter((samples) => samples.has(startKey));
    assert.ok(withWindow.length > 0, 'the cluster window gauges while it ran');
    assert.ok(withWindow.every((samples) => samples.get(startKey) === secondsOf(status.from)), 'the window starts where status says');
    const ends = withWindow.flatMap((samples) => samples.get(endKey) ?? []);
    assert.ok(ends.every((end) => end <= secondsOf(status.to)), `the window end never past status's: ${ends.join(',')} ≤ ${secondsOf(status.to)}`);
  });
});
