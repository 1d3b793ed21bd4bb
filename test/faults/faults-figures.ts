// The fault figures for the README (not a test: `npm test` runs only *.test.ts). Runs the CLI
// through the fault proxy at 0, 5, 20 and 50% faults of every kind, each rate on a fresh store
// and database: 20 oplog runs, 4 backups, 10 restores (each compared with the source), then
// counts the ops lost: every _id inserted after the first base must be in some chain's oplog.
//   node test/run.ts test/faults/faults-figures.ts      (writes FAULT_FIGURES_OUT, default
//   /tmp/fault-figures.md; FAULT_RATES="0,5,20,50" and FAULT_SCALE=1 shrink or pick the runs)
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { readOplogObject } from '../support/chain-reader.ts';
import { readManifest } from '../../src/backup/commit.ts';
import { openStore } from '../../src/store/open-store.ts';
import { testMongoUri, testS3, uniqueName } from '../support/test-env.ts';
import { FaultProxy } from './fault-proxy.ts';
import { FaultWorkload, type RestoreRecord, type RunRecord } from './fault-workload.ts';

const SEED = 20261201;
const RATES = (process.env.FAULT_RATES ?? '0,5,20,50').split(',').map(Number);
const SCALE = Number(process.env.FAULT_SCALE ?? '1');
const OPLOG_RUNS = Math.max(1, Math.round(20 * SCALE));
const BACKUPS = Math.max(1, Math.round(4 * SCALE));
const RESTORES = Math.max(1, Math.round(10 * SCALE));

interface Figures {
  rate: number;
  seconds: number;
  byCommand: Record<string, { attempted: number; succeeded: number; failedByCode: Record<string, number>; retries: number; stacks: number }>;
  faults: number;
  requests: number;
  opsLost: number;
  restoresEqual: number;
  failedRestoresClean: number;
}

async function opsLost(work: FaultWorkload, url: string, s3: NonNullable<ReturnType<typeof testS3>>, sinceIndex: number): Promise<number> {
  const store = await openStore(url, { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  try {
    const { manifest } = await readManifest(store);
    const archived = new Set<number>();
    for (const chain of manifest.chains) {
      for (const object of [chain.base.oplog, ...chain.chunks]) {
        for (const entry of await readOplogObject(store, object)) if (entry.ns === `${work.db}.orders` && entry.op === 'i') archived.add(entry.o._id as number);
      }
    }
    return work.insertedOrders.slice(sinceIndex).filter((id) => !archived.has(id)).length;
  } finally {
    await store.close();
  }
}

async function atRate(rate: number): Promise<Figures> {
  const s3 = testS3();
  assert.ok(s3);
  const proxy = await FaultProxy.start({ target: s3.endpoint, seed: SEED + rate });
  const prefix = uniqueName('figures');
  const work = new FaultWorkload({ mongoUri: testMongoUri() ?? '', s3, proxy, db: uniqueName('figures'), prefix });
  const started = Date.now();
  const restores: RestoreRecord[] = [];
  try {
    await work.write();
    // The first base without faults: what every later run extends.
    assert.equal((await work.backup()).code, 0);
    const sinceIndex = work.insertedOrders.length;
    work.runs.length = 0;
    proxy.configure({ rate: rate / 100 });
    proxy.resetStats();
    for (let n = 1; n <= OPLOG_RUNS; n++) {
      await work.write(10);
      await work.oplog();
      if (n % Math.ceil(OPLOG_RUNS / BACKUPS) === 0 && work.runs.filter((run) => run.command === 'backup').length < BACKUPS) await work.backup();
      if (n % Math.max(1, Math.floor(OPLOG_RUNS / RESTORES)) === 0 && restores.length < RESTORES) restores.push(await work.restore(uniqueName('figures_restored')));
    }
    const faults = proxy.stats.faults;
    const requests = proxy.stats.requests;
    // Whatever the faults left unarchived, a run without faults archives; then nothing may be missing.
    proxy.configure({ rate: 0 });
    const settle = [...work.runs];
    await work.oplog();
    const lost = await opsLost(work, `s3://${s3.bucket}/${prefix}`, s3, sinceIndex);
    const byCommand: Figures['byCommand'] = {};
    for (const run of settle) {
      const entry = (byCommand[run.command] ??= { attempted: 0, succeeded: 0, failedByCode: {}, retries: 0, stacks: 0 });
      entry.attempted++;
      if (run.code === 0) entry.succeeded++;
      else entry.failedByCode[String(run.code)] = (entry.failedByCode[String(run.code)] ?? 0) + 1;
      entry.retries += run.retries;
      if (run.stack) entry.stacks++;
    }
    return {
      rate,
      seconds: Math.round((Date.now() - started) / 1000),
      byCommand,
      faults,
      requests,
      opsLost: lost,
      restoresEqual: restores.filter((record) => record.equal === true).length,
      failedRestoresClean: restores.filter((record) => record.code !== 0 && record.code === 4 && record.targetUntouched && record.tempRemoved && !record.stack).length,
    };
  } finally {
    await work.close();
    await proxy.close();
  }
}

function table(all: Figures[]): string {
  const rows = ['| faults | command | attempted | succeeded | failed (exit code: runs) | store retries | stack traces |', '|---|---|---|---|---|---|---|'];
  for (const figures of all) {
    for (const [command, entry] of Object.entries(figures.byCommand)) {
      const failed = Object.entries(entry.failedByCode).map(([code, count]) => `${code}: ${count}`).join(', ') || '—';
      rows.push(`| ${figures.rate}% | ${command} | ${entry.attempted} | ${entry.succeeded} | ${failed} | ${entry.retries} | ${entry.stacks} |`);
    }
  }
  rows.push('', '| faults | faults injected / requests | ops lost | restores equal to the source | failed restores clean (exit 4, target untouched, temp gone) | seconds |', '|---|---|---|---|---|---|');
  for (const figures of all) {
    const restores = figures.byCommand.restore?.attempted ?? 0;
    rows.push(`| ${figures.rate}% | ${figures.faults} / ${figures.requests} | ${figures.opsLost} | ${figures.restoresEqual} of ${restores} | ${figures.failedRestoresClean} | ${figures.seconds} |`);
  }
  return `${rows.join('\n')}\n`;
}

test('fault figures', { timeout: 3 * 60 * 60 * 1000 }, async () => {
  const all: Figures[] = [];
  for (const rate of RATES) {
    all.push(await atRate(rate));
    await writeFile(process.env.FAULT_FIGURES_OUT ?? '/tmp/fault-figures.md', table(all));
  }
});
