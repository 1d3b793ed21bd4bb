// The folder store's compare-and-swap must hold whatever a writer's pauses. A writer that is
// stopped (SIGSTOP, a laptop asleep, a paused VM) after it has checked the current version and
// before it publishes its own must not, on waking, replace a version another writer committed
// meanwhile: that would silently lose the other commit. The writer here is a real child process
// that stops itself at the publish step (the `beforePublish` fault hook), so the pause is exact.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { FolderStore } from '../../../src/store/folder-store.ts';

/** Small, so that a stopped writer's lock (the old design) goes stale within the test. */
const STALE_LOCK_MS = 300;
const KEY = 'manifest.json';

describe('folder store compare-and-swap across a paused writer', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'folder-cas-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a writer stopped between its check and its publish loses, and its retry re-reads the other commit', async () => {
    const store = new FolderStore(join(dir, 'paused'), { staleLockMs: STALE_LOCK_MS } as ConstructorParameters<typeof FolderStore>[1]);
    await store.check();
    const base = await store.putIfMatch(KEY, Buffer.from('base'), null);
    const paused = await startPausedWriter(store.rootDir, KEY, base.etag, 'paused');
    try {
      // Stopped longer than the old lock's stale age: no heartbeat, nothing of it runs.
      await sleep(STALE_LOCK_MS + 200);
      await store.putIfMatch(KEY, Buffer.from('base > second'), base.etag);
      paused.child.kill('SIGCONT');
      const outcome = await paused.outcome;
      assert.equal(await text(store, KEY), 'base > second > paused', 'the second commit survives and the retry builds on it');
      assert.equal(outcome.firstAttempt, 'precondition-failed', 'the paused writer must not publish over the second commit');
    } finally {
      paused.child.kill('SIGKILL');
    }
  });
});

interface WriterOutcome {
  /** "ok", or the StoreError kind the first putIfMatch failed with. */
  readonly firstAttempt: string;
}

/**
 * Starts a child process that reads `key`, appends ` > name` and writes it with putIfMatch on
 * `etag`, stopping itself (SIGSTOP) at the publish step; on a precondition failure it re-reads
 * and retries once, as a caller's retry path does. Resolves once the child is stopped.
 */
async function startPausedWriter(rootDir: string, key: string, etag: string, name: string): Promise<{ child: ChildProcess; outcome: Promise<WriterOutcome> }> {
  const storeModule = new URL('../../../src/store/folder-store.ts', import.meta.url).href;
  const script = `
    const { FolderStore } = await import(${JSON.stringify(storeModule)});
    const [rootDir, key, etag, name, staleLockMs] = process.argv.slice(1);
    let stopped = false;
    const beforePublish = () => {
      if (stopped) return;
      stopped = true;
      process.stdout.write('publishing\\n');
      process.kill(process.pid, 'SIGSTOP');
    };
    const store = new FolderStore(rootDir, { staleLockMs: Number(staleLockMs), beforePublish });
    const read = async () => { const chunks = []; for await (const c of await store.get(key)) chunks.push(c); return Buffer.concat(chunks).toString(); };
    let firstAttempt = 'ok';
    try {
      await store.putIfMatch(key, Buffer.from((await read()) + ' > ' + name), etag);
    } catch (error) {
      if (error?.kind !== 'precondition-failed') throw error;
      firstAttempt = error.kind;
      const current = await store.stat(key);
      await store.putIfMatch(key, Buffer.from((await read()) + ' > ' + name), current.etag);
    }
    process.stdout.write(JSON.stringify({ firstAttempt }) + '\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, rootDir, key, etag, name, String(STALE_LOCK_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()));
  const outcome = new Promise<WriterOutcome>((resolve, reject) => {
    child.once('exit', (code, signal) => {
      const last = output.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as WriterOutcome);
      else reject(new Error(`paused writer exited with ${code ?? signal}: ${output}`));
    });
  });
  outcome.catch(() => {}); // observed by the test; a failure before that must not go unhandled
  const pid = child.pid;
  if (pid === undefined) throw new Error('the paused writer did not start');
  await waitUntil(() => output.includes('publishing'), 20_000);
  await waitUntil(async () => (await processState(pid)) === 'T', 5_000);
  return { child, outcome };
}

/** The state letter of /proc/<pid>/stat ("T" once stopped). */
async function processState(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function text(store: FolderStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await store.get(key)) as Readable) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString();
}

