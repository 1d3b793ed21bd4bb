// Which applier an `applyOps: []` probe selects. Only "no such command" selects the portable
// applier: CommandNotFound (59, src/mongo/base/error_codes.yml in mongodb/mongo), what FerretDB
// answers too (checked live in test/integration/portable-applier.test.ts). Unauthorized (13) is
// an error naming the privilege the server checks first: the applyOps action on the cluster
// resource (src/mongo/db/commands/oplog_application_checks.cpp, checkAuthForCommand). The
// error shapes are the server's replies as the Node driver raises them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoNetworkError, MongoServerError } from 'mongodb';
import { TargetError } from '../../../src/errors.ts';
import { applyModeFromProbe } from '../../../src/target/open-target.ts';

const reply = (code: number, codeName: string, errmsg: string) => new MongoServerError({ ok: 0, code, codeName, errmsg });

describe('applyModeFromProbe', () => {
  it('selects applyOps when the probe succeeds', () => {
    assert.equal(applyModeFromProbe(undefined), 'applyOps');
  });

  it('selects portable on "no such command" (CommandNotFound, 59)', () => {
    assert.equal(applyModeFromProbe(reply(59, 'CommandNotFound', "no such command: 'applyOps'")), 'portable');
  });

  it('refuses on Unauthorized (13), naming the applyOps action on the cluster resource', () => {
    const error = reply(13, 'Unauthorized', 'not authorized on admin to execute command { applyOps: [], $db: "admin" }');
    assert.throws(() => applyModeFromProbe(error), (thrown: unknown) => {
      assert.ok(thrown instanceof TargetError);
      assert.match(thrown.message, /Unauthorized \(13\)/);
      assert.match(thrown.hint ?? '', /applyOps.*cluster/);
      // An empty applyOps needs the universal privileges (validateApplyOpsCommand, kNeedsSuperuser).
      assert.match(thrown.hint ?? '', /anyAction on anyResource/);
      assert.match(thrown.hint ?? '', /--apply-mode portable/);
      assert.equal(thrown.cause, error);
      return true;
    });
  });

  it('refuses on any other server answer instead of changing how the restore applies', () => {
    for (const error of [
      reply(10107, 'NotWritablePrimary', 'not primary'),
      reply(8000, 'AtlasError', 'CMD_NOT_ALLOWED: applyOps'),
      reply(115, 'CommandNotSupported', 'applyOps not supported'),
    ]) {
      assert.throws(() => applyModeFromProbe(error), TargetError, error.codeName);
    }
  });

  it('passes a network error through unchanged', () => {
    const error = new MongoNetworkError('connection reset');
    assert.throws(() => applyModeFromProbe(error), (thrown: unknown) => thrown === error);
  });
});
