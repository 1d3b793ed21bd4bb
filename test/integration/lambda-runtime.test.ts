// The built function (dist/lambda/handler.js) under the real Lambda runtime: AWS's Runtime
// Interface Emulator (aws-lambda-rie: the Runtime API and the invoke endpoint, with the function
// timeout enforced) runs AWS's Node Runtime Interface Client (npm aws-lambda-ric, the runtime loop
// of Lambda's Node images), which loads the handler as Lambda does. Each invocation is an HTTP
// POST of the event the scheduled rule sends, with a short function timeout and the S3 store on
// MinIO. Asserted through the emulator:
//   - a server query slower than the whole invocation (FerretDB answers the commit-point query
//     with a scan of the oplog; on a large oplog that takes seconds) does not hold the invocation
//     past its margin: each one returns before timeout − margin/2, and says it stopped early;
//   - a base larger than one invocation completes over several, every invocation again returning
//     before timeout − margin/2; then new writes are archived and a restore equals the source.
// The tools are built once into the cache by test/servers/build-servers.sh (test/run.ts asks for
// them); without them, or without the tool chain to build them, the test skips and says why.
import { assertRestoresBeside } from '../support/restore-beside.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test, type TestContext } from 'node:test';
import { MongoClient, type Document } from 'mongodb';
import { readManifest } from '../../src/backup/commit.ts';
import type { Store } from '../../src/store/store.ts';
import { dedicatedMongo, type DedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, NO_S3, isFerretDB, testS3, uniqueName } from '../support/test-env.ts';
import { freePort } from '../servers/process-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HANDLER = 'dist/lambda/handler.handler';
/** The function timeout (whole seconds, as Lambda and the emulator take it) and the safety margin. */
const TIMEOUT_S = 8;
const MARGIN_MS = 5000;
/**
 * Every invocation must be back before this, not counting the runtime's cold start (Lambda runs
 * init before the invocation's timeout starts; the emulator counts it in): the stop, the cut-off
 * calls and the clean-up all inside the margin.
 */
const RETURN_BY_MS = TIMEOUT_S * 1000 - MARGIN_MS / 2;

function skipReason(): string | false {
  if (NO_MONGO) return NO_MONGO;
  if (NO_S3) return NO_S3;
  if (process.env.TEST_LAMBDA_RUNTIME_SKIP) return `the Lambda emulator or runtime client cannot be built here: ${process.env.TEST_LAMBDA_RUNTIME_SKIP}`;
  if (process.env.TEST_LAMBDA_RUNTIME_ERROR) return false; // built but failed: the test fails and says so
  if (!process.env.TEST_LAMBDA_RIE_BIN || !process.env.TEST_LAMBDA_RIC_ENTRY) return 'aws-lambda-rie and aws-lambda-ric not built: run through `node test/run.ts`';
  return false;
}

/** The EventBridge event a schedule rule delivers (its documented shape). */
function scheduledEvent(): Document {
  return {
    version: '0',
    id: randomBytes(16).toString('hex'),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/mongo-pitr-schedule'],
    detail: {},
  };
}

/** dist/ as `npm run build` leaves it, rebuilt when a source file is newer (CI's `npm ci` builds it). */
function ensureBuilt(): void {
  const built = join(ROOT, 'dist/lambda/handler.js');
  const builtAt = (() => {
    try {
      return statSync(built).mtimeMs;
    } catch {
      return 0;
    }
  })();
  const newest = Math.max(...readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => statSync(join(ROOT, 'src', name)).mtimeMs));
  if (builtAt >= newest) return;
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(result.status, 0, `npm run build failed: ${result.stdout}${result.stderr}`);
}

interface Emulator {
  invoke(): Promise<{ elapsedMs: number; body: Document }>;
  readonly log: () => string;
  stop(): Promise<void>;
}

/** The emulator running the runtime client on the built handler, with this function configuration. */
async function startEmulator(env: NodeJS.ProcessEnv): Promise<Emulator> {
  const [invokePort, runtimePort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    process.env.TEST_LAMBDA_RIE_BIN ?? '',
    [
      '--runtime-interface-emulator-address', `127.0.0.1:${invokePort}`,
      '--runtime-api-address', `127.0.0.1:${runtimePort}`,
      process.execPath, process.env.TEST_LAMBDA_RIC_ENTRY ?? '', HANDLER,
    ],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LAMBDA_TASK_ROOT: ROOT,
        AWS_LAMBDA_FUNCTION_TIMEOUT: String(TIMEOUT_S),
        AWS_LAMBDA_FUNCTION_NAME: 'mongo-pitr',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
        MONGO_PITR_SAFETY_MARGIN_MS: String(MARGIN_MS),
        MONGO_PITR_CONCURRENCY: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${invokePort}/2015-03-31/functions/function/invocations`;
  for (let tries = 0; ; tries++) {
    try {
      await fetch(`http://127.0.0.1:${invokePort}/`, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      assert.ok(tries < 100 && child.exitCode === null, `the emulator did not start:\n${output}`);
      await sleep(100);
    }
  }
  return {
    async invoke() {
      const started = Date.now();
      const response = await fetch(url, { method: 'POST', body: JSON.stringify(scheduledEvent()), signal: AbortSignal.timeout(TIMEOUT_S * 4000) });
      const text = await response.text();
      const elapsedMs = Date.now() - started;
      let body: Document;
      try {
        body = JSON.parse(text) as Document;
      } catch {
        body = { unparsed: text };
      }
      return { elapsedMs, body };
    },
    log: () => output,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** The emulator's report of the runtime's cold start, when this invocation had one. */
function initMsIn(log: string): number {
  const match = /INIT REPORT\(durationMs: ([\d.]+)\)/.exec(log);
  return match?.[1] ? Math.ceil(Number(match[1])) : 0;
}

/** One invocation through the emulator: back before timeout − margin/2, a result and not an error. */
async function invokeInTime(t: TestContext, emulator: Emulator, label: string): Promise<Document> {
  const logBefore = emulator.log().length;
  const { elapsedMs: totalMs, body } = await emulator.invoke();
  const initMs = initMsIn(emulator.log().slice(logBefore));
  const elapsedMs = totalMs - initMs;
  t.diagnostic(`${label}: ${elapsedMs} ms${initMs ? ` after a ${initMs} ms cold start` : ''}: ${JSON.stringify(body.message ?? body)}`);
  assert.equal(body.errorType, undefined, `${label} failed (${elapsedMs} ms): ${JSON.stringify(body)}\n${emulator.log().slice(-4000)}`);
  assert.ok(elapsedMs < RETURN_BY_MS, `${label} returned after ${elapsedMs} ms, not before ${RETURN_BY_MS} ms (timeout ${TIMEOUT_S} s, margin ${MARGIN_MS} ms)\n${emulator.log().slice(-6000)}`);
  assert.equal(typeof body.stoppedEarly, 'boolean', `${label}: a handler result: ${JSON.stringify(body)}`);
  return body;
}

/** The query FerretDB is slow at, as take-base.ts's T0 read makes it (commit-point.ts). */
async function commitPointQueryMs(client: MongoClient): Promise<number> {
  const started = Date.now();
  await client.db('local').collection('oplog.rs').find({}, { projection: { ts: 1 } }).sort({ $natural: -1 }).limit(1).toArray();
  return Date.now() - started;
}


const payload = (): string => randomBytes(1000).toString('base64');

async function fill(client: MongoClient, db: string, collections: number, docs: number, from = 0): Promise<void> {
  for (let c = 0; c < collections; c++) {
    await client.db(db).collection<{ _id: number }>(`c${c}`).insertMany(Array.from({ length: docs }, (_, n) => ({ _id: from + n, c, payload: payload() })));
  }
}

describe('the built handler under the Lambda emulator and runtime client', { skip: skipReason() }, () => {
  const s3kind = STORE_KINDS.find((kind) => kind.name === 's3');
  let functionEnv: NodeJS.ProcessEnv = {};
  const servers: DedicatedMongo[] = [];
  const clients: MongoClient[] = [];

  before(async () => {
    assert.equal(process.env.TEST_LAMBDA_RUNTIME_ERROR, undefined, process.env.TEST_LAMBDA_RUNTIME_ERROR);
    ensureBuilt();
  });
  after(async () => {
    for (const client of clients) await client.close();
    for (const server of servers) await server.stop();
  });

  /** A server of the test's own, a fresh S3 store, and the function's configuration for both. */
  async function setUp(options: { oplogBytes?: number } = {}): Promise<{ mongo: DedicatedMongo; client: MongoClient; store: Store }> {
    const mongo = await dedicatedMongo(options);
    servers.push(mongo);
    const client = new MongoClient(mongo.uri);
    clients.push(client);
    assert.ok(s3kind);
    const opened = await s3kind.open();
    const s3 = testS3();
    assert.ok(s3);
    functionEnv = { ...opened.env, MONGODB_URI: mongo.uri, MONGO_PITR_STORE: opened.url, MONGO_PITR_S3_ENDPOINT: s3.endpoint, AWS_REGION: s3.region };
    return { mongo, client, store: opened.store };
  }

  test('a server query slower than the invocation is cut off inside the margin', async (t) => {
    if (!isFerretDB()) return t.skip('needs FerretDB, whose oplog queries are scans');
    const { client, store } = await setUp();
    const db = uniqueName('slow');
    // Grow the oplog until the commit-point query alone outlasts what an invocation may take,
    // with room to spare: the query is timed here while other test files load the machine, and
    // may run faster during the invocations. The faster of two runs must take 1.5 times an
    // invocation's whole return limit (which itself is 1.3 times when the product cuts calls off).
    const NEEDED_MS = 1.5 * RETURN_BY_MS;
    let queryMs = 0;
    for (let round = 0; round < 24 && queryMs < NEEDED_MS; round++) {
      await fill(client, db, 4, 1500, round * 1500);
      queryMs = Math.min(await commitPointQueryMs(client), await commitPointQueryMs(client));
      t.diagnostic(`oplog after round ${round + 1}: the commit-point query takes ${queryMs} ms`);
    }
    assert.ok(queryMs >= NEEDED_MS, 'the commit-point query alone takes longer than an invocation may');

    const emulator = await startEmulator(functionEnv);
    try {
      for (let n = 1; n <= 2; n++) {
        const result = await invokeInTime(t, emulator, `invocation ${n}`);
        assert.equal(result.stoppedEarly, true);
      }
      const { manifest } = await readManifest(store);
      assert.equal(manifest.chains.length, 0, 'no base was sealed');
      assert.equal(manifest.pendingBases, undefined, 'T0 was never found in time, so nothing was recorded');
    } finally {
      await emulator.stop();
      await store.close();
    }
  });

  test('a base larger than one invocation completes over several; the restore equals the source', async (t) => {
    // A small capped oplog keeps the server's oplog scans short while the data is large.
    const { mongo, client, store } = await setUp({ oplogBytes: 2 * 1024 * 1024 });
    const db = uniqueName('rie');
    const COLLECTIONS = 16;
    await fill(client, db, COLLECTIONS, 1500);
    const emulator = await startEmulator(functionEnv);
    try {
      let invocations = 0;
      let stoppedMidBase = 0;
      // Each invocation must add to what the last ones stored. How many it takes depends on the
      // machine (a loaded one stored a collection in one invocation of five, ~3 s of work each),
      // so the bound is on invocations in a row that store nothing more, not on the total.
      const STALL = 25;
      let stored = 0;
      let sinceProgress = 0;
      for (;;) {
        invocations++;
        assert.ok(sinceProgress < STALL, `the base gains a collection within ${STALL} invocations (${stored} stored after ${invocations - 1})`);
        const result = await invokeInTime(t, emulator, `base invocation ${invocations}`);
        const { manifest } = await readManifest(store);
        if (manifest.chains.length > 0) break;
        assert.equal(result.stoppedEarly, true);
        const now = manifest.pendingBases?.[0]?.collections.length ?? 0;
        sinceProgress = now > stored ? 0 : sinceProgress + 1;
        stored = now;
        if (stored > 0 && stored < COLLECTIONS) stoppedMidBase++;
        // Writes go on between invocations.
        await client.db(db).collection<{ _id: number }>('c0').updateOne({ _id: invocations }, { $set: { touched: invocations } });
        await client.db(db).collection<{ _id: number; payload?: string }>(`c${COLLECTIONS - 1}`).insertOne({ _id: 100_000 + invocations, payload: payload() });
      }
      assert.ok(invocations >= 2 && stoppedMidBase >= 1, `the base took ${invocations} invocations, ${stoppedMidBase} of them stopped with it part-dumped`);

      await client.db(db).collection<{ _id: number }>('c1').deleteOne({ _id: 3 });
      await client.db(db).collection<{ _id: number }>('c2').updateOne({ _id: 7 }, { $set: { last: true } });
      for (let n = 1; ; n++) {
        assert.ok(n <= 10, 'the new oplog is archived within 10 invocations');
        const result = await invokeInTime(t, emulator, `oplog invocation ${n}`);
        if (result.stoppedEarly === false) break;
      }
      await assertRestoresBeside({ store, uri: mongo.uri, client, db, collections: COLLECTIONS });
    } finally {
      await emulator.stop();
      await store.close();
    }
  });
});
