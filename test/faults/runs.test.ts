// The CLI's runs through the fault proxy in front of MinIO, at a fixed seed and a small workload:
// at 20% injected faults every oplog run, backup and restore succeeds (restores equal to the
// source); at 50%, and at 80% with no retry budget of the store's own, every failure is a clean exit 4 (one error event,
// no stack trace), the target untouched and the restore's temporary folder gone; and afterwards,
// without faults, the chain is whole and restores equal to the source.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { NO_MONGO, NO_S3, testS3, uniqueName } from '../support/test-env.ts';
import { FaultProxy } from './fault-proxy.ts';
import { cleanStoreFailure, FaultWorkload } from './fault-workload.ts';

const SEED = 20261201;

describe('CLI runs through a faulty store', { skip: NO_MONGO || NO_S3 }, () => {
  const server = useDedicatedMongo();
  let proxy: FaultProxy;
  let work: FaultWorkload;

  before(async () => {
    const s3 = testS3();
    assert.ok(s3);
    proxy = await FaultProxy.start({ target: s3.endpoint, seed: SEED });
    work = new FaultWorkload({ mongoUri: server.mongo().uri, s3, proxy, db: uniqueName('faults'), prefix: uniqueName('faults') });
  });
  after(async () => {
    await work?.close();
    await proxy?.close();
  });

  test('at 20% faults: every backup, oplog run and restore succeeds; restores equal the source', async () => {
    proxy.configure({ rate: 0.2 });
    await work.write();
    for (let round = 0; round < 2; round++) {
      const backup = await work.backup();
      assert.equal(backup.code, 0, backup.stderr);
      for (let n = 0; n < 2; n++) {
        await work.write();
        const oplog = await work.oplog();
        assert.equal(oplog.code, 0, oplog.stderr);
      }
    }
    for (let n = 0; n < 2; n++) {
      const restored = await work.restore(uniqueName('restored20'));
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(restored.equal, true, 'the restore equals the source');
      assert.ok(restored.tempRemoved);
    }
    assert.ok(proxy.stats.faults > 0);
    assert.ok(work.runs.some((run) => run.retries > 0), 'runs retried');
  });

  test('at 50% faults every failure is a clean exit 4; at 80% with no retry budget too, target untouched, no temporary folder left', async () => {
    const records = [];
    proxy.configure({ rate: 0.5, kinds: ['500', '503', 'reset-request', 'reset-body', 'truncate'] });
    await work.write();
    records.push(await work.oplog(), await work.restore(uniqueName('restored50')));
    // The SDK still tries each request 5 times; without the store's own retries most runs fail.
    proxy.configure({ rate: 0.8, kinds: ['500', '503', 'reset-request', 'reset-body', 'truncate'] });
    const env = { MONGO_PITR_STORE_RETRY: '0s' };
    await work.write();
    records.push(await work.oplog(env), await work.restore(uniqueName('restored80'), env), await work.oplog(env));
    for (const record of records) {
      assert.ok(record.code === 0 || cleanStoreFailure(record), `${record.command} exited ${record.code}: ${record.stderr}`);
      if ('targetUntouched' in record && record.code !== 0) assert.equal(record.targetUntouched, true);
      if ('tempRemoved' in record) assert.equal(record.tempRemoved, true);
    }
    assert.ok(records.some((record) => record.code === 4), 'some runs failed for good');

    proxy.configure({ rate: 0 });
    const oplog = await work.oplog();
    assert.equal(oplog.code, 0, oplog.stderr);
    const restored = await work.restore(uniqueName('restored0'));
    assert.equal(restored.equal, true, restored.stderr);
  });
});
