// Replay and the commands it does not know: an oplog command outside the server's list of
// commands (src/mongo/db/repl/oplog.cpp, kOpsMap in mongodb/mongo) or one it cannot reproduce
// (importCollection) stops the replay with its ts and the command, after everything before it is
// applied; --skip-unknown-commands turns that into a counted skip. The applier is a recorder:
// this is the pure decision, no server involved.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BSON, Long, Timestamp, UUID } from 'mongodb';
import { TargetError } from '../../../src/errors.ts';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';
import { replay } from '../../../src/restore/replay.ts';
import { RecordingApplier } from '../../support/recording-applier.ts';

export { RecordingApplier };


let dir = '';
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'replay-commands-'))));
after(async () => rm(dir, { recursive: true, force: true }));

/** An oplog file: concatenated BSON entries, as a chunk or mongodump's oplog.bson holds them. */
async function oplogFile(name: string, entries: readonly OplogEntry[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, Buffer.concat(entries.map((entry) => BSON.serialize(entry))));
  return file;
}

const ts = (i: number) => new Timestamp({ t: 1_760_000_000, i });
const insert = (i: number, id: number): OplogEntry => ({
  op: 'i', ns: 'shop.orders', ui: new UUID(), o: { _id: id }, ts: ts(i), t: Long.fromNumber(3), v: 2, wall: new Date(1_760_000_000_000),
});
/** importCollection's oplog shape: the fields of src/mongo/db/catalog/import_collection_oplog_entry.idl. */
const importCollection: OplogEntry = {
  op: 'c', ns: 'shop.$cmd', ui: new UUID(), ts: ts(2), t: Long.fromNumber(3), v: 2, wall: new Date(1_760_000_000_000),
  o: { importCollection: 'shop.imported', importUUID: new UUID(), numRecords: Long.fromNumber(10), dataSize: Long.fromNumber(400), catalogEntry: {}, storageMetadata: {}, dryRun: false },
};
/** A command no server version logs today: a DDL newer than this code. */
const futureDdl: OplogEntry = {
  op: 'c', ns: 'shop.$cmd', ui: new UUID(), ts: ts(2), t: Long.fromNumber(3), v: 2, wall: new Date(1_760_000_000_000),
  o: { reshapeCollection: 'orders', shape: 'columnar' },
};

describe('replay: unknown commands', () => {
  for (const [label, command, name] of [['a future DDL', futureDdl, 'reshapeCollection'], ['importCollection', importCollection, 'importCollection']] as const) {
    it(`fails on ${label} by default, naming its ts and command, with the entries before it applied`, async () => {
      const file = await oplogFile(`${name}.bson`, [insert(1, 1), command, insert(3, 2)]);
      const applier = new RecordingApplier();
      await assert.rejects(replay({ applier, files: [file], namespaces: compileNamespaceMapper({}) }), (error: unknown) => {
        assert.ok(error instanceof TargetError, String(error));
        assert.match(error.message, /1760000000:2/);
        assert.match(error.message, new RegExp(name));
        assert.match(error.hint ?? '', /--skip-unknown-commands/);
        assert.match(error.hint ?? '', /--until 1760000000:2/);
        return true;
      });
      assert.deepEqual(applier.crud.map((entry) => Number(entry.o._id)), [1], 'the insert before it is applied, the one after it is not');
    });

    it(`skips ${label} and counts it with skipUnknownCommands`, async () => {
      const file = await oplogFile(`${name}-skip.bson`, [insert(1, 1), command, insert(3, 2)]);
      const applier = new RecordingApplier();
      const receipt = await replay({ applier, files: [file], namespaces: compileNamespaceMapper({}), skipUnknownCommands: true });
      assert.deepEqual(applier.crud.map((entry) => Number(entry.o._id)).sort(), [1, 2]);
      assert.deepEqual(applier.commands, []);
      const reasons = Object.keys(receipt.skipped);
      assert.equal(reasons.length, 1);
      assert.match(reasons[0] ?? '', new RegExp(name));
    });
  }

  it('still skips the commands that are no-ops for a restore, without the flag', async () => {
    const dbCheck: OplogEntry = { ...futureDdl, o: { dbCheck: 'orders', type: 'batch' } };
    const file = await oplogFile('dbcheck.bson', [insert(1, 1), dbCheck, insert(3, 2)]);
    const applier = new RecordingApplier();
    const receipt = await replay({ applier, files: [file], namespaces: compileNamespaceMapper({}) });
    assert.deepEqual(applier.crud.map((entry) => Number(entry.o._id)).sort(), [1, 2]);
    assert.match(Object.keys(receipt.skipped)[0] ?? '', /dbCheck/);
  });
});
