// The servers one bench size runs against, fresh for each size so that one size's oplog never
// slows the next one's scans:
//   source — TEST_MONGODB_URI if given (shared: the bench writes its own databases and drops
//            them), else a mongod replica set when MONGOMS_SYSTEM_BINARY names a binary, else a
//            FerretDB of its own with a big capped oplog (FERRETDB_OPLOG_BYTES);
//   target — BENCH_TARGET_URI if given, else a second server of the same kind when the bench
//            started the source (a fresh server to restore into), else the source itself (the
//            restore then goes to a fresh database there);
//   store  — a temporary folder, or MinIO (TEST_S3_* if given, else one started here).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { startFerretDB } from '../servers/ferretdb.ts';
import { startMinio } from '../servers/minio.ts';
import { startMongodReplSet } from '../servers/mongod.ts';
import { findPids } from './child.ts';

const BUILD_SCRIPT = fileURLToPath(new URL('../servers/build-servers.sh', import.meta.url));
/** The source's capped oplog: the seed (N documents) and the generated ops must both fit. */
const FERRETDB_OPLOG_BYTES = 16 * 1024 ** 3;

export type ServerKind = 'ferretdb' | 'mongod' | 'given';

export interface BenchServer {
  readonly uri: string;
  readonly kind: ServerKind;
  /** "FerretDB 1.24.2", "MongoDB 8.0.4", ... */
  readonly version: string;
  readonly isFerretDB: boolean;
  /** The server's processes, for CPU accounting; empty for a given server. */
  readonly pids: readonly number[];
  /** True when the bench started it (and may fill it freely). */
  readonly own: boolean;
  stop(): Promise<void>;
}

export interface BenchStore {
  readonly kind: 'folder' | 's3';
  /** A fresh, empty store for one size: its CLI flags and environment. */
  open(label: string): Promise<{ url: string; cliArgs: string[]; env: NodeJS.ProcessEnv; openOptions: Record<string, unknown>; remove(): Promise<void> }>;
  stop(): Promise<void>;
}

let ferretBin: string | undefined;
let minioBin: string | undefined;

function buildServer(name: 'ferretdb' | 'minio'): string {
  const output = execFileSync('bash', [BUILD_SCRIPT, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = output.trim().split('\n').find((entry) => entry.startsWith(`${name}=`));
  if (!line) throw new Error(`build-servers.sh printed no ${name}= line`);
  return line.slice(name.length + 1);
}

export function sourceKind(): ServerKind {
  if (process.env.TEST_MONGODB_URI) return 'given';
  if (process.env.MONGOMS_SYSTEM_BINARY) return 'mongod';
  return 'ferretdb';
}

async function describe(uri: string): Promise<{ version: string; isFerretDB: boolean }> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    const info = await client.db('admin').command({ buildInfo: 1 });
    const ferret = typeof info.ferretdbVersion === 'string' ? info.ferretdbVersion : undefined;
    return { version: ferret ? `FerretDB ${ferret}` : `MongoDB ${String(info.version)}`, isFerretDB: ferret !== undefined };
  } finally {
    await client.close();
  }
}

async function startOwn(kind: 'ferretdb' | 'mongod', oplogBytes?: number): Promise<BenchServer> {
  if (kind === 'ferretdb') {
    ferretBin ??= buildServer('ferretdb');
    const server = await startFerretDB(ferretBin, oplogBytes);
    const pids = findPids((args) => args.some((arg) => arg === `--state-dir=${server.dataDir}`));
    return { uri: server.uri, kind, ...(await describe(server.uri)), pids, own: true, stop: server.stop };
  }
  const replSet = await startMongodReplSet();
  const port = new URL(replSet.uri.replace(/^mongodb:/, 'http:')).port;
  const pids = findPids((args) => /mongod$/.test(args[0] ?? '') && args.includes(port));
  return { uri: replSet.uri, kind, ...(await describe(replSet.uri)), pids, own: true, stop: replSet.stop };
}

async function given(uri: string): Promise<BenchServer> {
  return { uri, kind: 'given', ...(await describe(uri)), pids: [], own: false, stop: async () => undefined };
}

/** The source and the restore target for one bench size. */
export async function openServers(): Promise<{ source: BenchServer; target: BenchServer; sameServer: boolean }> {
  const kind = sourceKind();
  const source = kind === 'given' ? await given(process.env.TEST_MONGODB_URI ?? '') : await startOwn(kind, FERRETDB_OPLOG_BYTES);
  try {
    if (process.env.BENCH_TARGET_URI) return { source, target: await given(process.env.BENCH_TARGET_URI), sameServer: false };
    if (kind === 'given') return { source, target: source, sameServer: true };
    return { source, target: await startOwn(kind), sameServer: false };
  } catch (error) {
    await source.stop();
    throw error;
  }
}

export async function openStoreKind(kind: 'folder' | 's3'): Promise<BenchStore> {
  if (kind === 'folder') {
    return {
      kind,
      async open(label) {
        const dir = await mkdtemp(join(tmpdir(), `mongo-pitr-bench-${label}-`));
        return { url: dir, cliArgs: ['--store', dir], env: {}, openOptions: {}, remove: () => rm(dir, { recursive: true, force: true }) };
      },
      stop: async () => undefined,
    };
  }
  type S3Endpoint = { endpoint: string; accessKeyId: string; secretAccessKey: string; bucket: string; stop(): Promise<void> };
  let s3: S3Endpoint | undefined = process.env.TEST_S3_ENDPOINT
    ? {
        endpoint: process.env.TEST_S3_ENDPOINT,
        accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? '',
        secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? '',
        bucket: process.env.TEST_S3_BUCKET ?? '',
        stop: async () => undefined,
      }
    : undefined;
  if (!s3) {
    minioBin ??= buildServer('minio');
    s3 = await startMinio(minioBin);
  }
  const { endpoint, accessKeyId, secretAccessKey, bucket, stop } = s3;
  const region = process.env.TEST_S3_REGION || 'us-east-1';
  return {
    kind,
    async open(label) {
      const url = `s3://${bucket}/bench-${label}-${Date.now().toString(36)}`;
      return {
        url,
        cliArgs: ['--store', url, '--endpoint', endpoint, '--region', region],
        env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey },
        openOptions: { endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } },
        // The objects go with the MinIO server (started here) or stay under their prefix.
        remove: async () => undefined,
      };
    },
    stop,
  };
}
