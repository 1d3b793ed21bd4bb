// mongo-pitr's side: each stage runs the real command line (bin/mongo-pitr) as a child process,
// so its RSS and CPU are the tool's alone, as they are for mongodump and mongorestore.
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { readManifest } from '../../src/backup/commit.ts';
import type { Chain, Manifest } from '../../src/archive/manifest.ts';
import { openStore } from '../../src/store/open-store.ts';
import { assertOk, runMeasured, type ChildResult } from './child.ts';
import type { CommandStat } from './trace-commands.ts';

/** BENCH_PITR_BIN runs another checkout's bin/mongo-pitr (an A/B of a proposed change). */
const BIN = process.env.BENCH_PITR_BIN || fileURLToPath(new URL('../../bin/mongo-pitr', import.meta.url));
const TRACE = fileURLToPath(new URL('./trace-commands.ts', import.meta.url));
/** No stage of a bench run should take longer; a hung child fails the run instead. */
const STAGE_TIMEOUT_MS = 6 * 60 * 60 * 1000;

export interface PitrContext {
  readonly storeArgs: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Where --cpu-prof writes, when profiling. */
  readonly profileDir?: string;
  /** The server pids whose CPU to account per stage. */
  readonly serverPids: readonly number[];
  /** Another checkout's bin/mongo-pitr (default: BENCH_PITR_BIN, else this checkout's). */
  readonly bin?: string;
  /** Node flags for the child, e.g. --max-old-space-size=128. */
  readonly nodeArgs?: readonly string[];
}

export interface StageRun {
  readonly child: ChildResult;
  readonly result: Record<string, unknown>;
  readonly events: ReadonlyArray<{ readonly atMs: number; readonly type: string; readonly message: string }>;
  /** The .cpuprofile written, when profiling. */
  readonly profile?: string;
  /** Server time per command shape (trace-commands.ts), when profiling. */
  readonly commands?: CommandStat[];
  /** Peak of each part of process.memoryUsage() in bytes, when profiling. */
  readonly memory?: Record<string, number>;
}

/** Checkouts whose dist/ this bench run has built. */
const built = new Set<string>();

/**
 * Builds the checkout of `bin` once per bench run: a stage runs its dist/, as an installed
 * package or a Lambda does (MONGO_PITR_FROM=dist), not the sources through type stripping,
 * which alone adds about 30 MiB of RSS. A profiled stage runs the sources, for readable frames.
 */
function buildOnce(bin: string): void {
  const root = dirname(dirname(bin));
  if (built.has(root)) return;
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  built.add(root);
}

async function runStage(context: PitrContext, name: string, args: readonly string[]): Promise<StageRun> {
  const bin = context.bin ?? BIN;
  if (!context.profileDir) buildOnce(bin);
  const nodeArgs: string[] = [...(context.nodeArgs ?? [])];
  let profile: string | undefined;
  let trace: string | undefined;
  if (context.profileDir) {
    await mkdir(context.profileDir, { recursive: true });
    profile = join(context.profileDir, `${name}.cpuprofile`);
    trace = join(context.profileDir, `${name}.commands.json`);
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${context.profileDir}`, `--cpu-prof-name=${name}.cpuprofile`, `--import=${TRACE}`);
  }
  // The bin is executed as users' shells and npm's bin links do, so node flags on its #! line
  // apply; the bench's own node flags go through NODE_OPTIONS. The measured pid is node's.
  const nodeOptions = [process.env.NODE_OPTIONS ?? '', ...nodeArgs].filter(Boolean).join(' ');
  const child = await runMeasured(bin, [...args, '--json', ...context.storeArgs], {
    env: {
      ...context.env,
      ...(!context.profileDir && { MONGO_PITR_FROM: 'dist' }),
      ...(nodeOptions && { NODE_OPTIONS: nodeOptions }),
      ...(trace && { BENCH_TRACE_FILE: trace, BENCH_MEMORY_FILE: `${trace}.memory` }),
    },
    serverPids: context.serverPids,
    timeoutMs: STAGE_TIMEOUT_MS,
  });
  assertOk(child, `mongo-pitr ${name}`);
  const events = child.lines.flatMap(({ atMs, line }) => {
    try {
      const event = JSON.parse(line) as { type?: string; message?: string };
      return [{ atMs, type: String(event.type ?? ''), message: String(event.message ?? '') }];
    } catch {
      return [];
    }
  });
  const last = child.stdout.trim().split('\n').pop() ?? '{}';
  const commands = trace ? (JSON.parse(readFileSync(trace, 'utf8')) as CommandStat[]) : undefined;
  const memory = trace ? (JSON.parse(readFileSync(`${trace}.memory`, 'utf8')) as Record<string, number>) : undefined;
  return { child, result: JSON.parse(last) as Record<string, unknown>, events, ...(profile && { profile }), ...(commands && { commands }), ...(memory && { memory }) };
}

export function backup(context: PitrContext, sourceUri: string): Promise<StageRun> {
  return runStage(context, 'backup', ['backup', '--uri', sourceUri]);
}

export function archiveOplog(context: PitrContext, sourceUri: string): Promise<StageRun> {
  return runStage(context, 'oplog', ['oplog', '--uri', sourceUri]);
}

export function restore(context: PitrContext, targetUri: string, fromDb: string, toDb: string): Promise<StageRun> {
  return runStage(context, 'restore', ['restore', '--to', targetUri, '--nsFrom', `${fromDb}.*`, '--nsTo', `${toDb}.*`]);
}

export async function manifestOf(storeUrl: string, openOptions: Record<string, unknown>): Promise<Manifest> {
  const store = await openStore(storeUrl, openOptions);
  try {
    return (await readManifest(store)).manifest;
  } finally {
    await store.close();
  }
}

export function newestChain(manifest: Manifest): Chain {
  const chain = manifest.chains.at(-1);
  if (!chain) throw new Error('the bench store holds no chain after the backup');
  return chain;
}

/**
 * The archived chunks of a chain, gunzipped and concatenated into one plain BSON file: the
 * `--oplogFile` mongorestore replays, so both tools replay exactly the same entries.
 */
export async function writeOplogFile(storeUrl: string, openOptions: Record<string, unknown>, chain: Chain, file: string): Promise<number> {
  const store = await openStore(storeUrl, openOptions);
  let ops = 0;
  try {
    const out = createWriteStream(file);
    for (const chunk of chain.chunks) {
      await pipeline(await store.get(chunk.key), createGunzip(), out, { end: false });
      ops += chunk.count;
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  } finally {
    await store.close();
  }
  return ops;
}
