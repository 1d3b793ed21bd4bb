// The applyOps probe against the live server: FerretDB has no applyOps and answers "no such
// command" (CommandNotFound, 59), which is the one answer that selects the portable applier; a
// real mongod (TEST_MONGODB_URI / MONGOMS_SYSTEM_BINARY) accepts it and keeps applyOps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient, MongoServerError } from 'mongodb';
import { applyModeFromProbe, openTarget } from '../../src/target/open-target.ts';
import { NO_MONGO, isFerretDB, testMongoUri } from '../support/test-env.ts';

describe('apply-mode probe, live', { skip: NO_MONGO }, () => {
  let client: MongoClient;
  before(async () => {
    client = new MongoClient(testMongoUri() ?? '');
    await client.connect();
  });
  after(async () => client?.close());

  it('reads the server\'s own answer to applyOps: [] as the decision function expects', async () => {
    const answer = await client.db('admin').command({ applyOps: [] }).then(() => undefined, (error: unknown) => error);
    if (isFerretDB()) {
      assert.ok(answer instanceof MongoServerError, String(answer));
      assert.equal(answer.code, 59, answer.message);
      assert.equal(answer.codeName, 'CommandNotFound');
      assert.equal(applyModeFromProbe(answer), 'portable');
    } else {
      assert.equal(applyModeFromProbe(answer), 'applyOps');
    }
  });

  it('openTarget in auto mode selects the applier the probe decides', async () => {
    const target = await openTarget(testMongoUri() ?? '', 'auto');
    try {
      assert.equal(target.applier.mode, isFerretDB() ? 'portable' : 'applyOps');
    } finally {
      await target.client.close();
    }
  });
});
