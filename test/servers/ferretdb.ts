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

export function ferretUri(port: number, standalone = false, setName = FERRETDB_SET_NAME): string {
  if (standalone) return `mongodb://127.0.0.1:${port}/?directConnection=true`;
  return `mongodb://127.0.0.1:${port}/?replicaSet=${setName}&directConnection=true`;
}

export interface FerretDBOptions {
  /** No --repl-set-name and no oplog: the server reports itself as a standalone. */
  readonly standalone?: boolean;
  /** The replica-set name it reports (default rs0): a simulated cluster's members each have their own. */
  readonly setName?: string;
}

export async function startFerretDB(bin: string, oplogBytes = DEFAULT_OPLOG_BYTES, options: FerretDBOptions = {}): Promise<FerretDB> {
  const standalone = options.standalone === true;
  const setName = options.setName ?? FERRETDB_SET_NAME;
  const server = await startServer({
    name: 'ferretdb',
    bin,
    args: (port, dataDir) => [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--state-dir=${dataDir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      ...(standalone ? [] : [`--repl-set-name=${setName}`]),
      // FerretDB trims capped collections on a timer (default 1m): a test that asks for a small
      // oplog wants to see it roll over within seconds.
      ...(oplogBytes < DEFAULT_OPLOG_BYTES ? ['--test-capped-cleanup-interval=1s'] : []),
      '--telemetry=disable',
      '--log-level=ERROR',
    ],
    ready: async (port) => {
      const client = new MongoClient(ferretUri(port, standalone, setName), { serverSelectionTimeoutMS: 500 });
      try {
        await client.db('admin').command({ ping: 1 });
        return true;
      } finally {
        await client.close();
      }
    },
  });
  const uri = ferretUri(server.port, standalone, setName);
  if (standalone) return { ...server, uri };
  const client = new MongoClient(uri);
  try {
    await client.db('local').createCollection('oplog.rs', { capped: true, size: oplogBytes });
  } finally {
    await client.close();
  }
  return { ...server, uri };
}
