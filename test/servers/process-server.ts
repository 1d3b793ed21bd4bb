// Starting a server binary for the test run: a free loopback port, a temporary data folder, a
// readiness probe, and a stop that always cleans up. Shared by minio.ts and ferretdb.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunningServer {
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface StartOptions {
  name: string;
  bin: string;
  args: (port: number, dataDir: string) => string[];
  /** Extra environment; a function for servers that take their port from it (local-kms). */
  env?: NodeJS.ProcessEnv | ((port: number, dataDir: string) => NodeJS.ProcessEnv);
  /** Resolves once the server answers; called until it does or the timeout passes. */
  ready: (port: number) => Promise<boolean>;
  timeoutMs?: number;
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  // freePort's port is free when asked, not when the server binds it: another test run on the
  // machine may take it first. Then our server exits (address in use) or, worse, the probe
  // reaches the other one; listenedBy tells them apart, and a lost race tries another port.
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const started = await startOnce(options);
    if ('server' in started) return started.server;
    lastError = started.error;
  }
  throw lastError ?? new Error(`${options.name} did not start`);
}

async function startOnce(options: StartOptions): Promise<{ server: RunningServer } | { error: Error }> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), `mongo-pitr-${options.name}-`));
  const child = spawn(options.bin, options.args(port, dataDir), {
    env: { ...process.env, ...(typeof options.env === 'function' ? options.env(port, dataDir) : options.env) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  watchParent(child);
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    await kill(child);
    await rm(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await options.ready(port).catch(() => false)) {
      if (await listenedBy(child, port)) return { server: { port, dataDir, stop } };
      break; // another process answers on this port
    }
    await sleep(100);
  }
  await stop();
  return { error: new Error(`${options.name} did not start on 127.0.0.1:${port}: ${stderr.trim().split('\n').pop() ?? ''}`) };
}

/**
 * Whether `child` holds the listening socket of `port` (Linux: /proc/net/tcp's socket inode
 * among /proc/<pid>/fd). Elsewhere the check cannot be made and passes.
 */
export async function listenedBy(child: ChildProcess, port: number): Promise<boolean> {
  if (process.platform !== 'linux' || child.pid === undefined) return true;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1] ?? '';
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket inode.
      if (fields[3] === '0A' && parseInt(local.split(':')[1] ?? '', 16) === port && fields[9]) inodes.add(fields[9]);
    }
  }
  const fds = await readdir(`/proc/${child.pid}/fd`).catch(() => []);
  for (const fd of fds) {
    const link = await readlink(`/proc/${child.pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode !== undefined && inodes.has(inode)) return true;
  }
  return false;
}

/**
 * A server must not outlive the test process that started it, even when that process is
 * SIGKILLed (a test timeout): a detached shell polls for the parent and kills the server.
 */
function watchParent(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${child.pid} 2>/dev/null`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
