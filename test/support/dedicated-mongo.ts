// A MongoDB-wire server of a test's own, for tests that fill or shrink the oplog: a new FerretDB
// when the run uses FerretDB (so a 220,000-op scenario does not slow every other test's oplog
// scans, and a tiny oplog can roll over), the shared server otherwise.
import { before, after } from 'node:test';
import { MongoClient } from 'mongodb';
import { startFerretDB } from '../servers/ferretdb.ts';
import { isFerretDB, testMongoUri } from './test-env.ts';

export interface DedicatedMongo {
  readonly uri: string;
  /** True when this server is the test's alone (its oplog size is what was asked). */
  readonly own: boolean;
  stop(): Promise<void>;
}

export async function dedicatedMongo(options: { oplogBytes?: number } = {}): Promise<DedicatedMongo> {
  const bin = process.env.TEST_FERRETDB_BIN;
  if (isFerretDB() && bin) {
    const server = await startFerretDB(bin, options.oplogBytes);
    return { uri: server.uri, own: true, stop: server.stop };
  }
  return { uri: testMongoUri() ?? '', own: false, stop: async () => undefined };
}

/**
 * Registers before/after hooks in the current suite that start a dedicated server and a client
 * on it, and stop both; the returned getters are valid inside the suite's tests.
 */
export function useDedicatedMongo(options: { oplogBytes?: number } = {}): { mongo(): DedicatedMongo; client(): MongoClient } {
  let mongo: DedicatedMongo | undefined;
  let client: MongoClient | undefined;
  before(async () => {
    mongo = await dedicatedMongo(options);
    client = new MongoClient(mongo.uri);
  });
  after(async () => {
    await client?.close();
    await mongo?.stop();
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useDedicatedMongo: used outside its suite');
    return value;
  };
  return { mongo: () => need(mongo), client: () => need(client) };
}
