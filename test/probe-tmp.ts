import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimCluster } from './support/sim-cluster.ts';
import { runCli } from './support/cli.ts';
const dir = await mkdtemp(join(tmpdir(), 'probe-'));
const c = await startSimCluster(process.env.TEST_FERRETDB_BIN!, ['shard01', 'shard02'], dir);
try {
  await c.shard('shard01').client.db('app').collection('x').insertOne({ k: 1 });
  const r = await runCli(['--store', join(dir, 'store'), 'run', '--topology', c.topologyFile]);
  console.log(r.code, r.stdout, r.stderr);
  const s = await runCli(['--store', join(dir, 'store'), 'status']);
  console.log(s.code, s.stdout, s.stderr);
} finally { await c.stop(); }
