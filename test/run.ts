// `npm test`: gets real servers, runs every test file with node:test against them, stops them.
//   MongoDB-wire: TEST_MONGODB_URI if given; else a mongod replica set when MONGOMS_SYSTEM_BINARY
//                 names a binary; else FerretDB built (once, cached) by servers/build-servers.sh.
//   S3:           TEST_S3_ENDPOINT (+ TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY,
//                 TEST_S3_BUCKET) if given; else MinIO built and started the same way.
//   KMS:          TEST_KMS_ENDPOINT if given; else local-kms built and started the same way,
//                 only when the run includes a test file whose name holds "kms".
//   Cluster:      TEST_MONGOS_URI (a mongos of a real sharded cluster) and TEST_MONGOS_TARGET_URI
//                 (a mongos of a second, empty one to restore onto) if given: the real-cluster
//                 files (support/real-cluster-files.ts) then run one at a time against them, beside
//                 the rest; without them those files skip. The FerretDB-simulated cluster files
//                 need neither and run as always.
// Extra arguments are test files or globs to run instead of all of them; those that start with
// "--" go to `node --test` itself (a reporter, --test-concurrency=N to override the default).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFerretDB } from './servers/ferretdb.ts';
import { startMinio } from './servers/minio.ts';
import { startMongodReplSet } from './servers/mongod.ts';
import { startLocalKms } from './servers/local-kms.ts';
import { planTestFiles } from './support/real-cluster-files.ts';

const ALL_TESTS = ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/faults/**/*.test.ts'];
const BUILD_SCRIPT = fileURLToPath(new URL('./servers/build-servers.sh', import.meta.url));
/** A hung test fails instead of eating CI's time. */
const TEST_TIMEOUT_MS = 10 * 60 * 1000;
/**
 * Test files run side by side. node:test's default is availableParallelism() - 1, one file at a
 * time on 2 cores, although most files spend their time waiting on servers, child processes and
 * timers, not on this process's CPU. Files are independent of each other: each writes under
 * database names, store prefixes and folders of its own (uniqueName, mkdtemp), and a file that
 * backs up a whole server, reads its newest op or depends on its oplog's size starts a FerretDB
 * of its own (support/dedicated-mongo.ts).
 * A given server or a mongod replica set is one server for every file: there a base dumps every
 * other file's databases and can meet one being dropped (listIndexes on a dropped collection
 * fails), and "the newest op" may be another file's. So files run one at a time there.
 */
const TEST_CONCURRENCY = 4;
const TEST_CONCURRENCY_ONE_SERVER = 1;
/**
 * The longest file (the built Lambda handler under AWS's emulator: invocations that wait out
 * their deadlines) starts at once in a node:test run of its own beside the others (which keep
 * TEST_CONCURRENCY - 1 slots): node:test sorts its file list, and started after the unit files
 * it would end the suite alone.
 */
const LONG_FILES = ['test/integration/lambda-runtime.test.ts'];

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
        (names.includes('minio') ? 'TEST_S3_ENDPOINT with TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY, TEST_S3_BUCKET' : '') +
        (names.includes('local-kms') ? 'TEST_KMS_ENDPOINT (a KMS-compatible endpoint)' : ''),
    );
    process.exit(3);
  }
  return new Map(output.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
}

/** Tests that need a KMS: only they make the run build (once, about 20 s) and start local-kms. */
const KMS_TEST = 'kms';

/** The test that runs the built handler under AWS's emulator and runtime client. */
const LAMBDA_RUNTIME_TEST = 'lambda-runtime';

/**
 * AWS's Lambda emulator and Node runtime client, built once into the cache. Missing build tools
 * (exit 3: no Go, or no C++ tool chain for the runtime client's native part) skip that test with
 * the reason; any other failure leaves the test to fail.
 */
function lambdaRuntime(): NodeJS.ProcessEnv {
  const result = spawnSync('bash', [BUILD_SCRIPT, 'aws-lambda-rie', 'lambda-ric'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status === 3) return { TEST_LAMBDA_RUNTIME_SKIP: result.stderr.trim().split('\n').at(-1) ?? 'build tools missing' };
  if (result.status !== 0) {
    process.stderr.write(result.stderr);
    return { TEST_LAMBDA_RUNTIME_ERROR: `build-servers.sh aws-lambda-rie lambda-ric failed (exit ${result.status})` };
  }
  const paths = new Map(result.stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
  return { TEST_LAMBDA_RIE_BIN: paths.get('aws-lambda-rie') ?? '', TEST_LAMBDA_RIC_ENTRY: paths.get('lambda-ric') ?? '' };
}

async function main(): Promise<number> {
  const stops: Stop[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env };
  try {
    if (!env.NODE_COMPILE_CACHE) {
      // Every test file and every CLI child (hundreds of them) strips and compiles the same
      // sources; Node's compile cache (keyed by each file's content) halves a CLI start's CPU.
      const cache = await mkdtemp(join(tmpdir(), 'mongo-pitr-compile-cache-'));
      stops.push(() => rm(cache, { recursive: true, force: true }));
      env.NODE_COMPILE_CACHE = cache;
    }
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
    const args = process.argv.slice(2);
    const files = args.filter((arg) => !arg.startsWith('--'));
    const testFlags = args.filter((arg) => arg.startsWith('--'));
    if (files.length === 0 || files.some((file) => file.includes(LAMBDA_RUNTIME_TEST))) Object.assign(env, lambdaRuntime());
    if (!env.TEST_KMS_ENDPOINT && (files.length === 0 || files.some((file) => file.includes(KMS_TEST)))) {
      const kms = await startLocalKms(buildServers(['local-kms']).get('local-kms') ?? '');
      stops.push(kms.stop);
      env.TEST_KMS_ENDPOINT = kms.endpoint;
    }
    console.log(
      `mongo-pitr tests: MongoDB-wire server = ${env.TEST_MONGODB_KIND} (${redactUri(env.TEST_MONGODB_URI ?? '')}), ` +
        `S3 = ${wantS3 ? 'MinIO' : 'given'} (${env.TEST_S3_ENDPOINT})` +
        (env.TEST_MONGOS_URI ? `, cluster = given (${redactUri(env.TEST_MONGOS_URI)}${env.TEST_MONGOS_TARGET_URI ? ` → ${redactUri(env.TEST_MONGOS_TARGET_URI)}` : ', no target'})` : ''),
    );
    // With a real cluster, its files run apart, one at a time: they share that one cluster.
    const plan = env.TEST_MONGOS_URI ? planTestFiles(files.length > 0 ? files.flatMap(expandGlob) : globSync(ALL_TESTS).sort(), env.TEST_MONGOS_URI) : undefined;
    const chosen = plan ? plan.rest : files;
    const wholeSuite = files.length === 0;
    const codes = await Promise.all([
      ...(plan && plan.realCluster.length > 0 ? [runNodeTest(['--test-concurrency=1', ...testFlags, ...plan.realCluster], env)] : []),
      ...runRest(chosen, wholeSuite, testFlags, env),
    ]);
    return codes.find((code) => code !== 0) ?? 0;
  } finally {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => console.error(String(error)));
  }
}

/** The node:test runs for the files that are not real-cluster ones (all of them when `wholeSuite`). */
function runRest(files: readonly string[], wholeSuite: boolean, testFlags: readonly string[], env: NodeJS.ProcessEnv): Promise<number>[] {
  if (!wholeSuite && files.length === 0) return [];
  if (env.TEST_MONGODB_KIND !== 'ferretdb') {
    return [runNodeTest([`--test-concurrency=${TEST_CONCURRENCY_ONE_SERVER}`, ...testFlags, ...(wholeSuite && files.length === 0 ? ALL_TESTS : files)], env)];
  }
  if (!wholeSuite) return [runNodeTest([`--test-concurrency=${TEST_CONCURRENCY}`, ...testFlags, ...files], env)];
  const rest = (files.length > 0 ? files : globSync(ALL_TESTS)).filter((file) => !LONG_FILES.includes(file)).sort();
  return [
    runNodeTest([...testFlags, ...LONG_FILES], env),
    runNodeTest([`--test-concurrency=${TEST_CONCURRENCY - 1}`, ...testFlags, ...rest], env),
  ];
}

/** A file argument as the files it names: node:test expands globs itself, the split needs names. */
function expandGlob(pattern: string): string[] {
  const found = globSync(pattern);
  return found.length > 0 ? found.sort() : [pattern];
}

function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

function runNodeTest(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', `--test-timeout=${TEST_TIMEOUT_MS}`, ...args], {
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
