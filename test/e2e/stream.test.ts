// `mongo-pitr stream` as users run it: a child process tailing a dedicated server's oplog into a
// folder store. Writes made while it runs are archived in chunks as they come (sealed by the
// flush interval, or by the size limit for a burst); SIGTERM right after the last writes makes it
// seal what it has, catch up, and exit 0; and the chain then holds every op exactly once, in order.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { readManifest } from '../../src/backup/commit.ts';
import { finished, runCli, spawnCli } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';
import { archivedInsertIds } from '../support/chain-reader.ts';
import { waitFor } from '../support/wait-for.ts';

const MiB = 1024 * 1024;

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, n) => from + n);

describe('mongo-pitr stream (folder store)', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();

  test('archives writes in chunks as they come; SIGTERM seals, catches up and exits 0', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store, cliArgs, env } = await kind.open();
    try {
      const db = uniqueName('stream');
      const ns = `${db}.docs`;
      const docs = server.client().db(db).collection<{ _id: number; payload?: string }>('docs');
      await docs.insertOne({ _id: -1 });
      const base = await runCli([...cliArgs, 'backup', '--uri', server.mongo().uri], env);
      assert.equal(base.code, 0, base.stderr);

      const child = spawnCli([...cliArgs, '--json', 'stream', '--uri', server.mongo().uri, '--flush-interval', '1s', '--chunk-size', '1'], env);
      const exited = finished(child);
      const chunkCount = async (): Promise<number> => (await readManifest(store)).manifest.chains[0]?.chunks.length ?? 0;
      const archived = async (id: number): Promise<boolean> => (await archivedInsertIds(store, ns)).includes(id);

      // Two trickles of writes, each sealed by the flush interval into a chunk of its own.
      await docs.insertMany(range(0, 50).map((_id) => ({ _id })));
      await waitFor('the first trickle archived', () => archived(49));
      const afterFirst = await chunkCount();
      assert.ok(afterFirst >= 1);
      for (const _id of range(50, 50)) await docs.insertOne({ _id });
      await waitFor('the second trickle archived', () => archived(99));
      assert.ok((await chunkCount()) > afterFirst, 'a later chunk for later writes');

      // A burst of ~3 MiB in one insert command: chunks sealed by the 1 MiB size limit, not by
      // the clock (written in three commands, a loaded machine could spread them past the 1 s
      // flush interval and seal only small chunks).
      const burst = range(100, 1500);
      await docs.insertMany(burst.map((_id) => ({ _id, payload: randomBytes(1500).toString('base64') })));
      await waitFor('the burst archived', () => archived(1599));
      const { manifest } = await readManifest(store);
      const full = manifest.chains[0]?.chunks.filter((chunk) => chunk.rawBytes > 0.8 * MiB && chunk.rawBytes <= MiB) ?? [];
      assert.ok(full.length >= 1, 'at least one chunk sealed by the size limit');

      // The last writes, then SIGTERM at once: the stream must not exit before they are archived.
      for (const _id of range(1600, 20)) await docs.insertOne({ _id });
      child.kill('SIGTERM');
      const result = await exited;
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { type: string; chunks: number; ops: number };
      assert.equal(summary.type, 'stream');
      assert.ok(summary.chunks >= 4 && summary.ops >= 1620, `summary ${JSON.stringify(summary)}`);
      assert.match(result.stderr, /"type":"stream.chunk"/, 'a progress event per chunk');

      // Every op exactly once, in order: the base's consistency oplog starts at T0 (the insert of -1).
      assert.deepEqual(await archivedInsertIds(store, ns), [-1, ...range(0, 1620)]);
    } finally {
      await store.close();
    }
  });
});
