// `mongo-pitr run --metrics-addr`, the one-shot pass a scheduler calls, into the S3 store on
// MinIO: what its Prometheus endpoint exposes while the pass runs, and what becomes of it when
// the pass ends. What run does today (src/cli/metrics.ts, src/cli/commands/run.ts): the endpoint
// listens from start-up; once connected it carries the source's series primed from the manifest
// (the window of the chain the pass extends, a healthy chain, counters at 0); each committed
// chunk moves the counters; at the end the gauges are set from the manifest the pass left, and
// the endpoint closes as the process exits, without waiting to be scraped. So a scrape sees
// the pass in progress only if it lands while the pass runs; a pass shorter than the scrape
// interval is usually never seen (the README says so; push the result instead, or use stream).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readManifest } from '../../src/backup/commit.ts';
import { finished, runCli, spawnCli } from '../support/cli.ts';
import { scrapeSamples } from '../support/metrics-scrape.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, NO_S3, uniqueName } from '../support/test-env.ts';
import { freePort } from '../servers/process-server.ts';

const scrape = (url: string): Promise<Map<string, number> | undefined> => scrapeSamples(url, 2000);

describe('mongo-pitr run --metrics-addr', { skip: NO_MONGO || NO_S3 }, () => {
  const server = useDedicatedMongo();

  test('exposes the pass while it runs (source series, counters moving chunk by chunk) and closes at exit without waiting for a scrape', async () => {
    const kind = STORE_KINDS.find((candidate) => candidate.name === 's3');
    assert.ok(kind);
    const { store, cliArgs, env } = await kind.open();
    try {
      const db = uniqueName('metrics_run');
      const docs = server.client().db(db).collection<{ _id: number; payload: string }>('docs');
      await docs.insertOne({ _id: -1, payload: '' });
      const base = await runCli([...cliArgs, 'backup', '--uri', server.mongo().uri], env);
      assert.equal(base.code, 0, base.stderr);
      const before = (await readManifest(store)).manifest.chains[0];
      assert.ok(before);
      // About 24 MiB of oplog: at --chunk-size 1 (MiB) the pass commits some 20 chunks, one at a
      // time, which keeps it running long enough to be scraped more than once.
      for (let n = 0; n < 8; n++) await docs.insertMany(Array.from({ length: 30 }, (_, k) => ({ _id: n * 30 + k, payload: 'x'.repeat(100_000) })));

      const port = await freePort();
      const url = `http://127.0.0.1:${port}/metrics`;
      const label = `{set_name="${before.source.setName}"}`;
      const child = spawnCli([...cliArgs, '--json', 'run', '--uri', server.mongo().uri, '--chunk-size', '1', '--no-compact', '--metrics-addr', `127.0.0.1:${port}`], env);
      const exit = finished(child);
      let exited = false;
      void exit.then(() => (exited = true));
      const scrapes: Map<string, number>[] = [];
      while (!exited) {
        const samples = await scrape(url);
        if (samples && !exited) scrapes.push(samples);
        await sleep(20);
      }
      const result = await exit;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /"type":"metrics.listen".*127\.0\.0\.1/);

      const chain = (await readManifest(store)).manifest.chains.find((candidate) => candidate.id === before.id);
      assert.ok(chain);
      const written = chain.chunks.length;
      assert.ok(written >= 10, `the pass committed ${written} chunks`);

      // While it ran: the endpoint answered, and once connected carried the source's series.
      assert.ok(scrapes.length > 0, 'scraped while the pass ran');
      const withSource = scrapes.filter((samples) => samples.has(`mongo_pitr_chunks_written_total${label}`));
      assert.ok(withSource.length > 0, `the source's series while it ran (${scrapes.length} scrapes)`);
      // Primed from the manifest a moment after the source is known (attach reads it): the
      // window of the chain the pass extends, and a healthy chain.
      const primed = withSource.find((samples) => samples.has(`mongo_pitr_restorable_window_start_timestamp_seconds${label}`));
      assert.ok(primed, 'the window gauges while it ran');
      assert.equal(primed.get(`mongo_pitr_restorable_window_start_timestamp_seconds${label}`), before.base.oplog.lastTs.t);
      assert.equal(primed.get(`mongo_pitr_chain_healthy${label}`), 1);
      // The counters move with each commit and never past what the pass wrote.
      const chunks = withSource.map((samples) => samples.get(`mongo_pitr_chunks_written_total${label}`) ?? Number.NaN);
      assert.deepEqual(chunks, [...chunks].sort((a, b) => a - b), 'chunks written only grows');
      assert.ok(chunks.every((count) => count <= written), `${chunks.join(',')} ≤ ${written}`);
      assert.ok(chunks.some((count) => count > 0 && count < written), `a scrape saw the pass part-way: ${chunks.join(',')}`);

      // At exit the endpoint is gone at once: nothing waits for a last scrape.
      assert.equal(await scrape(url), undefined, 'nothing listens once run has exited');
    } finally {
      await store.close();
    }
  });
});
