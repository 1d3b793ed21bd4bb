// `npm run demo`: the main job end to end on a store of its own (a new folder under the system's
// temporary directory, printed first), never the default ./mongo-pitr-backups, where the user's
// first real backup would land beside the demo's chain. Against a throwaway MongoDB-wire replica
// set (FerretDB, built once like the test servers, or the server named by TEST_MONGODB_URI), it
// backs up, archives new oplog, has an accident, and restores to the moment before the accident,
// printing each command as run and what it printed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { startFerretDB } from './servers/ferretdb.ts';

const BIN = fileURLToPath(new URL('../bin/mongo-pitr', import.meta.url));
const BUILD = fileURLToPath(new URL('./servers/build-servers.sh', import.meta.url));

const STORE = mkdtempSync(join(tmpdir(), 'mongo-pitr-demo-'));

/** Runs and prints the command exactly as run: its store named with --store. */
function cli(command: string, ...args: string[]): void {
  const argv = [command, '--store', STORE, ...args];
  // Quoted as a shell needs it, so each printed command can be pasted as it stands.
  const shown = argv.map((arg) => (/^[\w./:=@,+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`));
  console.log(`\n$ mongo-pitr ${shown.join(' ')}`);
  const result = spawnSync(process.execPath, [BIN, ...argv], { stdio: 'inherit', env: { ...process.env, MONGO_PITR_STORE: undefined } });
  if (result.status !== 0) throw new Error(`mongo-pitr ${command} exited with ${result.status}`);
}

async function main(): Promise<void> {
  console.log(`demo store: ${STORE} (a folder of its own, not ./mongo-pitr-backups; remove it when done)`);
  let uri = process.env.TEST_MONGODB_URI;
  let stop = async (): Promise<void> => undefined;
  if (!uri) {
    const line = execFileSync('bash', [BUILD, 'ferretdb'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const ferret = await startFerretDB(line.trim().split('=')[1] ?? '');
    uri = ferret.uri;
    stop = ferret.stop;
  }
  const client = new MongoClient(uri);
  try {
    const orders = client.db('shop').collection<{ _id: number; item: string; qty: number }>('orders');
    await orders.insertMany(Array.from({ length: 1000 }, (_, n) => ({ _id: n, item: `item-${n % 37}`, qty: n % 5 })));
    cli('run', '--uri', uri);
    await orders.insertMany(Array.from({ length: 500 }, (_, n) => ({ _id: 1000 + n, item: 'late', qty: 1 })));
    await sleep(1100); // the accident happens in a later second than the last good write
    const beforeAccident = Math.floor(Date.now() / 1000);
    await sleep(1100);
    const { deletedCount } = await orders.deleteMany({ qty: { $lt: 3 } });
    console.log(`\n(accident: deleted ${deletedCount} orders at about ${new Date().toISOString()})`);
    cli('run', '--uri', uri);
    cli('status', '--uri', uri);
    cli('restore', '--to', uri, '--until', String(beforeAccident), '--nsFrom', 'shop.*', '--nsTo', 'shop_restored.*');
    const restored = await client.db('shop_restored').collection('orders').countDocuments();
    console.log(`\ndemo store left at ${STORE}: look around with mongo-pitr status --store ${STORE}`);
    console.log(`\nshop.orders now holds ${await orders.countDocuments()} orders; shop_restored.orders holds ${restored} (1500 before the accident)`);
  } finally {
    await client.close();
    await stop();
  }
}

await main();
