// Encrypted vs plain, the object pipeline alone: the cost of age and of KMS envelope encryption
// where it sits, between gzip and the store. KMS mode talks to local-kms (TEST_KMS_ENDPOINT, or
// built and started here as `node test/run.ts` does): one GenerateDataKey per object written and
// one Decrypt per object read, over loopback. Each mode runs in a child process of its own so its peak RSS
// (VmHWM, the kernel's high-water mark) is its alone:
//   backup:  N bench documents (test/bench/documents.ts, ~1 KB BSON each) → gzip → [age] →
//            sha256 → folder store, as storeGzipped writes a base's collection;
//   restore: the object → sha256 → [age] → private download file, as a restore downloads it,
//            then gunzip → BSON frames, as the base load reads it.
//   node test/bench/encryption.ts [--docs 200000] [--no-kms]
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { BSON } from 'mongodb';
import { readBsonFrames } from '../../src/archive/bson-frames.ts';
import { storeGzipped } from '../../src/backup/store-object.ts';
import { AgeCipher } from '../../src/crypt/age-cipher.ts';
import { attachCipher } from '../../src/crypt/store-cipher.ts';
import { KmsCipher } from '../../src/crypt/kms-cipher.ts';
import { createTestKey, startLocalKms } from '../servers/local-kms.ts';
import { fetchVerified } from '../../src/restore/download-chain.ts';
import { FolderStore } from '../../src/store/folder-store.ts';
import { makeDocument } from './documents.ts';

interface Figures {
  mode: string;
  docs: number;
  rawMB: number;
  storedMB: number;
  backupSeconds: number;
  restoreSeconds: number;
  peakRssMiB: number;
}

async function peakRssMiB(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

type Mode = 'plain' | 'age' | 'kms';

async function child(mode: Mode, docs: number): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), `mongo-pitr-bench-${mode}-`));
  try {
    const identity = await generateX25519Identity();
    const recipient = await identityToRecipient(identity);
    const store = new FolderStore(join(dir, 'store'));
    await store.check();
    if (mode === 'age') attachCipher(store, { age: new AgeCipher({ recipients: [recipient], identities: [identity] }) });
    if (mode === 'kms') attachCipher(store, { kms: new KmsCipher({ keyId: process.env.BENCH_KMS_KEY, endpoint: process.env.BENCH_KMS_ENDPOINT }) });
    const documents = (async function* () {
      for (let n = 0; n < docs; n++) yield Buffer.from(BSON.serialize(makeDocument(n)));
    })();
    let started = performance.now();
    const object = await storeGzipped(store, 'bases/1/bench/orders.bson.gz', documents);
    const backupSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const file = join(dir, 'download.gz');
    await fetchVerified(store, object, file);
    let frames = 0;
    await pipeline(createReadStream(file), createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const _frame of readBsonFrames(source, { label: 'bench' })) frames++;
    });
    if (frames !== docs) throw new Error(`read ${frames} of ${docs} documents back`);
    const restoreSeconds = (performance.now() - started) / 1000;
    return { mode, docs, rawMB: object.rawBytes / 1e6, storedMB: object.storedBytes / 1e6, backupSeconds, restoreSeconds, peakRssMiB: await peakRssMiB() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
const docs = Number(args[args.indexOf('--docs') + 1] || 200_000) || 200_000;
const childMode = args[args.indexOf('--child') + 1];
const MODES: readonly Mode[] = ['plain', 'age', 'kms'];

/** A KMS for the kms mode: the given one, or local-kms built into the cache and started here. */
async function kmsForBench(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  if (process.env.TEST_KMS_ENDPOINT) return { endpoint: process.env.TEST_KMS_ENDPOINT, stop: async () => undefined };
  const script = fileURLToPath(new URL('../servers/build-servers.sh', import.meta.url));
  const bin = execFileSync('bash', [script, 'local-kms'], { encoding: 'utf8' }).trim().split('=')[1] ?? '';
  const server = await startLocalKms(bin);
  return { endpoint: server.endpoint, stop: server.stop };
}

if (args.includes('--child') && MODES.includes(childMode as Mode)) {
  process.stdout.write(JSON.stringify(await child(childMode as Mode, docs)));
} else {
  const modes = args.includes('--no-kms') ? MODES.filter((mode) => mode !== 'kms') : MODES;
  const kms = modes.includes('kms') ? await kmsForBench() : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'bench', AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'bench' };
  if (kms) Object.assign(env, { BENCH_KMS_ENDPOINT: kms.endpoint, BENCH_KMS_KEY: await createTestKey(kms.endpoint, 'mongo-pitr bench') });
  const results: Figures[] = [];
  try {
    for (const mode of [...modes, ...modes]) {
      const run = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--child', mode, '--docs', String(docs)], { encoding: 'utf8', env });
      if (run.status !== 0) throw new Error(`${mode} child failed: ${run.stderr}`);
      results.push(JSON.parse(run.stdout) as Figures);
    }
  } finally {
    await kms?.stop();
  }
  const best = (mode: string, key: 'backupSeconds' | 'restoreSeconds') => Math.min(...results.filter((r) => r.mode === mode).map((r) => r[key]));
  const peak = (mode: string) => Math.max(...results.filter((r) => r.mode === mode).map((r) => r.peakRssMiB));
  const stored = (mode: string) => results.find((r) => r.mode === mode)?.storedMB.toFixed(1);
  const first = results[0];
  if (!first) throw new Error('no results');
  console.log(`${docs} documents, ${first.rawMB.toFixed(1)} MB raw BSON, stored ${modes.map((mode) => `${mode} ${stored(mode)} MB`).join(', ')} (best of 2 runs each)`);
  for (const mode of modes) {
    const b = best(mode, 'backupSeconds');
    const r = best(mode, 'restoreSeconds');
    console.log(`${mode.padEnd(5)} backup ${b.toFixed(2)} s (${(first.rawMB / b).toFixed(1)} MB/s raw)  restore ${r.toFixed(2)} s (${(first.rawMB / r).toFixed(1)} MB/s raw)  peak RSS ${peak(mode).toFixed(0)} MiB`);
  }
  for (const mode of modes.filter((m) => m !== 'plain')) {
    console.log(`${mode}/plain throughput: backup ${(best('plain', 'backupSeconds') / best(mode, 'backupSeconds')).toFixed(2)}, restore ${(best('plain', 'restoreSeconds') / best(mode, 'restoreSeconds')).toFixed(2)}; peak RSS ratio ${(peak(mode) / peak('plain')).toFixed(2)}`);
  }
}
