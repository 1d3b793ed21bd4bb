// Ctrl-C during a restore's replay: the command stops within a second or two, with one line and
// exit 130, even with writes in flight. The chain is a mongodump folder imported as a base whose
// oplog holds many inserts, so the restore spends its time in replay.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { BSON, MongoClient, Timestamp } from 'mongodb';
import { ExitCode } from '../../src/errors.ts';
import { finished, runCli, spawnCli, type CliResult } from '../support/cli.ts';
import { NO_MONGO, testMongoUri, uniqueName } from '../support/test-env.ts';

const OPS = 60_000;
const T = 1_900_000_000;

/** A mongodump --oplog folder: one empty collection and an oplog.bson of OPS inserts into it. */
async function dumpWithLongOplog(db: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-interrupt-'));
  await mkdir(join(dir, db));
  await writeFile(join(dir, db, 'big.bson'), Buffer.alloc(0));
  await writeFile(join(dir, db, 'big.metadata.json'), JSON.stringify({ options: {}, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }] }));
  // The shape mongod writes for an insert (oplog_entry.idl: ts, t, v, op, ns, wall, o).
  const frames = Array.from({ length: OPS }, (_, n) =>
    BSON.serialize({ ts: new Timestamp({ t: T + Math.floor(n / 1000), i: (n % 1000) + 1 }), t: 1, v: 2, op: 'i', ns: `${db}.big`, wall: new Date((T + n / 1000) * 1000), o: { _id: n, pad: 'x'.repeat(200) } }),
  );
  await writeFile(join(dir, 'oplog.bson'), Buffer.concat(frames));
  return dir;
}

/**
 * A TCP relay to the test server that can freeze: a write in flight then never returns, as under
 * heavy load, and only a forced exit ends the command (a fault injected on the wire; the server
 * itself is the real one).
 */
async function freezableRelay(uri: string): Promise<{ uri: string; freeze(): void; close(): Promise<void> }> {
  const { hostname, port } = new URL(uri.replace(/^mongodb:/, 'http:'));
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
    }
    client.on('data', (data) => void (frozen || upstream.write(data)));
    upstream.on('data', (data) => void (frozen || client.write(data)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const relayPort = typeof address === 'object' && address ? address.port : 0;
  return {
    uri: uri.replace(`${hostname}:${port}`, `127.0.0.1:${relayPort}`),
    freeze: () => void (frozen = true),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('Ctrl-C during restore', { skip: NO_MONGO }, () => {
  const db = uniqueName('interrupt');
  const target = uniqueName('interrupted');
  let client: MongoClient;
  let store: string;
  before(async () => {
    client = new MongoClient(testMongoUri() ?? '');
    store = await mkdtemp(join(tmpdir(), 'mongo-pitr-interrupt-store-'));
    const imported = await runCli(['import', await dumpWithLongOplog(db), '--store', store, '--set-name', 'rsInterrupt']);
    assert.equal(imported.code, 0, imported.stderr);
  });
  after(async () => {
    await client.db(target).dropDatabase().catch(() => undefined);
    await client.close();
  });

  /** Starts a restore into `into`, waits until replay has written, SIGINTs it; returns how it ended. */
  async function interruptRestore(into: string, toUri: string, whenReplaying: () => void = () => undefined) {
    const child = spawnCli(['restore', '--store', store, '--to', toUri, '--nsFrom', `${db}.*`, '--nsTo', `${into}.*`]);
    const done = finished(child);
    const collection = client.db(into).collection('big');
    const deadline = Date.now() + 120_000;
    while ((await collection.estimatedDocumentCount().catch(() => 0)) === 0) {
      assert.ok(Date.now() < deadline, 'replay started');
      await sleep(100);
    }
    whenReplaying();
    const sent = Date.now();
    child.kill('SIGINT');
    // A child that never stops fails the test instead of hanging it.
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const result = await done;
    clearTimeout(killer);
    const took = Date.now() - sent;
    assert.ok(await collection.estimatedDocumentCount() < OPS, 'interrupted mid-replay, not after it');
    return { result, took };
  }

  function assertStoppedOnce(result: CliResult, took: number): void {
    assert.equal(result.code, ExitCode.sigint, result.stderr);
    assert.ok(took < 3000, `stopped ${took} ms after SIGINT`);
    const lines = result.stderr.split('\n').filter((line) => line.includes('error'));
    assert.equal(lines.length, 1, JSON.stringify(result.stderr));
    assert.match(lines[0] ?? '', /^mongo-pitr: interrupted error: stopped by SIGINT: the target holds part of the restore; restore again with --drop$/);
    assert.equal(result.stdout, '', 'no receipt: the restore did not finish');
  }

  test('stops within ~3 s of SIGINT mid-replay, with one line and exit 130', async () => {
    const { result, took } = await interruptRestore(target, testMongoUri() ?? '');
    assertStoppedOnce(result, took);
  });

  test('stops as fast when a write in flight never returns (a stalled target)', async () => {
    const relay = await freezableRelay(testMongoUri() ?? '');
    try {
      const { result, took } = await interruptRestore(`${target}_stalled`, relay.uri, relay.freeze);
      assertStoppedOnce(result, took);
    } finally {
      await relay.close();
      await client.db(`${target}_stalled`).dropDatabase().catch(() => undefined);
    }
  });
});
