// A MongoDB-wire server of a test's own, for tests that fill or shrink the oplog: a new FerretDB
// when the run uses FerretDB (so a 220,000-op scenario does not slow every other test's oplog
// scans, and a tiny oplog can roll over), the shared server otherwise.
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
