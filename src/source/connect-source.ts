// Connecting to the source and proving it is a replica-set member: an oplog exists only there.
// Authentication, TLS and read preference (archiving from a secondary) come from the URI.
//
// A run is pinned to one member: the URI's read preference selects it once, through a
// discovering client, and every later command goes over a direct connection to it
// (pinned-uri.ts says why). Every member keeps its own oplog and its own majority point
// (hello.lastWrite on that member), so T0, the dump, T1 and the oplog reads all agree.
// FerretDB is one member that names itself in hello; pinning there is shown for real, but
// choosing among members by read preference (and the lag between them) is not.
import { MongoClient, type CommandSucceededEvent, type Document, type ReadPreference } from 'mongodb';
import { SourceError, UsageError } from '../errors.ts';
import { redactUri } from '../redact.ts';
import type { SourceIdentity } from '../archive/manifest.ts';
import { pinnedUri } from './pinned-uri.ts';
import { timeLimit, type Deadline } from './time-limit.ts';

export interface Source {
  /** A direct connection to the one member this run reads from. */
  readonly client: MongoClient;
  readonly identity: SourceIdentity;
  /** The URI with its password redacted, for logs and errors. */
  readonly uri: string;
  /** The member the run is pinned to, host:port as the driver reached it. */
  readonly member: string;
  /**
   * The set's data-bearing members as hello lists them (`hosts`, then `passives`, the priority-0
   * ones; arbiters hold no data): recorded on the chain so status can name the cluster.
   * Optional: sources built by hand (tests) have none.
   */
  readonly hosts?: readonly string[];
  /** The read preference from the URI; commands that inspect the node use it too. */
  readonly readPreference: ReadPreference;
  /**
   * When every server call of this run must have ended (time-limit.ts); undefined: no limit. Set
   * for a Lambda invocation, a little after its stop signal fires.
   */
  readonly deadline?: Deadline;
}

const DEFAULT_SERVER_SELECTION_MS = 10_000;

export interface ConnectSourceOptions {
  readonly serverSelectionTimeoutMS?: number;
  /** Emit the driver's command events on the pinned client (diagnostics, tests). */
  readonly monitorCommands?: boolean;
  /** Bounds every server call of the run, the connection's own included (time-limit.ts). */
  readonly deadline?: Deadline;
}

export async function connectSource(uri: string, options: ConnectSourceOptions = {}): Promise<Source> {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) {
    throw new UsageError(`source URI must start with mongodb:// or mongodb+srv:// (got ${redactUri(uri)})`);
  }
  // Options given in code override the URI's, so the default applies only when the URI is silent.
  const uriTimeout = /[?&]serverSelectionTimeoutMS=/i.test(uri);
  const serverSelectionTimeoutMS = options.serverSelectionTimeoutMS ?? (uriTimeout ? undefined : DEFAULT_SERVER_SELECTION_MS);
  const clientOptions = { ...(serverSelectionTimeoutMS === undefined ? {} : { serverSelectionTimeoutMS }), appName: 'mongo-pitr' };
  let discovery: MongoClient;
  try {
    discovery = new MongoClient(uri, { ...clientOptions, monitorCommands: true });
  } catch (error) {
    throw new UsageError(`invalid source URI ${redactUri(uri)}: ${(error as Error).message}`, { cause: error });
  }
  const safeUri = redactUri(uri);
  let client: MongoClient | undefined;
  try {
    await withDeadline(discovery.connect(), options.deadline);
    const { hello, member } = await selectMember(discovery, options.deadline);
    assertReplicaSetMember(hello, safeUri); // a mongos or a standalone is refused before pinning
    client = new MongoClient(pinnedUri(uri, member, { authSource: discovery.options.credentials?.source }), {
      ...clientOptions,
      monitorCommands: options.monitorCommands === true,
    });
    await withDeadline(client.connect(), options.deadline);
    const pinnedHello = await client.db('admin').command({ hello: 1 }, timeLimit(options.deadline));
    const identity = await identify(client, pinnedHello, safeUri, options.deadline);
    if (identity.setName !== hello.setName) {
      throw new SourceError(`${member} answered as replica set ${identity.setName}, not ${String(hello.setName)}`);
    }
    const deadline = options.deadline === undefined ? {} : { deadline: options.deadline };
    return { client, identity, uri: safeUri, member, hosts: membersOf(hello, member), readPreference: client.readPreference, ...deadline };
  } catch (error) {
    await client?.close().catch(() => undefined);
    if (error instanceof SourceError) throw error;
    throw new SourceError(`cannot reach the source ${safeUri}: ${firstLine(error)}`, {
      cause: error,
      hint: 'check the URI, the network and the credentials',
    });
  } finally {
    await discovery.close().catch(() => undefined);
  }
}

/**
 * The member the URI's read preference selects, as host:port, and its hello: the driver picks
 * the server for the command, and command monitoring says which one answered.
 */
async function selectMember(discovery: MongoClient, deadline: Deadline | undefined): Promise<{ hello: Document; member: string }> {
  let member: string | undefined;
  const listen = (event: CommandSucceededEvent): void => {
    if (event.commandName === 'hello') member = event.address;
  };
  discovery.on('commandSucceeded', listen);
  try {
    const hello = await discovery.db('admin').command({ hello: 1 }, { readPreference: discovery.readPreference, ...timeLimit(deadline) });
    if (!member) throw new SourceError('the driver did not say which member answered hello');
    return { hello, member };
  } finally {
    discovery.off('commandSucceeded', listen);
  }
}

async function identify(client: MongoClient, hello: Document, uri: string, deadline: Deadline | undefined): Promise<SourceIdentity> {
  const setName = assertReplicaSetMember(hello, uri);
  return { setName, replicaSetId: await replicaSetId(client, deadline) };
}

function assertReplicaSetMember(hello: Document, uri: string): string {
  if (hello.msg === 'isdbgrid') {
    throw new SourceError(`${uri} is a mongos: point mongo-pitr at each shard's replica set`);
  }
  if (typeof hello.setName !== 'string' || hello.setName === '') {
    throw new SourceError(`${uri} is a standalone server: only replica-set members keep an oplog`, {
      hint: 'start mongod with --replSet and run rs.initiate()',
    });
  }
  return hello.setName;
}

/** settings.replicaSetId tells a restored or rebuilt set from the original of the same name. */
async function replicaSetId(client: MongoClient, deadline: Deadline | undefined): Promise<string | null> {
  try {
    const reply = await client.db('admin').command({ replSetGetConfig: 1 }, timeLimit(deadline));
    const id: unknown = reply.config?.settings?.replicaSetId;
    return id ? String(id) : null;
  } catch (error) {
    // Cut off by the deadline, it says nothing about the set: an identity without the id would name another source.
    if (deadline?.signal.aborted) throw error;
    return null; // FerretDB and restricted users: the set name alone identifies the source
  }
}

/** `connect()` takes no signal: past the deadline the run stops waiting for it (the client is closed after). */
async function withDeadline<T>(work: Promise<T>, deadline: Deadline | undefined): Promise<T> {
  if (!deadline) return work;
  deadline.signal.throwIfAborted();
  let stop: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    stop = () => reject(deadline.signal.reason);
    deadline.signal.addEventListener('abort', stop, { once: true });
  });
  try {
    return await Promise.race([work, stopped]);
  } finally {
    if (stop) deadline.signal.removeEventListener('abort', stop);
  }
}

/**
 * hello's member lists on a replica set (mongo's jstests/replsets/ismaster1.js checks them:
 * `hosts` for electable members, `passives` for priority 0, `arbiters` apart); FerretDB lists
 * only itself in `hosts` or nothing, so the member we reached stands in.
 */
function membersOf(hello: Document, member: string): string[] {
  const listed = [hello.hosts, hello.passives].flatMap((list: unknown) => (Array.isArray(list) ? list.filter((host): host is string => typeof host === 'string') : []));
  return listed.length > 0 ? listed : [member];
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}
