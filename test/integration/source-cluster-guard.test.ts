// A restore onto the replica set its chain backs up needs --force; beside the originals
// (--nsFrom/--nsTo) or onto another set it does not. The chain is taken from a dedicated
// FerretDB (so a forced restore rewrites nothing another test uses) and restored onto it.
// On FerretDB there is no replicaSetId (replSetGetConfig is not implemented), so the set name
// and the chain's newest op in the target's oplog decide; a real mongod compares
// settings.replicaSetId (repl_set_config.idl): test/unit/restore/source-cluster-guard.test.ts.
import { instantText } from '../../src/words.ts';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ExitCode } from '../../src/errors.ts';
import { runCli } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { NO_MONGO, testMongoUri, uniqueName } from '../support/test-env.ts';

describe('restoring onto the source cluster', { skip: NO_MONGO }, () => {
  const dedicated = useDedicatedMongo();

  test('is refused without --force, with one line; renamed or forced it runs', async () => {
    const uri = dedicated.mongo().uri;
    const db = uniqueName('guard');
    await dedicated.client().db(db).collection<{ _id: number }>('c').insertMany([{ _id: 1 }, { _id: 2 }]);
    const store = await mkdtemp(join(tmpdir(), 'mongo-pitr-guard-'));
    const backup = await runCli(['backup', '--store', store, '--uri', uri]);
    assert.equal(backup.code, 0, backup.stderr);

    const refused = await runCli(['restore', '--store', store, '--to', uri, '--nsInclude', `${db}.*`, '--drop']);
    assert.equal(refused.code, ExitCode.usage, refused.stderr);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^mongo-pitr: usage error: the target is rs0, the replica set this chain backs up: restoring onto it overwrites live data \(.*add --force.*\)\n$/);

    const renamed = await runCli(['restore', '--store', store, '--to', uri, '--nsFrom', `${db}.*`, '--nsTo', `${db}_copy.*`]);
    assert.equal(renamed.code, 0, renamed.stderr);
    // The chain's end as a time first (its op's wall clock, to the millisecond), then its position.
    const end = /^cutoff: none, everything archived is applied, up to (\S+ \S+) (.*)\[(\d+):\d+\]$/m.exec(renamed.stdout);
    assert.ok(end, renamed.stdout);
    const second = instantText(Number(end[3]) * 1000, {});
    assert.equal(end[1]?.slice(0, 19), second.slice(0, 19), `the time is in the position's second: ${end[0]}`);

    const forced = await runCli(['restore', '--store', store, '--to', uri, '--nsInclude', `${db}.*`, '--drop', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await dedicated.client().db(db).collection('c').countDocuments(), 2);
  });

  test('another replica set of the same name (the shared test server) is not the source', async (t) => {
    if (!dedicated.mongo().own) return t.skip('no dedicated server: the shared one is the source');
    const uri = dedicated.mongo().uri;
    const db = uniqueName('guard_other');
    await dedicated.client().db(db).collection<{ _id: number }>('c').insertOne({ _id: 1 });
    const store = await mkdtemp(join(tmpdir(), 'mongo-pitr-guard-other-'));
    assert.equal((await runCli(['backup', '--store', store, '--uri', uri])).code, 0);
    const other = await runCli(['restore', '--store', store, '--to', testMongoUri() ?? '', '--nsInclude', `${db}.*`]);
    assert.equal(other.code, 0, other.stderr);
  });
});
