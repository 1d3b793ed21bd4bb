// SIGKILL in the middle of a collection dumped in pieces (src/backup/dump-pieces.ts): every piece
// sealed before the kill stays committed in the pending base, and the next pass (`run`) resumes the
// collection after the last of them instead of from its first document. The finished base holds
// every document once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { dataObjectsOf, type PartialCollection } from '../../src/archive/manifest.ts';
import { readManifest } from '../../src/backup/commit.ts';
import { finished, runCli, spawnCli } from '../support/cli.ts';
import { readObjectDocuments } from '../support/chain-reader.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';
import { waitFor } from '../support/wait-for.ts';

/** 3,000 documents of ~800 bytes in pieces of ~100 KiB: about 24 pieces. */
const DOCS = 3000;
const PIECE_MIB = '0.1';
const PIECES_BEFORE_KILL = 3;

describe('SIGKILL while a collection is dumped in pieces (folder store)', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();
  const db = uniqueName('killpieces');
  before(async () => {
    const coll = server.client().db(db).collection<{ _id: number; payload: string }>('big');
    for (let start = 0; start < DOCS; start += 1000) {
      await coll.insertMany(Array.from({ length: 1000 }, (_, n) => ({ _id: start + n, payload: randomBytes(600).toString('base64') })));
    }
  });

  test('the sealed pieces survive the kill and the next backup continues after them', async () => {
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store, cliArgs, env } = await kind.open();
    try {
      const args = [...cliArgs, 'backup', '--uri', server.mongo().uri, '--concurrency', '1', '--piece-size', PIECE_MIB];
      const child = spawnCli(args, env);
      const exited = finished(child);
      let partial: PartialCollection | undefined;
      await waitFor(`${PIECES_BEFORE_KILL} pieces committed`, async () => {
        const { manifest } = await readManifest(store).catch(() => ({ manifest: undefined }));
        partial = manifest?.pendingBases?.[0]?.partial?.find((part) => part.db === db);
        return (partial?.pieces.length ?? 0) >= PIECES_BEFORE_KILL;
      });
      child.kill('SIGKILL');
      assert.equal((await exited).signal, 'SIGKILL');

      const { manifest: afterKill } = await readManifest(store);
      assert.equal(afterKill.chains.length, 0, 'no chain names a half-made base');
      const pending = afterKill.pendingBases?.[0];
      const kept = pending?.partial?.find((part) => part.db === db);
      assert.ok(pending && kept && partial);
      assert.ok(kept.pieces.length >= partial.pieces.length, 'every piece committed before the kill is still recorded');
      assert.ok(kept.docs < DOCS, 'the kill fell inside the collection');

      // A scheduled `run` resumes it, with the same piece size (run takes --piece-size too).
      const resumed = await runCli([...cliArgs, 'run', '--uri', server.mongo().uri, '--piece-size', PIECE_MIB], env);
      assert.equal(resumed.code, 0, resumed.stderr);
      const { manifest } = await readManifest(store);
      const chain = manifest.chains[0];
      assert.equal(chain?.id, pending.id, 'the pending base was resumed, not started over');
      const big = chain?.base.collections.find((entry) => entry.db === db && entry.coll === 'big');
      assert.ok(big);
      const keys = dataObjectsOf(big).map((object) => object.key);
      assert.deepEqual(keys.slice(0, kept.pieces.length), kept.pieces.map((piece) => piece.key), 'the collection goes on after the kept pieces, not from its first document');
      assert.ok(keys.length > kept.pieces.length + 1, `run cut the rest in ${PIECE_MIB} MiB pieces too (${keys.length} pieces)`);
      const ids: number[] = [];
      for (const key of keys) for (const doc of await readObjectDocuments(store, key)) ids.push(doc._id as number);
      assert.equal(big.docs, DOCS);
      assert.deepEqual(ids, Array.from({ length: DOCS }, (_, n) => n), 'every document once, in _id order');
    } finally {
      await store.close();
    }
  });
});
