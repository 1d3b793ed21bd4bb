// Runs one tool as a child process and measures it alone: wall time, peak RSS (VmHWM sampled
// from /proc/<pid>/status, the kernel's own high-water mark, so a missed sample loses nothing
// but the last few milliseconds) and CPU time (utime + stime from /proc/<pid>/stat). Also
// measures a server process's CPU over the same span when its pid is known, which is what tells
// "the server is busy" from "we are busy".
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const SAMPLE_MS = 25;
/** Clock ticks per second for /proc/<pid>/stat times; 100 on every Linux this runs on. */
const CLK_TCK = 100;

export interface ChildResult {
  readonly command: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly wallMs: number;
  /** Peak resident set (VmHWM) in bytes; null when the process ended before the first sample. */
  readonly peakRssBytes: number | null;
  /** Resident set (VmRSS, bytes) about every half second: [ms since start, bytes]. */
  readonly rssTimeline: ReadonlyArray<readonly [number, number]>;
  /** The child's CPU seconds (user + system) at its last sample. */
  readonly cpuSeconds: number | null;
  /** CPU seconds the watched server used meanwhile; null when no server pid was given. */
  readonly serverCpuSeconds: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr lines as they arrived, with the parent's clock (ms since the child started). */
  readonly lines: ReadonlyArray<{ readonly atMs: number; readonly line: string }>;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** A server process whose CPU time to account over the child's run. */
  readonly serverPids?: readonly number[];
  /** Kill the child after this long. */
  readonly timeoutMs?: number;
}

export async function runMeasured(file: string, args: readonly string[], options: RunOptions = {}): Promise<ChildResult> {
  const serverBefore = cpuOfAll(options.serverPids);
  const started = performance.now();
  const child = spawn(file, [...args], {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let peakKb: number | null = null;
  let cpuTicks: number | null = null;
  const rssTimeline: Array<[number, number]> = [];
  const sample = (): void => {
    if (child.pid === undefined) return;
    const status = readProc(`/proc/${child.pid}/status`);
    const hwm = status ? /VmHWM:\s+(\d+) kB/.exec(status) : null;
    if (hwm) peakKb = Math.max(peakKb ?? 0, Number(hwm[1]));
    const rss = status ? /VmRSS:\s+(\d+) kB/.exec(status) : null;
    const atMs = performance.now() - started;
    if (rss && (rssTimeline.length === 0 || atMs - (rssTimeline.at(-1)?.[0] ?? 0) >= 500)) rssTimeline.push([Math.round(atMs), Number(rss[1]) * 1024]);
    const ticks = cpuTicksOf(child.pid);
    if (ticks !== null) cpuTicks = ticks;
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const killer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
  sample();
  let stdout = '';
  let stderr = '';
  let partial = '';
  const lines: Array<{ atMs: number; line: string }> = [];
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => {
    const text = data.toString();
    stderr += text;
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    const atMs = performance.now() - started;
    for (const line of parts) lines.push({ atMs, line });
  });
  // The last sample is taken when the child's output closes, before it is reaped.
  const exited = await new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const wallMs = performance.now() - started;
  clearInterval(timer);
  if (killer) clearTimeout(killer);
  await new Promise((resolve) => (child.stdout.readableEnded && child.stderr.readableEnded ? resolve(undefined) : child.on('close', resolve)));
  if (partial) lines.push({ atMs: wallMs, line: partial });
  const serverAfter = cpuOfAll(options.serverPids);
  return {
    command: [file, ...args].join(' '),
    ...exited,
    wallMs,
    peakRssBytes: peakKb === null ? null : peakKb * 1024,
    rssTimeline,
    cpuSeconds: cpuTicks === null ? null : cpuTicks / CLK_TCK,
    serverCpuSeconds: serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore,
    stdout,
    stderr,
    lines,
  };
}

/** Throws with the child's stderr tail when it failed. */
export function assertOk(result: ChildResult, what: string): void {
  if (result.code === 0) return;
  const tail = result.stderr.trim().split('\n').slice(-5).join(' | ');
  throw new Error(`${what} failed (exit ${result.code ?? result.signal}): ${tail}`);
}

/** CPU seconds of a set of processes (e.g. a server), or null when any is unknown. */
export function cpuOfAll(pids: readonly number[] | undefined): number | null {
  if (!pids || pids.length === 0) return null;
  let total = 0;
  for (const pid of pids) {
    const ticks = cpuTicksOf(pid);
    if (ticks === null) return null;
    total += ticks;
  }
  return total / CLK_TCK;
}

function cpuTicksOf(pid: number): number | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return null;
  // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Pids of the processes whose argument list satisfies `match` (a server's unique data dir, its port). */
export function findPids(match: (args: readonly string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const args = readProc(`/proc/${entry}/cmdline`)?.split('\0') ?? [];
    // The watchdog shell of process-server.ts names the server's pid, never its arguments.
    if (args.length > 0 && args[0] !== 'sh' && match(args)) pids.push(Number(entry));
  }
  return pids;
}

/** Peak RSS before and after a moment of a child's run (restore: base loaded, replay starts). */
export function rssSplit(timeline: ReadonlyArray<readonly [number, number]>, atMs: number): { loadPeakRssBytes: number | null; replayPeakRssBytes: number | null } {
  const peak = (samples: ReadonlyArray<readonly [number, number]>): number | null => (samples.length > 0 ? Math.max(...samples.map(([, rss]) => rss)) : null);
  return { loadPeakRssBytes: peak(timeline.filter(([ms]) => ms <= atMs)), replayPeakRssBytes: peak(timeline.filter(([ms]) => ms > atMs)) };
}
