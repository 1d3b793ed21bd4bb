// Connecting to the source and proving it is a replica-set member: an oplog exists only there.
// Authentication, TLS and read preference (archiving from a secondary) come from the URI.
import { MongoClient, type Document, type ReadPreference } from 'mongodb';
import { SourceError, UsageError } from '../errors.ts';
import { redactUri } from '../redact.ts';
import type { SourceIdentity } from '../archive/manifest.ts';

export interface Source {
  readonly client: MongoClient;
  readonly identity: SourceIdentity;
  /** The URI with its password redacted, for logs and errors. */
  readonly uri: string;
  /** The read preference from the URI; commands that inspect the node use it too. */
  readonly readPreference: ReadPreference;
}

const DEFAULT_SERVER_SELECTION_MS = 10_000;

export async function connectSource(uri: string, options: { serverSelectionTimeoutMS?: number } = {}): Promise<Source> {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) {
    throw new UsageError(`source URI must start with mongodb:// or mongodb+srv:// (got ${redactUri(uri)})`);
  }
  // Options given in code override the URI's, so the default applies only when the URI is silent.
  const uriTimeout = /[?&]serverSelectionTimeoutMS=/i.test(uri);
  const serverSelectionTimeoutMS = options.serverSelectionTimeoutMS ?? (uriTimeout ? undefined : DEFAULT_SERVER_SELECTION_MS);
  let client: MongoClient;
  try {
    client = new MongoClient(uri, {
      ...(serverSelectionTimeoutMS === undefined ? {} : { serverSelectionTimeoutMS }),
      appName: 'mongo-pitr',
    });
  } catch (error) {
    throw new UsageError(`invalid source URI ${redactUri(uri)}: ${(error as Error).message}`, { cause: error });
  }
  const safeUri = redactUri(uri);
  try {
    await client.connect();
    const hello = await client.db('admin').command({ hello: 1 }, { readPreference: client.readPreference });
    const identity = await identify(client, hello, safeUri);
    return { client, identity, uri: safeUri, readPreference: client.readPreference };
  } catch (error) {
    await client.close().catch(() => undefined);
    if (error instanceof SourceError) throw error;
    throw new SourceError(`cannot reach the source ${safeUri}: ${firstLine(error)}`, {
      cause: error,
      hint: 'check the URI, the network and the credentials',
    });
  }
}

async function identify(client: MongoClient, hello: Document, uri: string): Promise<SourceIdentity> {
  if (hello.msg === 'isdbgrid') {
    throw new SourceError(`${uri} is a mongos: point mongo-pitr at each shard's replica set`);
  }
  if (typeof hello.setName !== 'string' || hello.setName === '') {
    throw new SourceError(`${uri} is a standalone server: only replica-set members keep an oplog`, {
      hint: 'start mongod with --replSet and run rs.initiate()',
    });
  }
  return { setName: hello.setName, replicaSetId: await replicaSetId(client) };
}

/** settings.replicaSetId tells a restored or rebuilt set from the original of the same name. */
async function replicaSetId(client: MongoClient): Promise<string | null> {
  try {
    const reply = await client.db('admin').command({ replSetGetConfig: 1 });
    const id: unknown = reply.config?.settings?.replicaSetId;
    return id ? String(id) : null;
  } catch {
    return null; // FerretDB and restricted users: the set name alone identifies the source
  }
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}
