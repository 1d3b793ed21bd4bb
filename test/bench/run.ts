// `npm run bench`: mongo-pitr against mongodump/mongorestore and against the machine's ceilings,
// on the same servers and the same data, in one run. See test/bench/README.md.
//
//   npm run bench -- [--docs 100000,1000000] [--oplog-ops 1000000] [--store folder|s3]
//                    [--out test/bench/results/latest.json] [--collections 4] [--window 200]
//                    [--gzip-sample-mb 256] [--profile]
//
// For each size N: fresh servers (servers.ts), seed N documents, measure the read and gzip
// ceilings, `mongo-pitr backup` (and mongodump --oplog), generate M mixed ops, measure the oplog
// read ceiling, `mongo-pitr oplog` (and mongodump of oplog.rs), measure the target's insertMany
// ceiling, `mongo-pitr restore --nsFrom/--nsTo` into a fresh database (and mongorestore
// --oplogReplay), check the restored counts. Prints one table; writes the raw results as JSON.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { collectionNames, generateOps, seed } from './workload.ts';
import { gzipCeiling, oplogCeiling, readCeiling, writeCeiling } from './ceilings.ts';
import { archiveOplog, backup, manifestOf, newestChain, restore, writeOplogFile, type PitrContext, type StageRun } from './pitr.ts';
import { dumpBase, dumpOplog, failureOf, findTool, replayOplog, restoreBase, restoreBaseOnly, type Tool } from './peers.ts';
import { buildRows, formatCommands, formatTable, type Measured, type PeerStage, type SizeResult } from './report.ts';
import { formatProfile, summarizeProfile } from './profile-summary.ts';
import { openServers, openStoreKind, sourceKind, type BenchServer } from './servers.ts';
import { rssSplit, type ChildResult } from './child.ts';

const USAGE = `usage: npm run bench -- [options]
  --docs <n,n,...>        documents to seed, one bench per size (default 100000,1000000)
  --oplog-ops <n>         mixed ops to generate and archive per size (default 1000000)
  --store folder|s3       where mongo-pitr writes (default folder; s3 starts MinIO unless TEST_S3_* is set)
  --out <file>            raw results as JSON (default test/bench/results/latest.json)
  --collections <n>       collections the documents are spread over (default 4)
  --window <n>            live documents the generated ops keep (default 200)
  --gzip-sample-mb <n>    raw MB the gzip ceiling compresses at most (default 256)
  --profile               run mongo-pitr's children under node --cpu-prof and trace their server
                          round trips (trace-commands.ts); prints where each stage's time went
  --report <file>         print the table of an earlier results file, run nothing
environment: TEST_MONGODB_URI (use this replica set), MONGOMS_SYSTEM_BINARY (start mongod),
  BENCH_TARGET_URI (restore target), MONGODUMP_BIN, MONGORESTORE_BIN, TEST_S3_*`;

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const DEFAULT_OUT = join(ROOT, 'test/bench/results/latest.json');
/** As many collections at once as `mongo-pitr backup` dumps, and insert batches as restore sends. */
const TOOL_CONCURRENCY = 4;

interface Options {
  sizes: number[];
  oplogOps: number;
  store: 'folder' | 's3';
  out: string;
  collections: number;
  window: number;
  gzipSampleBytes: number;
  profile: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      docs: { type: 'string', default: '100000,1000000' },
      'oplog-ops': { type: 'string', default: '1000000' },
      store: { type: 'string', default: 'folder' },
      out: { type: 'string', default: DEFAULT_OUT },
      collections: { type: 'string', default: '4' },
      window: { type: 'string', default: '200' },
      'gzip-sample-mb': { type: 'string', default: '256' },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const positive = (text: string, flag: string): number => {
    const value = Number(text.replace(/_/g, ''));
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} ${text}: expected a positive whole number\n${USAGE}`);
    return value;
  };
  if (values.store !== 'folder' && values.store !== 's3') throw new Error(`--store ${values.store}: expected folder or s3\n${USAGE}`);
  return {
    sizes: values.docs.split(',').map((text) => positive(text.trim(), '--docs')).sort((a, b) => a - b),
    oplogOps: positive(values['oplog-ops'], '--oplog-ops'),
    store: values.store,
    out: resolve(values.out),
    collections: positive(values.collections, '--collections'),
    window: positive(values.window, '--window'),
    gzipSampleBytes: positive(values['gzip-sample-mb'], '--gzip-sample-mb') * 1e6,
    profile: values.profile,
  };
}

const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

function measured(child: ChildResult): Measured {
  return { wallMs: child.wallMs, peakRssBytes: child.peakRssBytes, cpuSeconds: child.cpuSeconds, serverCpuSeconds: child.serverCpuSeconds };
}

async function peerStage(tool: Tool, run: (path: string) => Promise<ChildResult>, extra: (child: ChildResult) => Promise<Record<string, number>> | Record<string, number> = () => ({})): Promise<PeerStage> {
  if ('unavailable' in tool) return { unavailable: tool.unavailable };
  const child = await run(tool.path);
  const failure = failureOf(child);
  if (failure) return { unavailable: failure };
  return { ...measured(child), ...(await extra(child)) };
}

async function benchSize(docs: number, options: Options, tools: { dump: Tool; restore: Tool }): Promise<SizeResult> {
  const stepsMs: Record<string, number> = {};
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    log(`${docs}: ${name} ...`);
    const started = performance.now();
    const value = await work();
    stepsMs[name] = performance.now() - started;
    log(`${docs}: ${name} done in ${(stepsMs[name] / 1000).toFixed(1)} s`);
    return value;
  };
  const { source, target, sameServer } = await step('start servers', () => openServers());
  const storeKind = await openStoreKind(options.store);
  const work = await mkdtemp(join(tmpdir(), 'mongo-pitr-bench-'));
  const sourceClient = new MongoClient(source.uri);
  const targetClient = new MongoClient(target.uri);
  const db = source.own ? `bench_${docs}` : `bench_${docs}_${randomBytes(3).toString('hex')}`;
  const restoredDb = `${db}_pitr`;
  const scratchDb = `${db}_ceiling`;
  const store = await storeKind.open(String(docs));
  try {
    const names = collectionNames(options.collections);
    let lastReport = 0;
    const progress = (what: string, total: number) => (done: number) => {
      if (performance.now() - lastReport < 15_000) return;
      lastReport = performance.now();
      log(`${docs}: ${what} ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
    };
    const seeded = await step('seed', () => seed(sourceClient, db, docs, options.collections, progress('seeded', docs)));
    const read = await step('read ceiling', () => readCeiling(sourceClient, db, names, TOOL_CONCURRENCY));
    const gzip = await step('gzip ceiling', () => gzipCeiling(sourceClient, db, names, options.gzipSampleBytes));

    const profiles: NonNullable<SizeResult['profiles']> = {};
    const context = (serverPids: readonly number[]): PitrContext => ({
      storeArgs: store.cliArgs,
      env: store.env,
      serverPids,
      ...(options.profile && { profileDir: join(dirname(options.out), 'profiles', String(docs)) }),
    });
    const profiled = (name: string, run: StageRun): StageRun => {
      if (run.profile) {
        profiles[name] = { cpu: summarizeProfile(run.profile), ...(run.commands && { commands: run.commands.slice(0, 20) }), ...(run.memory && { memory: run.memory }) };
      }
      return run;
    };

    const backupRun = profiled('backup', await step('mongo-pitr backup', () => backup(context(source.pids), source.uri)));
    const baseChain = newestChain(await manifestOf(store.url, store.openOptions));
    const dataObjects = baseChain.base.collections.flatMap((entry) => (entry.data ? [entry.data] : []));
    const archive = join(work, 'mongodump.archive.gz');
    const peerDump = await step('mongodump --oplog', () =>
      peerStage(tools.dump, (path) => dumpBase(path, source.uri, archive, source.pids), async () => ({ storedBytes: (await stat(archive)).size })),
    );

    const generated = await step('generate ops', () =>
      generateOps(sourceClient, db, {
        ops: options.oplogOps,
        window: options.window,
        firstIndex: docs,
        isFerretDB: source.isFerretDB,
        onProgress: progress('ops', options.oplogOps),
      }),
    );
    const oplogRead = await step('oplog read ceiling', () => oplogCeiling(sourceClient, baseChain.base.endTs));
    const oplogRun = profiled('oplog', await step('mongo-pitr oplog', () => archiveOplog(context(source.pids), source.uri)));
    const chain = newestChain(await manifestOf(store.url, store.openOptions));
    const oplogArchive = join(work, 'mongodump-oplog.archive.gz');
    const peerOplog = await step('mongodump of oplog.rs', () =>
      peerStage(tools.dump, (path) => dumpOplog(path, source.uri, baseChain.base.endTs, oplogArchive, source.pids), async () => ({
        storedBytes: (await stat(oplogArchive)).size,
      })),
    );

    const write = await step('write ceiling', async () => {
      try {
        return await writeCeiling(targetClient, scratchDb, docs, TOOL_CONCURRENCY);
      } finally {
        await targetClient.db(scratchDb).dropDatabase();
      }
    });
    const restoreRun = profiled('restore', await step('mongo-pitr restore', () => restore(context(target.pids), target.uri, db, restoredDb)));
    const verified = await step('verify restore', () => verifyRestore(sourceClient, targetClient, db, restoredDb, [...names, 'live']));

    let peerRestore: PeerStage;
    let peerReplay: PeerStage;
    if (sameServer) {
      const reason = 'needs a restore target other than the source (set BENCH_TARGET_URI)';
      peerRestore = 'unavailable' in tools.restore ? tools.restore : { unavailable: reason };
      peerReplay = peerRestore;
    } else if ('unavailable' in peerDump) {
      peerRestore = 'unavailable' in tools.restore ? tools.restore : { unavailable: `no mongodump archive (${peerDump.unavailable})` };
      peerReplay = 'unavailable' in tools.restore ? tools.restore : { unavailable: 'no base restored by mongorestore' };
    } else {
      peerRestore = await step('mongorestore --oplogReplay', () => peerStage(tools.restore, (path) => restoreBase(path, target.uri, archive, target.pids)));
      if ('unavailable' in peerRestore && !('unavailable' in tools.restore)) {
        // The replay failed (FerretDB has no applyOps): time the base load alone, so the load rate
        // still has a peer; the replay columns keep the reason.
        const replayFailure = peerRestore.unavailable;
        const baseOnly = await step('mongorestore base only', () => peerStage(tools.restore, (path) => restoreBaseOnly(path, target.uri, archive, target.pids)));
        peerRestore = 'unavailable' in baseOnly ? baseOnly : { ...baseOnly, baseOnly: replayFailure };
        peerReplay = { unavailable: `--oplogReplay ${replayFailure}` };
      } else if ('unavailable' in peerRestore) {
        peerReplay = { unavailable: 'no base restored by mongorestore' };
      } else {
        const oplogFile = join(work, 'oplog.bson');
        const emptyDir = join(work, 'empty');
        await mkdir(emptyDir, { recursive: true });
        const ops = await writeOplogFile(store.url, store.openOptions, chain, oplogFile);
        peerReplay = await step('mongorestore --oplogFile', () =>
          peerStage(tools.restore, (path) => replayOplog(path, target.uri, oplogFile, emptyDir, target.pids), () => ({ ops })),
        );
      }
    }

    const oplogResult = oplogRun.result as { ops: number; chunks: number };
    const restoreResult = restoreRun.result as { base?: { documents: number }; receipt?: { applied: number }; applyMode?: string; stats?: Record<string, number> };
    const at = (type: string): number => restoreRun.events.find((event) => event.type === type)?.atMs ?? NaN;
    const backupResult = backupRun.result as { documents: number; storedBytes: number; oplogOps: number };
    return {
      docs,
      db,
      servers: {
        source: `${source.version} (${source.own ? 'own' : 'given'})`,
        target: sameServer ? 'the source server, fresh database' : `${target.version} (${target.own ? 'own, fresh' : 'given'})`,
        sameServer,
      },
      seed: seeded,
      ceilings: { read, gzip, oplog: oplogRead, write },
      generated,
      pitr: {
        backup: {
          ...measured(backupRun.child),
          documents: backupResult.documents,
          rawBytes: dataObjects.reduce((sum, object) => sum + object.rawBytes, 0),
          storedBytes: backupResult.storedBytes,
          oplogOps: backupResult.oplogOps,
        },
        oplog: {
          ...measured(oplogRun.child),
          ops: oplogResult.ops,
          chunks: oplogResult.chunks,
          rawBytes: chain.chunks.reduce((sum, chunk) => sum + chunk.rawBytes, 0),
          storedBytes: chain.chunks.reduce((sum, chunk) => sum + chunk.storedBytes, 0),
        },
        restore: {
          ...measured(restoreRun.child),
          documents: restoreResult.base?.documents ?? 0,
          applied: restoreResult.receipt?.applied ?? 0,
          applyMode: restoreResult.applyMode ?? '?',
          stats: restoreResult.stats ?? {},
          downloadMs: at('restore.verified') - at('restore.plan'),
          loadMs: at('restore.base') - at('restore.verified'),
          replayMs: restoreRun.child.wallMs - at('restore.base'),
          ...rssSplit(restoreRun.child.rssTimeline, at('restore.base')),
          verified,
        },
      },
      peer: { dump: peerDump, oplogDump: peerOplog, restoreBase: peerRestore, replay: peerReplay },
      ...(options.profile && { profiles }),
      stepsMs,
    };
  } finally {
    if (!source.own) await sourceClient.db(db).dropDatabase().catch(() => undefined);
    if (!target.own) await targetClient.db(restoredDb).dropDatabase().catch(() => undefined);
    await sourceClient.close();
    await targetClient.close();
    await store.remove();
    await storeKind.stop();
    await stopAll([source, ...(sameServer ? [] : [target])]);
    await rm(work, { recursive: true, force: true });
  }
}

async function stopAll(servers: readonly BenchServer[]): Promise<void> {
  for (const server of servers) await server.stop().catch((error: unknown) => log(`stopping ${server.version}: ${String(error)}`));
}

/** Same documents per collection in the restored database as in the source: "verified", or what differs. */
async function verifyRestore(source: MongoClient, target: MongoClient, db: string, restored: string, names: readonly string[]): Promise<string> {
  const differences: string[] = [];
  for (const name of names) {
    const [expected, actual] = await Promise.all([
      source.db(db).collection(name).countDocuments(),
      target.db(restored).collection(name).countDocuments(),
    ]);
    if (expected !== actual) differences.push(`${name}: ${actual} of ${expected}`);
  }
  return differences.length === 0 ? 'counts verified' : `COUNTS DIFFER: ${differences.join(', ')}`;
}

/** Seconds a default run (100k and 1M documents, 1M ops) would take, scaled linearly from a measured size. */
function extrapolate(result: SizeResult, oplogOps: number): number {
  const s = result.stepsMs;
  const get = (name: string): number => s[name] ?? 0;
  const restore = result.pitr.restore;
  const perDoc =
    (get('seed') + get('read ceiling') + get('gzip ceiling') + get('mongo-pitr backup') + get('mongodump --oplog') + get('write ceiling') +
      restore.downloadMs + restore.loadMs + get('verify restore') + get('mongorestore --oplogReplay')) /
    result.docs;
  const perOp =
    (get('generate ops') + get('oplog read ceiling') + get('mongo-pitr oplog') + get('mongodump of oplog.rs') + restore.replayMs +
      get('mongorestore --oplogFile')) /
    oplogOps;
  const fixed = get('start servers');
  return ([100_000, 1_000_000].reduce((sum, docs) => sum + fixed + perDoc * docs + perOp * 1_000_000, 0)) / 1000;
}

interface Report {
  readonly date: string;
  readonly options: Omit<Options, 'out'> & { readonly out: string };
  readonly machine: { readonly node: string; readonly cpus: number; readonly cpuModel: string; readonly memoryBytes: number; readonly loadavg: number[] };
  readonly tools: { readonly mongodump: Tool; readonly mongorestore: Tool };
  readonly results: SizeResult[];
  readonly totalSeconds: number;
}

function render(report: Report): string {
  const { options, results } = report;
  const first = results[0] as SizeResult;
  const last = results.at(-1) as SizeResult;
  const where = report.options.out;
  const lines = [
    `mongo-pitr bench ${report.date.slice(0, 16)}Z — source ${first.servers.source}, restore target ${first.servers.target}, store ${options.store}, ` +
      `${options.collections} collections of ~1 KB documents, ${options.oplogOps.toLocaleString('en-US')} generated ops, ` +
      `node ${report.machine.node}, ${report.machine.cpus} cpus (load ${report.machine.loadavg.map((load) => load.toFixed(1)).join(' ')})`,
    `raw results: ${where}${where.startsWith('test/bench/results/') ? ' (test/bench/results/ is git-ignored)' : ''}`,
    '',
    formatTable(buildRows(results)),
    '',
    "MB/s count the seeded collections' raw BSON bytes. cpu/server % = CPU time of the tool / of the server process over the stage's wall time (100% = one core).",
    'Ceilings: read = bare raw cursors draining the same collections, 4 at once; gzip = node:zlib default level on one core over the same bytes;',
    'oplog read = bare raw cursor over the archived range; insertMany = unordered insertMany of the same documents into a scratch database on the target;',
    'generator = the rate the bench itself wrote the same op mix to the source (plain driver calls). Targets: ✓ met, ✗ missed, – not measurable here.',
    `run time ${Math.round(report.totalSeconds)} s; a default run (100,000 + 1,000,000 documents, 1,000,000 ops) would take about ` +
      `${Math.round(extrapolate(last, options.oplogOps) / 60)} min here, scaled linearly from the ${last.docs.toLocaleString('en-US')}-document run ` +
      '(a lower bound on FerretDB, whose oplog scans grow with the oplog).',
  ];
  for (const result of results) {
    for (const [stage, { cpu, commands, memory }] of Object.entries(result.profiles ?? {})) {
      const wallMs = result.pitr[stage as 'backup' | 'oplog' | 'restore'].wallMs;
      lines.push('', `profile of mongo-pitr ${stage} at ${result.docs.toLocaleString('en-US')} documents (wall ${(wallMs / 1000).toFixed(1)} s):`);
      lines.push(...formatProfile(cpu), ...(commands ? formatCommands(commands, wallMs) : []));
      if (memory) {
        const parts = Object.entries(memory).map(([key, bytes]) => `${key} ${Math.round(bytes / 1024 / 1024)}`);
        lines.push(`  memory peaks (process.memoryUsage, MiB): ${parts.join(', ')}`);
      }
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const reprint = argv.indexOf('--report');
  if (reprint >= 0) {
    const file = argv[reprint + 1];
    if (!file) throw new Error(`--report needs a results file\n${USAGE}`);
    console.log(render(JSON.parse(await readFile(file, 'utf8')) as Report));
    return;
  }
  const options = parseOptions(argv);
  const started = performance.now();
  const tools = { dump: findTool('mongodump'), restore: findTool('mongorestore') };
  log(`sizes ${options.sizes.join(', ')}; ${options.oplogOps} ops; store ${options.store}; source ${sourceKind()}`);
  log(`mongodump: ${'path' in tools.dump ? tools.dump.path : tools.dump.unavailable}; mongorestore: ${'path' in tools.restore ? tools.restore.path : tools.restore.unavailable}`);
  const results: SizeResult[] = [];
  for (const docs of options.sizes) results.push(await benchSize(docs, options, tools));
  const report: Report = {
    date: new Date().toISOString(),
    options: { ...options, out: relative(ROOT, options.out) },
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryBytes: totalmem(), loadavg: loadavg() },
    tools: { mongodump: tools.dump, mongorestore: tools.restore },
    results,
    totalSeconds: (performance.now() - started) / 1000,
  };
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(render(report));
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
