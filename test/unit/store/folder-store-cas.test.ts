// The folder store's compare-and-swap must hold whatever a writer's pauses. A writer that is
// stopped (SIGSTOP, a laptop asleep, a paused VM) after it has checked the current version and
// before it publishes its own must not, on waking, replace a version another writer committed
// meanwhile: that would silently lose the other commit. The writer here is a real child process
// that stops itself at the publish step (the `beforePublish` fault hook), so the pause is exact.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { StoreError } from '../../../src/errors.ts';
import { LEGACY_FENCE_HOST, legacyLockPath } from '../../../src/store/folder-legacy-fence.ts';
import { FOLDER_TEMP_DIR, FOLDER_VERSIONS_DIR, FolderStore } from '../../../src/store/folder-store.ts';
import { linkExclusive, versionsFolder } from '../../../src/store/folder-versions.ts';

/**
 * The option of the lock-based design this test was first run against (where it lost the second
 * commit): small, so that the stopped writer's lock went stale within the test. Ignored now.
 */
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

  it('several processes appending with retries, old versions removed at once, lose and repeat nothing', async () => {
    const root = join(dir, 'appenders');
    const store = new FolderStore(root);
    await store.putIfMatch(KEY, Buffer.from('[]'), null);
    const writers = 4;
    const appends = 25;
    const exits = await Promise.all(Array.from({ length: writers }, (_, n) => appender(root, KEY, `w${n}`, appends)));
    assert.deepEqual(exits, Array.from({ length: writers }, () => 0));
    const tokens = JSON.parse(await text(store, KEY)) as string[];
    const expected = Array.from({ length: writers }, (_, n) => Array.from({ length: appends }, (_, i) => `w${n}-${i}`)).flat();
    assert.deepEqual([...tokens].sort(), expected.sort());
  });

  it('a writer paused until old versions were removed does not publish into a freed version name', async () => {
    const root = join(dir, 'reused');
    // Grace 0: every superseded version goes at once, so the paused writer's name is free again.
    const other = new FolderStore(root, { versionGraceMs: 0 });
    const created = await other.putIfMatch(KEY, Buffer.from('base'), null);
    const first = await other.putIfMatch(KEY, Buffer.from('first'), created.etag);
    let resume = () => {};
    let reached = () => {};
    const atPublish = new Promise<void>((resolve) => (reached = resolve));
    const paused = new FolderStore(root, {
      versionGraceMs: 0,
      beforePublish: () => {
        reached();
        return new Promise<void>((resolve) => (resume = resolve));
      },
    });
    const write = paused.putIfMatch(KEY, Buffer.from('paused'), first.etag);
    await atPublish;
    const second = await other.putIfMatch(KEY, Buffer.from('second'), first.etag);
    await sleep(20); // ctime granularity: "older than 0 ms" must be true
    await other.putIfMatch(KEY, Buffer.from('third'), second.etag);
    assert.deepEqual(await versionNames(root, KEY), ['v3'], 'versions 1 and 2 were removed, so the name v2 is free');
    resume();
    await assert.rejects(write, (error) => error instanceof StoreError && error.kind === 'precondition-failed');
    assert.equal(await text(other, KEY), 'third');
    assert.equal(await readFile(join(root, KEY), 'utf8'), 'third', 'the plain path shows the newest version');
  });

  it('reads a plain file written before versions existed as version 0 and migrates it on the next write', async () => {
    const root = join(dir, 'legacy');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, KEY), 'legacy');
    const store = new FolderStore(root);
    const legacy = await store.stat(KEY);
    assert.equal(await text(store, KEY), 'legacy');
    assert.ok(legacy);
    await assert.rejects(store.putIfMatch(KEY, Buffer.from('x'), null), (error) => error instanceof StoreError && error.kind === 'precondition-failed');
    const next = await store.putIfMatch(KEY, Buffer.from('next'), legacy.etag);
    assert.deepEqual(await versionNames(root, KEY), ['v0', 'v1']);
    assert.equal(await text(store, KEY), 'next');
    assert.equal((await store.stat(KEY))?.etag, next.etag);
    assert.equal(await readFile(join(root, KEY), 'utf8'), 'next');
    await assert.rejects(store.putIfMatch(KEY, Buffer.from('stale'), legacy.etag), (error) => error instanceof StoreError && error.kind === 'precondition-failed');
    // An unconditional put of a versioned key is its next version, not a plain file readers skip.
    await store.put(KEY, Buffer.from('put'));
    assert.equal(await text(store, KEY), 'put');
    assert.deepEqual(await versionNames(root, KEY), ['v0', 'v1', 'v2'], 'superseded versions stay for the grace period');
  });

  it('lists a versioned key once, with its newest version, and deletes all of it', async () => {
    const store = new FolderStore(join(dir, 'listed'));
    const created = await store.putIfMatch(KEY, Buffer.from('one'), null);
    const replaced = await store.putIfMatch(KEY, Buffer.from('three'), created.etag);
    await store.put('chunks/a', Buffer.from('a'));
    const listed = [];
    for await (const object of store.list('')) listed.push({ key: object.key, etag: object.etag, size: object.size });
    assert.deepEqual(listed, [{ key: 'chunks/a', etag: (await store.stat('chunks/a'))?.etag, size: 1 }, { key: KEY, etag: replaced.etag, size: 5 }]);
    await assert.rejects(store.put(`${FOLDER_VERSIONS_DIR}/x`, Buffer.from('x')), /reserved/);
    await assert.rejects(store.put(`chunks/${FOLDER_VERSIONS_DIR}/x`, Buffer.from('x')), /reserved/);
    await store.delete(KEY);
    assert.equal(await store.stat(KEY), null);
    assert.deepEqual(await versionNames(store.rootDir, KEY), []);
    await assert.rejects(store.putIfMatch(KEY, Buffer.from('again'), replaced.etag), (error) => error instanceof StoreError && error.kind === 'precondition-failed');
    assert.equal(await store.stat(KEY), null, 'a replacement of a deleted key does not bring it back');
  });

  it('keeps the versions beside the key, so a member folder opened as its own store sees them', async () => {
    const root = join(dir, 'cluster');
    const cluster = new FolderStore(root);
    const member = `members/rs0/${KEY}`;
    const created = await cluster.putIfMatch(member, Buffer.from('one'), null);
    const replaced = await cluster.putIfMatch(member, Buffer.from('two'), created.etag);
    const alone = new FolderStore(join(root, 'members', 'rs0'));
    assert.equal((await alone.stat(KEY))?.etag, replaced.etag);
    await alone.putIfMatch(KEY, Buffer.from('three'), replaced.etag);
    assert.equal(await text(cluster, member), 'three');
    await assert.rejects(cluster.putIfMatch(member, Buffer.from('stale'), replaced.etag), (error) => error instanceof StoreError && error.kind === 'precondition-failed');
    const keys = [];
    for await (const object of cluster.list('')) keys.push(object.key);
    assert.deepEqual(keys, [member]);
  });

  it('fences off the lock-based mongo-pitr from a key once it has versions', async () => {
    // The lock-based putIfMatch (folder-lock.ts before this change) broke a lock only when it had
    // not been touched for the stale age, or named a dead pid on its own host. The fence is
    // neither, so such a writer times out naming it instead of writing a plain file nobody reads.
    const store = new FolderStore(join(dir, 'fenced'));
    const created = await store.putIfMatch(KEY, Buffer.from('one'), null);
    await store.putIfMatch(KEY, Buffer.from('two'), created.etag);
    const path = legacyLockPath(join(store.rootDir, FOLDER_TEMP_DIR), KEY);
    const owner = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    assert.equal(typeof owner.pid, 'number');
    assert.equal(typeof owner.token, 'string');
    assert.equal(owner.host, LEGACY_FENCE_HOST);
    assert.notEqual(owner.host, hostname());
    assert.ok((await stat(path)).mtimeMs > Date.now() + 100 * 365 * 24 * 3600 * 1000, 'never untouched for the stale age');
  });

  it('names the missing hard links when the filesystem refuses link(2)', async () => {
    // link(2) fails with EPERM on a filesystem without hard links, as it does for a folder.
    const folder = join(dir, 'no-links');
    await mkdir(folder);
    await assert.rejects(linkExclusive(folder, join(dir, 'no-links-2')), (error) => error instanceof StoreError && error.kind === 'io' && /hard links/.test(`${error.message} ${error.hint}`));
  });

  for (const point of ['beforePublish', 'afterPublish'] as const) {
    it(`a writer SIGKILLed ${point === 'beforePublish' ? 'before' : 'after'} it links its version leaves a readable store`, async () => {
      const root = join(dir, `killed-${point}`);
      const store = new FolderStore(root);
      const created = await store.putIfMatch(KEY, Buffer.from('base'), null);
      const first = await store.putIfMatch(KEY, Buffer.from('first'), created.etag);
      const exit = await killedWriter(root, KEY, first.etag, point);
      assert.equal(exit, 'SIGKILL');
      const expected = point === 'beforePublish' ? 'first' : 'killed';
      assert.equal(await text(store, KEY), expected);
      const current = await store.stat(KEY);
      assert.ok(current);
      const keys = [];
      for await (const object of store.list('')) keys.push(object.key);
      assert.deepEqual(keys, [KEY]);
      await store.putIfMatch(KEY, Buffer.from('after'), current.etag);
      assert.equal(await text(store, KEY), 'after');
      assert.equal(await readFile(join(root, KEY), 'utf8'), 'after', 'the next write points the plain path at the newest version');
    });
  }
});

/**
 * A child process that appends `count` tokens to the JSON array at `key`, each by read, append,
 * putIfMatch, retried on precondition-failed, with random pauses at both publish hooks and old
 * versions removed at once. A retry first looks for its token: a write reported failed may have
 * landed (the committers' etagIfHolding does the same). Resolves to its exit code.
 */
function appender(rootDir: string, key: string, name: string, count: number): Promise<number | null> {
  const storeModule = new URL('../../../src/store/folder-store.ts', import.meta.url).href;
  const script = `
    const { FolderStore } = await import(${JSON.stringify(storeModule)});
    const { setTimeout: sleep } = await import('node:timers/promises');
    const [rootDir, key, name, count] = process.argv.slice(1);
    const pause = () => (Math.random() < 0.3 ? sleep(Math.random() * 5) : undefined);
    const store = new FolderStore(rootDir, { versionGraceMs: 0, beforePublish: pause, afterPublish: pause });
    const read = async () => { const chunks = []; for await (const c of await store.get(key)) chunks.push(c); return JSON.parse(Buffer.concat(chunks).toString()); };
    for (let i = 0; i < Number(count); i++) {
      const token = name + '-' + i;
      for (;;) {
        const info = await store.stat(key);
        const tokens = await read();
        if (tokens.includes(token)) break;
        try {
          await store.putIfMatch(key, Buffer.from(JSON.stringify([...tokens, token])), info.etag);
          break;
        } catch (error) {
          if (error?.kind !== 'precondition-failed') throw error;
        }
      }
    }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, rootDir, key, name, String(count)], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Runs putIfMatch in a child process that SIGKILLs itself at `point`; resolves to its exit signal. */
async function killedWriter(rootDir: string, key: string, etag: string, point: 'beforePublish' | 'afterPublish'): Promise<string | null> {
  const storeModule = new URL('../../../src/store/folder-store.ts', import.meta.url).href;
  const script = `
    const { FolderStore } = await import(${JSON.stringify(storeModule)});
    const [rootDir, key, etag, point] = process.argv.slice(1);
    const store = new FolderStore(rootDir, { [point]: () => process.kill(process.pid, 'SIGKILL') });
    await store.putIfMatch(key, Buffer.from('killed'), etag);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, rootDir, key, etag, point], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
}

async function versionNames(rootDir: string, key: string): Promise<string[]> {
  const names = await readdir(versionsFolder(join(rootDir, key))).catch(() => []);
  return names.sort();
}

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

