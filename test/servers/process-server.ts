// Starting a server binary for the test run: a free loopback port, a temporary data folder, a
// readiness probe, and a stop that always cleans up. Shared by minio.ts and ferretdb.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
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
  env?: NodeJS.ProcessEnv;
  /** Resolves once the server answers; called until it does or the timeout passes. */
  ready: (port: number) => Promise<boolean>;
  timeoutMs?: number;
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), `mongo-pitr-${options.name}-`));
  const child = spawn(options.bin, options.args(port, dataDir), {
    env: { ...process.env, ...options.env },
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
    if (await options.ready(port).catch(() => false)) return { port, dataDir, stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`${options.name} did not start on 127.0.0.1:${port}: ${stderr.trim().split('\n').pop() ?? ''}`);
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
