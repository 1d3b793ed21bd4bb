// `mongo-pitr stream --metrics-addr`: the Prometheus endpoint scraped while a stream runs into
// the S3 store on MinIO. After writes are archived, the scraped values agree with the manifest
// the stream wrote: the newest archived op, the lag recorded on the last chunk, the chunks,
// entries and bytes this process wrote, the restorable window's start (the base's T1) and end
// (the last chunk's seal), and a healthy chain. Without the flag nothing listens.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sealOf } from '../../src/archive/chain-window.ts';
import { readManifest } from '../../src/backup/commit.ts';
import { finished, runCli, spawnCli } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, NO_S3, uniqueName } from '../support/test-env.ts';
import { waitFor } from '../support/wait-for.ts';
import { freePort } from '../servers/process-server.ts';
import { parseSamples } from '../support/metrics-scrape.ts';

/** The samples of one scrape (metrics-scrape.ts), asserting it answered as Prometheus expects. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseSamples(await response.text());
}

function sample(samples: Map<string, number>, name: string): number {
  const value = samples.get(name);
  assert.ok(value !== undefined, `${name} is exposed (got ${[...samples.keys()].filter((key) => key.startsWith('mongo_pitr_') && !key.includes('process') && !key.includes('nodejs')).join(', ')})`);
  return value;
}

describe('mongo-pitr stream --metrics-addr', { skip: NO_MONGO || NO_S3 }, () => {
  const server = useDedicatedMongo();

  test('the scraped values match what the stream archived', async () => {
    const kind = STORE_KINDS.find((candidate) => candidate.name === 's3');
    assert.ok(kind);
    const { store, cliArgs, env } = await kind.open();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    const child = { current: undefined as ReturnType<typeof spawnCli> | undefined };
    try {
      const db = uniqueName('metrics');
      const docs = server.client().db(db).collection<{ _id: number }>('docs');
      await docs.insertOne({ _id: -1 });
      const base = await runCli([...cliArgs, 'backup', '--uri', server.mongo().uri], env);
      assert.equal(base.code, 0, base.stderr);
      const setName = (await readManifest(store)).manifest.chains[0]?.source.setName;
      assert.ok(setName);
      const label = `{set_name="${setName}"}`;

      child.current = spawnCli([...cliArgs, '--json', 'stream', '--uri', server.mongo().uri, '--flush-interval', '1s', '--metrics-addr', `127.0.0.1:${port}`], env);
      const exited = finished(child.current);
      // Listening before anything is archived (from start-up; the source's series once it is
      // connected): the window from the manifest, nothing written yet.
      let before = new Map<string, number>();
      await waitFor('the metrics endpoint with the source\'s series', async () => {
        before = (await scrape(url).catch(() => undefined)) ?? new Map<string, number>();
        return before.has(`mongo_pitr_chain_healthy${label}`);
      }, 60_000);
      assert.equal(sample(before, `mongo_pitr_chunks_written_total${label}`), 0);
      assert.equal(sample(before, `mongo_pitr_chain_healthy${label}`), 1);

      await docs.insertMany(Array.from({ length: 200 }, (_, n) => ({ _id: n })));
      await waitFor('a first chunk archived', async () => ((await readManifest(store)).manifest.chains[0]?.chunks.length ?? 0) >= 1);
      await docs.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: 1000 + n })));
      // Every write archived (a 1 s flush can split a batch across chunks), in two chunks or more.
      await waitFor('every write archived', async () => {
        const chunks = (await readManifest(store)).manifest.chains[0]?.chunks ?? [];
        return chunks.length >= 2 && chunks.reduce((sum, chunk) => sum + chunk.count, 0) >= 250;
      });

      // The scrape and the manifest after the same commits (the counters move after the commit).
      const chain = (await readManifest(store)).manifest.chains[0];
      assert.ok(chain);
      let samples = await scrape(url);
      await waitFor('the scrape to show every committed chunk', async () => {
        samples = await scrape(url);
        return samples.get(`mongo_pitr_chunks_written_total${label}`) === chain.chunks.length;
      }, 10_000);
      const last = chain.chunks.at(-1);
      assert.ok(last);
      assert.equal(sample(samples, `mongo_pitr_newest_archived_op_timestamp_seconds${label}`), last.lastTs.t);
      assert.equal(sample(samples, `mongo_pitr_oplog_entries_archived_total${label}`), chain.chunks.reduce((sum, chunk) => sum + chunk.count, 0));
      assert.equal(sample(samples, `mongo_pitr_bytes_written_total${label}`), chain.chunks.reduce((sum, chunk) => sum + chunk.storedBytes, 0));
      assert.ok(sample(samples, `mongo_pitr_oplog_entries_archived_total${label}`) >= 250);
      assert.equal(sample(samples, `mongo_pitr_lag_seconds${label}`), (last.lagMs ?? Number.NaN) / 1000);
      assert.equal(sample(samples, `mongo_pitr_restorable_window_start_timestamp_seconds${label}`), chain.base.oplog.lastTs.t);
      assert.equal(sample(samples, `mongo_pitr_restorable_window_end_timestamp_seconds${label}`), sealOf(chain).ts.t);
      assert.equal(sample(samples, `mongo_pitr_chain_healthy${label}`), 1);
      // The standard client's process metrics come along.
      assert.ok(sample(samples, 'mongo_pitr_process_resident_memory_bytes') > 0);

      child.current.kill('SIGTERM');
      const result = await exited;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /"type":"metrics.listen".*127\.0\.0\.1/);
      await assert.rejects(scrape(url), 'the endpoint closes with the stream');
    } finally {
      child.current?.kill('SIGKILL');
      await store.close();
    }
  });
});
