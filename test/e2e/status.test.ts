// status, list and verify as users run them: what the store holds, what it restores to, how far
// the archive lags the source, and that every object checks out.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

// The backup takes the whole server: a server of this file's own (on FerretDB), so that other
// files' databases, created and dropped while it runs, are neither dumped nor raced with.
describe('status, list and verify', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();

  test('report an empty store, then the chain, its window, checkpoint and lag', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store, cliArgs } = await kind.open();
    const uri = server.mongo().uri;
    const client = server.client();
    try {
      const empty = await runCli([...cliArgs, 'list']);
      assert.equal(empty.code, 0, empty.stderr);
      assert.equal(empty.stdout.trim(), 'no backups in this store yet');

      await client.db(uniqueName('status')).collection('c').insertMany([{ n: 1 }, { n: 2 }]);
      assert.equal((await runCli([...cliArgs, 'backup', '--uri', uri])).code, 0);
      await client.db(uniqueName('status')).collection('c').insertOne({ n: 3 });
      assert.equal((await runCli([...cliArgs, 'oplog', '--uri', uri])).code, 0);

      const status = await runCli(['--json', ...cliArgs, 'status', '--uri', uri]);
      assert.equal(status.code, 0, status.stderr);
      const report = JSON.parse(status.stdout);
      assert.equal(report.chains.length, 1);
      assert.equal(report.chains[0].chunks, 1);
      assert.match(report.chains[0].window, /^\d+:\d+ \(.+\) \.\. \d+:\d+ \(.+\)$/);
      assert.equal(typeof report.lagSeconds, 'number');
      assert.deepEqual(report.pendingBases, []);

      const list = await runCli([...cliArgs, 'list']);
      assert.match(list.stdout, /base \d+ docs, 1 chunks \(\d+ ops\)\s+window /);
      assert.match(list.stdout, /newest checkpoint: \d+:\d+\n/);

      const verify = await runCli([...cliArgs, 'verify']);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout, /^ok: \d+ objects in 1 chain verified/);
    } finally {
      await store.close();
    }
  });
});
