// The Lambda handler in-process, on real servers and both stores, driven by fake Lambda contexts:
// an invocation with no time left does nothing and says so; invocations whose deadline passes in
// the middle of a base dump leave a pending base (never a half-made chain) that later ones
// resume to a complete chain; invocations whose deadline passes in the middle of the oplog leave
// the chunks committed so far, and the next continues from the last of them. Writes go on between
// invocations throughout, and a restore into a renamed database then equals the source document
// by document. Also: a pending base whose T0 rolled out of the oplog is dropped and started over,
// and failures are thrown with their class in the message.
import { assertRestoresBeside, snapshot } from '../support/restore-beside.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import { MongoClient, type Document } from 'mongodb';
import { verifyContinuity } from '../../src/archive/chain-window.ts';
import { pendingBaseOf, type Manifest } from '../../src/archive/manifest.ts';
import { ManifestCommitter, readManifest } from '../../src/backup/commit.ts';
import { takeBase } from '../../src/backup/take-base.ts';
import { handler, type LambdaSummary } from '../../src/lambda/handler.ts';
import { restore } from '../../src/restore/restore.ts';
import { connectSource } from '../../src/source/connect-source.ts';
import { compareTs, formatTs, tsEquals, tsFromBson } from '../../src/timestamp.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS, type StoreKind } from '../support/stores.ts';
import { contextWith, withEnv } from '../support/lambda-invocation.ts';
import { NO_MONGO, testS3, uniqueName } from '../support/test-env.ts';
import { archivedInsertIds } from '../support/chain-reader.ts';

const MARGIN_MS = 100;
const COLLECTIONS = 10;
const DOCS_PER_COLLECTION = 600;
const OPLOG_OPS = 5000;


/** Every chain is whole: each base names every collection of `db`, and the chunks link up. */
function assertConsistent(manifest: Manifest, db: string): void {
  for (const chain of manifest.chains) {
    verifyContinuity(chain);
    const ours = chain.base.collections.filter((entry) => entry.db === db);
    assert.equal(ours.length, COLLECTIONS, 'a chain never names a half-made base');
    assert.ok(chain.base.oplog.key.endsWith('oplog.bson.gz'));
  }
}


const payload = (): string => randomBytes(200).toString('base64');

/**
 * Invokes with short deadlines until an invocation finishes its work, checking after each one.
 * The budget grows by `stepMs`, or jumps to just past how long the last invocation took when
 * that was longer (work a signal cannot cut short shows there), so the
 * deadlines sweep through the work in small steps whatever the machine's speed.
 */
async function untilDone(
  invoke: (budgetMs: number) => Promise<LambdaSummary>,
  budget: { startMs: number; stepMs: number },
  check: (result: LambdaSummary) => Promise<void>,
): Promise<void> {
  let budgetMs = budget.startMs;
  for (let invocations = 1; ; invocations++) {
    const started = Date.now();
    const result = await invoke(budgetMs);
    const tookMs = Date.now() - started;
    await check(result);
    if (!result.stoppedEarly) return;
    assert.ok(invocations < 60, 'the work finishes within 60 invocations');
    // Server calls end at the deadline now (time-limit.ts), so a slow one no longer shows in
    // tookMs: the budget also grows by a tenth each time, to outgrow a query that is slower than
    // it (FerretDB's oplog scans on a loaded machine) within the invocation cap.
    budgetMs = Math.max(budgetMs, tookMs - MARGIN_MS - budget.stepMs) + budget.stepMs + Math.ceil(budgetMs / 10);
  }
}

type Doc = { _id: number; [field: string]: unknown };
const docsOf = (client: MongoClient, db: string, coll: string) => client.db(db).collection<Doc>(coll);

/** The handler's environment for a store of `kind` and an invoker with a budget, logging each result. */
function invokerFor(kind: StoreKind, opened: { url: string; env: NodeJS.ProcessEnv }, mongoUri: string, t: TestContext) {
  const s3 = testS3();
  const lambdaEnv: NodeJS.ProcessEnv = {
    ...opened.env,
    MONGODB_URI: mongoUri,
    MONGO_PITR_STORE: opened.url,
    MONGO_PITR_SAFETY_MARGIN_MS: String(MARGIN_MS),
    MONGO_PITR_CONCURRENCY: '1',
    ...(kind.name === 's3' && s3 ? { MONGO_PITR_S3_ENDPOINT: s3.endpoint, AWS_REGION: s3.region } : {}),
  };
  return async (budgetMs: number, extra: NodeJS.ProcessEnv = {}): Promise<LambdaSummary> => {
    const result = await withEnv({ ...lambdaEnv, ...extra }, () => handler({ 'detail-type': 'Scheduled Event' }, contextWith(budgetMs, MARGIN_MS)));
    t.diagnostic(`budget ${budgetMs} ms: ${String(result.message)}`);
    return result;
  };
}

// The deadline sweep runs on the folder store; the S3 store gets the same handler end to end
// (no time, then enough time, then an oplog run, then a restore): what a deadline stops is the
// backup's work, which is the same whatever the store, and the stores' own behaviour under
// aborts is in store-contract.test.ts.
describe('Lambda handler on the folder store: deadline sweeps', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo();
  const kind = STORE_KINDS[0] as StoreKind;

  test('deadlines mid-dump and mid-oplog stop cleanly; later invocations finish; the restore is exact', async (t) => {
    const [mongo, client] = [server.mongo(), server.client()];
    const opened = await kind.open();
    const { store } = opened;
    const db = uniqueName('lambda');
    const invoke = invokerFor(kind, opened, mongo.uri, t);
    try {
      for (let c = 0; c < COLLECTIONS; c++) {
        const docs = Array.from({ length: DOCS_PER_COLLECTION }, (_, n) => ({ _id: n, c, payload: payload() }));
        await docsOf(client, db, `c${c}`).insertMany(docs);
      }

      // No time at all: nothing is done, and the result says it stopped early.
      const idle = await invoke(-MARGIN_MS);
      assert.equal(idle.stoppedEarly, true);
      assert.equal((await readManifest(store)).manifest.chains.length, 0);

      // Short deadlines until the base is complete; writes go on between invocations. Pieces of
      // about 20 KiB (a collection is about 9 of them, backup/dump-pieces.ts), so a deadline also
      // falls inside collections, which the next invocation resumes after their last piece.
      let midDump = 0;
      let midCollection = 0;
      let round = 0;
      const pieces = { MONGO_PITR_BASE_PIECE_MIB: '0.02' };
      await untilDone((budgetMs) => invoke(budgetMs, pieces), { startMs: 300, stepMs: 150 }, async (result) => {
        const { manifest } = await readManifest(store);
        assertConsistent(manifest, db);
        if (!result.stoppedEarly) return;
        assert.equal(manifest.chains.length, 0, 'a stopped base leaves no chain');
        const pending = manifest.pendingBases?.[0];
        const stored = pending?.collections.filter((entry) => entry.db === db).length ?? 0;
        if (stored > 0 && stored < COLLECTIONS) midDump++;
        const partway = pending?.partial?.filter((part) => part.db === db) ?? [];
        if (partway.length > 0) {
          midCollection++;
          assert.equal((result.pendingBase as { partial?: { pieces: number } } | undefined)?.partial?.pieces, pending?.partial?.reduce((sum, part) => sum + part.pieces.length, 0), 'the summary counts the pieces kept');
        }
        if (pending) assert.equal((result.pendingBase as { collections: number } | undefined)?.collections, pending.collections.length);
        round++;
        await docsOf(client, db, 'c0').updateOne({ _id: round }, { $set: { touched: round } });
        await docsOf(client, db, `c${COLLECTIONS - 1}`).insertOne({ _id: 10_000 + round, c: COLLECTIONS - 1, payload: payload() });
        await docsOf(client, db, `c${Math.floor(COLLECTIONS / 2)}`).deleteOne({ _id: round });
      });
      assert.ok(midDump >= 1, 'at least one invocation stopped with the base partly dumped');
      assert.ok(midCollection >= 1, 'at least one invocation stopped inside a collection and kept its pieces');
      const { manifest: afterBase } = await readManifest(store);
      assert.equal(afterBase.chains.length, 1);
      assert.equal(afterBase.pendingBases, undefined, 'the pending base became the chain');
      const chain = afterBase.chains[0];
      assert.ok(chain);
      // A resumed base keeps what earlier runs stored: objects from more than one run's folder.
      const folders = new Set(chain.base.collections.map((entry) => entry.metadata.key.split('/')[1]));
      assert.ok(folders.size >= 2, 'collections stored by several invocations');
      assert.ok(chain.base.collections.some((entry) => (entry.moreData?.length ?? 0) > 0), 'collections stored in pieces');

      // ~8 MiB of oplog in 1 MiB chunks; short deadlines until it is caught up.
      const ns = `${db}.c1`;
      for (let start = 0; start < OPLOG_OPS; start += 500) {
        await docsOf(client, db, 'c1').insertMany(
          Array.from({ length: 500 }, (_, n) => ({ _id: 100_000 + start + n, c: 1, payload: randomBytes(1500).toString('base64') })),
        );
      }
      let midOplog = 0;
      let checkpoint = formatTs(chain.base.oplog.lastTs);
      let before = 0;
      await untilDone((budgetMs) => invoke(budgetMs, { MONGO_PITR_CHUNK_SIZE_MIB: '1' }), { startMs: 200, stepMs: 250 }, async (result) => {
        const { manifest } = await readManifest(store);
        assertConsistent(manifest, db);
        const current = manifest.chains[0];
        assert.ok(current);
        const added = current.chunks.slice(before);
        before = current.chunks.length;
        if (added[0]) assert.equal(formatTs(added[0].afterTs), checkpoint, 'continues from the last committed chunk');
        checkpoint = formatTs(current.chunks.at(-1)?.lastTs ?? current.base.oplog.lastTs);
        assert.equal(result.checkpoint, checkpoint);
        if (result.stoppedEarly && added.length > 0) midOplog++;
      });
      assert.ok(midOplog >= 1, 'at least one invocation stopped after committing some chunks, not all');
      const ids = await archivedInsertIds(store, ns);
      assert.deepEqual(ids, Array.from({ length: OPLOG_OPS }, (_, n) => 100_000 + n), 'every op exactly once, in order');

      // One last write and an invocation with time to spare, then restore under a new name.
      await docsOf(client, db, 'c2').updateOne({ _id: 7 }, { $set: { last: true } });
      const final = await invoke(60_000);
      assert.equal(final.stoppedEarly, false);
      await assertRestoresBeside({ store, uri: mongo.uri, client, db, collections: COLLECTIONS });
    } finally {
      await store.close();
    }
  });
});

describe('Lambda handler on the S3 store: end to end', { skip: NO_MONGO || STORE_KINDS[1]?.skip }, () => {
  const server = useDedicatedMongo();
  const kind = STORE_KINDS[1] as StoreKind;

  test('no time: nothing done, stopped early; time enough: a base, then an oplog run; the restore is exact', async (t) => {
    const [mongo, client] = [server.mongo(), server.client()];
    const opened = await kind.open();
    const { store } = opened;
    const db = uniqueName('lambda');
    const invoke = invokerFor(kind, opened, mongo.uri, t);
    try {
      for (let c = 0; c < COLLECTIONS; c++) {
        await docsOf(client, db, `c${c}`).insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: n, c, payload: payload() })));
      }
      const idle = await invoke(-MARGIN_MS);
      assert.equal(idle.stoppedEarly, true);
      assert.equal((await readManifest(store)).manifest.chains.length, 0);

      const based = await invoke(120_000);
      assert.equal(based.stoppedEarly, false);
      const { manifest: afterBase } = await readManifest(store);
      assertConsistent(afterBase, db);
      assert.equal(afterBase.chains.length, 1);
      const baseEnd = formatTs(afterBase.chains[0]?.base.oplog.lastTs ?? { t: 0, i: 0 });

      await docsOf(client, db, 'c1').insertMany(Array.from({ length: 300 }, (_, n) => ({ _id: 100_000 + n, c: 1, payload: payload() })));
      await docsOf(client, db, 'c2').updateOne({ _id: 7 }, { $set: { last: true } });
      const archived = await invoke(120_000);
      assert.equal(archived.stoppedEarly, false);
      const { manifest } = await readManifest(store);
      assertConsistent(manifest, db);
      const chain = manifest.chains[0];
      assert.ok(chain && chain.chunks.length >= 1);
      assert.equal(formatTs(chain.chunks[0]?.afterTs ?? { t: 0, i: 0 }), baseEnd, 'the oplog run continues from the base');
      assert.deepEqual(await archivedInsertIds(store, `${db}.c1`), Array.from({ length: 300 }, (_, n) => 100_000 + n));

      const restored = `${db}_r`;
      await restore({ store, targetUri: mongo.uri, namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${restored}.*`] } });
      assert.deepEqual(await snapshot(client, restored), await snapshot(client, db));
    } finally {
      await store.close();
    }
  });
});

describe('Lambda handler: a pending base whose T0 rolled out of the oplog', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo({ oplogBytes: 256 * 1024 });

  test('is dropped and a new base is taken', async (t) => {
    const [mongo, client] = [server.mongo(), server.client()];
    if (!mongo.own) return t.skip('needs a server of its own with a small oplog (FerretDB)');
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store, url } = await kind.open();
    const source = await connectSource(mongo.uri);
    try {
      const db = uniqueName('gap');
      for (let c = 0; c < 4; c++) {
        await docsOf(client, db, `c${c}`).insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: n, c })));
      }
      // A base stopped after its first collection, as a deadline would.
      const controller = new AbortController();
      const committer = await ManifestCommitter.open(store);
      const stopped = await takeBase({ source, store, committer, concurrency: 1, signal: controller.signal, onCollection: () => controller.abort() });
      assert.equal(stopped.stoppedEarly, true);
      const pending = pendingBaseOf(committer.manifest, source.identity);
      assert.ok(pending);
      assert.equal(pending.collections.length, 1);

      // Roll the oplog over past T0.
      const filler = docsOf(client, db, 'filler');
      const deadline = Date.now() + 60_000;
      for (let n = 0; ; n++) {
        await filler.insertMany(Array.from({ length: 200 }, (_, k) => ({ _id: n * 200 + k, payload: payload() })));
        const [oldest] = await client.db('local').collection('oplog.rs').find().sort({ $natural: 1 }).limit(1).toArray();
        if (oldest && compareTs(tsFromBson(oldest.ts), pending.startTs) > 0) break;
        assert.ok(Date.now() < deadline, 'the oplog rolls over');
        if (n % 5 === 4) await sleep(500); // FerretDB trims capped collections on a timer
      }

      const result = await withEnv({ MONGODB_URI: mongo.uri, MONGO_PITR_STORE: url }, () => handler({}, contextWith(120_000, MARGIN_MS)));
      assert.equal(result.stoppedEarly, false);
      assert.equal(result.abandonedBase, pending.id);
      const { manifest } = await readManifest(store);
      assert.equal(manifest.pendingBases, undefined);
      assert.equal(manifest.chains.length, 1);
      const chain = manifest.chains[0];
      assert.ok(chain);
      assert.notEqual(chain.id, pending.id);
      assert.ok(!tsEquals(chain.base.startTs, pending.startTs));
      assert.equal(chain.base.collections.filter((entry) => entry.db === db).length, 5);
    } finally {
      await source.client.close();
      await store.close();
    }
  });
});

describe('Lambda handler: failures', { skip: NO_MONGO }, () => {
  test('are thrown with their class in the message, secrets redacted', async () => {
    await withEnv({ MONGODB_URI: '', MONGO_PITR_STORE: '' }, async () => {
      await assert.rejects(handler({}, contextWith(10_000, MARGIN_MS)), (error: Error) => {
        assert.match(error.message, /^mongo-pitr usage error: MONGODB_URI is not set/);
        return true;
      });
    });
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const { store, url } = await kind.open();
    await store.close();
    const uri = 'mongodb://user:secret@127.0.0.1:1/?replicaSet=rs0&serverSelectionTimeoutMS=200';
    // Time to spare (a margin below the budget): a connection failure, not the deadline, ends it.
    await withEnv({ MONGODB_URI: uri, MONGO_PITR_STORE: url, MONGO_PITR_SAFETY_MARGIN_MS: String(MARGIN_MS) }, async () => {
      await assert.rejects(handler({}, contextWith(10_000, MARGIN_MS)), (error: Error) => {
        assert.match(error.message, /^mongo-pitr source error: /);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      });
    });
  });
});
