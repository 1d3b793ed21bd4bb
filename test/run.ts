// `npm test`: gets real servers, runs every test file with node:test against them, stops them.
//   MongoDB-wire: TEST_MONGODB_URI if given; else a mongod replica set when MONGOMS_SYSTEM_BINARY
//                 names a binary; else FerretDB built (once, cached) by servers/build-servers.sh.
//   S3:           TEST_S3_ENDPOINT (+ TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY,
//                 TEST_S3_BUCKET) if given; else MinIO built and started the same way.
// Extra arguments are test files or globs to run instead of all of them.
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startFerretDB } from './servers/ferretdb.ts';
import { startMinio } from './servers/minio.ts';
import { startMongodReplSet } from './servers/mongod.ts';

const ALL_TESTS = ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/faults/**/*.test.ts'];
const BUILD_SCRIPT = fileURLToPath(new URL('./servers/build-servers.sh', import.meta.url));
/** A hung test fails instead of eating CI's time. */
const TEST_TIMEOUT_MS = 10 * 60 * 1000;

type Stop = () => Promise<void>;

function buildServers(names: string[]): Map<string, string> {
  if (names.length === 0) return new Map();
  let output: string;
  try {
    output = execFileSync('bash', [BUILD_SCRIPT, ...names], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  } catch {
    console.error(
      `npm test needs Go (to build ${names.join(' and ')}) or existing servers: ` +
        (names.includes('ferretdb') ? 'TEST_MONGODB_URI ' : '') +
        (names.includes('minio') ? 'TEST_S3_ENDPOINT with TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY, TEST_S3_BUCKET' : ''),
    );
    process.exit(3);
  }
  return new Map(output.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
}

async function main(): Promise<number> {
  const stops: Stop[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env };
  try {
    const wantMongo = !env.TEST_MONGODB_URI && !env.MONGOMS_SYSTEM_BINARY;
    const wantS3 = !env.TEST_S3_ENDPOINT;
    const bins = buildServers([...(wantS3 ? ['minio'] : []), ...(wantMongo ? ['ferretdb'] : [])]);

    if (env.TEST_MONGODB_URI) {
      env.TEST_MONGODB_KIND = 'given';
    } else if (env.MONGOMS_SYSTEM_BINARY) {
      const replSet = await startMongodReplSet();
      stops.push(replSet.stop);
      env.TEST_MONGODB_URI = replSet.uri;
      env.TEST_MONGODB_KIND = 'mongod';
    } else {
      const bin = bins.get('ferretdb') ?? '';
      const ferret = await startFerretDB(bin);
      stops.push(ferret.stop);
      env.TEST_MONGODB_URI = ferret.uri;
      env.TEST_MONGODB_KIND = 'ferretdb';
      env.TEST_FERRETDB_BIN = bin;
    }
    if (wantS3) {
      const minio = await startMinio(bins.get('minio') ?? '');
      stops.push(minio.stop);
      Object.assign(env, {
        TEST_S3_ENDPOINT: minio.endpoint,
        TEST_S3_ACCESS_KEY_ID: minio.accessKeyId,
        TEST_S3_SECRET_ACCESS_KEY: minio.secretAccessKey,
        TEST_S3_BUCKET: minio.bucket,
      });
    }
    console.log(
      `mongo-pitr tests: MongoDB-wire server = ${env.TEST_MONGODB_KIND} (${redactUri(env.TEST_MONGODB_URI ?? '')}), ` +
        `S3 = ${wantS3 ? 'MinIO' : 'given'} (${env.TEST_S3_ENDPOINT})`,
    );
    const files = process.argv.slice(2);
    return await runNodeTest(files.length > 0 ? files : ALL_TESTS, env);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => console.error(String(error)));
  }
}

function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

function runNodeTest(patterns: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', `--test-timeout=${TEST_TIMEOUT_MS}`, ...patterns], {
      env,
      stdio: 'inherit',
    });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

process.exitCode = await main();
