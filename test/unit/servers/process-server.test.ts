// The test servers' port check: a server is only taken as started when the listening socket on
// its port is its own, so a port another process grabbed between freePort and the bind is never
// mistaken for ours (it would hand a test someone else's FerretDB or MinIO).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freePort, listenedBy } from '../../servers/process-server.ts';
import { waitFor } from '../../support/wait-for.ts';

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'exit');
  child.kill('SIGKILL');
  await exit;
}

describe('listenedBy', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it('is true for the child that listens on the port, false for another process and for this one', async () => {
    const port = await freePort();
    const script = `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`;
    const listener = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const bystander = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await once(listener.stdout ?? listener, 'data');
      await waitFor('the listener to hold the port', () => listenedBy(listener, port), 10_000);
      assert.equal(await listenedBy(bystander, port), false, 'a process that does not listen there');
      assert.equal(await listenedBy(listener, port + 1 === 65536 ? port - 1 : port + 1), false, 'another port');
    } finally {
      await stopped(listener);
      await stopped(bystander);
    }
  });

  it('is false when the port is held by this process, not the child', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      assert.equal(await listenedBy(child, port), false);
    } finally {
      await stopped(child);
      server.close();
    }
  });
});
