// FerretDB v1 (SQLite backend) as the MongoDB-wire test server when no real mongod is given.
// Started with --repl-set-name so the driver sees a replica set, and with a capped
// local.oplog.rs created before any test writes: FerretDB then logs every insert, update and
// delete there (updates as {$v:1,$set:<whole document>}; no commands).
import { MongoClient } from 'mongodb';
import { startServer, type RunningServer } from './process-server.ts';

export const FERRETDB_SET_NAME = 'rs0';
/** Big enough for the field-report scenario (220,002 inserts) without rolling over. */
export const DEFAULT_OPLOG_BYTES = 1024 * 1024 * 1024;

export interface FerretDB extends RunningServer {
  readonly uri: string;
}

export function ferretUri(port: number): string {
  return `mongodb://127.0.0.1:${port}/?replicaSet=${FERRETDB_SET_NAME}&directConnection=true`;
}

export async function startFerretDB(bin: string, oplogBytes = DEFAULT_OPLOG_BYTES): Promise<FerretDB> {
  const server = await startServer({
    name: 'ferretdb',
    bin,
    args: (port, dataDir) => [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--state-dir=${dataDir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      `--repl-set-name=${FERRETDB_SET_NAME}`,
      '--telemetry=disable',
      '--log-level=ERROR',
    ],
    ready: async (port) => {
      const client = new MongoClient(ferretUri(port), { serverSelectionTimeoutMS: 500 });
      try {
        await client.db('admin').command({ ping: 1 });
        return true;
      } finally {
        await client.close();
      }
    },
  });
  const uri = ferretUri(server.port);
  const client = new MongoClient(uri);
  try {
    await client.db('local').createCollection('oplog.rs', { capped: true, size: oplogBytes });
  } finally {
    await client.close();
  }
  return { ...server, uri };
}
