// A restore onto the very replica set the chain backs up overwrites live data with older data,
// and the backup then archives that as new writes: almost always a mistake (a wrong --to), so it
// needs --force. The same set is known by its replicaSetId (rs.conf().settings.replicaSetId,
// which a rebuilt or restored set of the same name does not share: mongo's
// src/mongo/db/repl/repl_set_config.idl, ReplSetConfigSettings.replicaSetId); where either side
// has none (FerretDB, a user without replSetGetConfig), by its set name and an oplog that holds
// the chain's newest archived op at the same ts and wall clock: that op came from its history.
import { MongoClient, type Document } from 'mongodb';
import type { Chain } from '../archive/manifest.ts';
import { checkpointOf } from '../archive/manifest.ts';
import { UsageError } from '../errors.ts';
import { tsToBson } from '../timestamp.ts';

/** Checked before anything is downloaded, over a short connection of its own. */
export async function refuseSourceClusterAt(uri: string, chain: Chain): Promise<void> {
  let client: MongoClient;
  try {
    client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, appName: 'mongo-pitr' });
  } catch {
    return; // an invalid URI fails in openTarget, with its own message
  }
  try {
    await refuseSourceCluster(client, chain);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // Unreachable or refusing: opening the target reports that, with its own message.
  } finally {
    await client.close();
  }
}

export async function refuseSourceCluster(client: MongoClient, chain: Chain): Promise<void> {
  if (!(await isSourceOf(client, chain))) return;
  const { setName, replicaSetId } = chain.source;
  throw new UsageError(
    `the target is ${setName}${replicaSetId ? ` (replicaSetId ${replicaSetId})` : ''}, the replica set this chain backs up: restoring onto it overwrites live data`,
    { hint: 'restore to another cluster, beside the originals with --nsFrom/--nsTo, or add --force if this is meant' },
  );
}

async function isSourceOf(client: MongoClient, chain: Chain): Promise<boolean> {
  const admin = client.db('admin');
  const hello: Document = await admin.command({ hello: 1 });
  if (typeof hello.setName !== 'string' || hello.setName !== chain.source.setName) return false;
  const targetId = await replicaSetIdOf(client);
  if (targetId && chain.source.replicaSetId) return targetId === chain.source.replicaSetId;
  const checkpoint = checkpointOf(chain);
  const found = await client.db('local').collection('oplog.rs').findOne({ ts: tsToBson(checkpoint) }, { projection: { ts: 1, wall: 1 } }).catch(() => null);
  if (!found) return false;
  const wall = newestWall(chain);
  return wall === null || !(found.wall instanceof Date) || found.wall.toISOString() === wall;
}

function newestWall(chain: Chain): string | null {
  const last = chain.chunks.at(-1) ?? chain.base.oplog;
  return last.lastWall;
}

async function replicaSetIdOf(client: MongoClient): Promise<string | null> {
  try {
    const reply = await client.db('admin').command({ replSetGetConfig: 1 });
    const id: unknown = reply.config?.settings?.replicaSetId;
    return id ? String(id) : null;
  } catch {
    return null;
  }
}
