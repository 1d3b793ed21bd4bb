// Which target is the chain's own replica set: a real mongod answers replSetGetConfig with
// config.settings.replicaSetId, an ObjectId (src/mongo/db/repl/repl_set_config.idl,
// ReplSetConfigSettings.replicaSetId), which decides alone when both sides have one; the target
// is a fake answering in the server's shapes (hello, replSetGetConfig, a find on the oplog).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ObjectId, Timestamp, type MongoClient } from 'mongodb';
import type { Chain } from '../../../src/archive/manifest.ts';
import { UsageError } from '../../../src/errors.ts';
import { refuseSourceCluster } from '../../../src/restore/source-cluster-guard.ts';

const RS_ID = new ObjectId('5f1e0c0e0c0e0c0e0c0e0c0e');
const oplogObject = { key: 'k', rawBytes: 1, storedBytes: 1, sha256: '', firstTs: { t: 100, i: 1 }, lastTs: { t: 100, i: 5 }, firstWall: null, lastWall: '2026-12-01T12:00:00.000Z', count: 5 };
const chain = {
  id: 'c',
  source: { setName: 'rs0', replicaSetId: RS_ID.toHexString() },
  base: { id: 'c', startTs: oplogObject.firstTs, endTs: oplogObject.lastTs, startedAt: '', finishedAt: '', collections: [], oplog: oplogObject, commitPoint: 'majority' },
  chunks: [],
} as unknown as Chain;

function target(setName: string, replicaSetId: ObjectId | null, oplogHasCheckpoint: boolean): MongoClient {
  const fake = {
    db: (name: string) => ({
      command: async (command: Record<string, unknown>) => {
        if ('hello' in command) return { ok: 1, isWritablePrimary: true, setName };
        if ('replSetGetConfig' in command) return { ok: 1, config: { _id: setName, version: 1, members: [], settings: replicaSetId ? { replicaSetId } : {} } };
        throw new Error(`unexpected command on ${name}`);
      },
      collection: () => ({
        findOne: async () => (oplogHasCheckpoint ? { ts: new Timestamp({ t: 100, i: 5 }), wall: new Date('2026-12-01T12:00:00.000Z') } : null),
      }),
    }),
  };
  return fake as unknown as MongoClient;
}

describe('refuseSourceCluster', () => {
  test('the same replicaSetId is the source', async () => {
    await assert.rejects(refuseSourceCluster(target('rs0', RS_ID, false), chain), UsageError);
  });

  test('another replicaSetId of the same name is not, even if its oplog shares history (a restored copy)', async () => {
    await refuseSourceCluster(target('rs0', new ObjectId(), true), chain);
  });

  test('without replicaSetIds, the set name and the chain\'s newest op in the target oplog decide', async () => {
    const noId = { ...chain, source: { setName: 'rs0', replicaSetId: null } } as Chain;
    await assert.rejects(refuseSourceCluster(target('rs0', null, true), noId), UsageError);
    await refuseSourceCluster(target('rs0', null, false), noId);
    await refuseSourceCluster(target('rs1', null, true), noId);
  });
});
