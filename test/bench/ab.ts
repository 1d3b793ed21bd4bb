// Measures a proposed product change: runs the backup, oplog and restore stages of two or more
// mongo-pitr checkouts (or one checkout under different node flags) on the same servers and data,
// one after the other, and prints them side by side with the server time per command shape.
//
//   node test/bench/ab.ts --docs 2000 --oplog-ops 10000 \
//     now=bin/mongo-pitr patched=/tmp/pitr-b/bin/mongo-pitr 'heap128=bin/mongo-pitr::--max-old-space-size=128'
//
// A variant is name=path/to/bin/mongo-pitr, optionally followed by ::<node flags>. Each takes its
// own base into its own store (the reads leave the source as it is), archives the same generated
// ops, and restores into its own database on the target.
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveOplog, backup, restore, type PitrContext, type StageRun } from './pitr.ts';
import { openServers } from './servers.ts';
import { collectionNames, generateOps, seed } from './workload.ts';
import { rssSplit } from './child.ts';

interface Variant {
  readonly name: string;
  readonly bin: string;
  readonly nodeArgs: string[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  // --no-trace: no profile nor command trace, so the children run their dist/ as shipped.
  allowNegative: true,
  options: {
    docs: { type: 'string', default: '2000' },
    'oplog-ops': { type: 'string', default: '10000' },
    collections: { type: 'string', default: '4' },
    window: { type: 'string', default: '200' },
    trace: { type: 'boolean', default: true },
  },
});
const variants: Variant[] = positionals.map((text) => {
  const [head = '', flags = ''] = text.split('::');
  const [name = '', bin = ''] = head.split('=');
  if (!/^[A-Za-z0-9_]+$/.test(name) || !bin) throw new Error(`variant "${text}": expected name=path/to/bin/mongo-pitr[::node flags], the name in letters, digits and _`);
  return { name, bin, nodeArgs: flags.split(' ').filter(Boolean) };
});
if (variants.length === 0) throw new Error('give at least one variant: name=path/to/bin/mongo-pitr[::node flags]');
const docs = Number(values.docs);
const ops = Number(values['oplog-ops']);
const mib = (bytes: number | null | undefined): string => (bytes == null ? '–' : (bytes / 1024 / 1024).toFixed(0));
const log = (message: string): void => void process.stderr.write(`[ab] ${message}\n`);

const { source, target } = await openServers();
const sourceClient = new MongoClient(source.uri);
const targetClient = new MongoClient(target.uri);
const stores = new Map<string, string>();
const runs = new Map<string, Record<string, StageRun>>();
try {
  await seed(sourceClient, 'ab', docs, Number(values.collections));
  const context = (variant: Variant, pids: readonly number[], stage: string): PitrContext => {
    const dir = stores.get(variant.name) ?? '';
    return {
      storeArgs: ['--store', dir],
      env: {},
      serverPids: pids,
      bin: variant.bin,
      nodeArgs: variant.nodeArgs,
      ...(values.trace && { profileDir: join(dir, '..', `${variant.name}-${stage}-trace`) }),
    };
  };
  for (const variant of variants) {
    stores.set(variant.name, join(await mkdtemp(join(tmpdir(), `mongo-pitr-ab-${variant.name}-`)), 'store'));
    log(`${variant.name}: backup`);
    runs.set(variant.name, { backup: await backup(context(variant, source.pids, 'backup'), source.uri) });
  }
  log(`generating ${ops} ops`);
  await generateOps(sourceClient, 'ab', { ops, window: Number(values.window), firstIndex: docs, isFerretDB: source.isFerretDB });
  for (const variant of variants) {
    log(`${variant.name}: oplog`);
    (runs.get(variant.name) ?? {}).oplog = await archiveOplog(context(variant, source.pids, 'oplog'), source.uri);
  }
  for (const variant of variants) {
    log(`${variant.name}: restore`);
    (runs.get(variant.name) ?? {}).restore = await restore(context(variant, target.pids, 'restore'), target.uri, 'ab', `ab_${variant.name}`);
    for (const name of [...collectionNames(Number(values.collections)), 'live']) {
      const [want, got] = await Promise.all([
        sourceClient.db('ab').collection(name).countDocuments(),
        targetClient.db(`ab_${variant.name}`).collection(name).countDocuments(),
      ]);
      if (want !== got) log(`${variant.name}: ${name} restored ${got} of ${want} documents`);
    }
  }
  console.log(`${docs} documents, ${ops} ops, ${source.version}; wall s / peak RSS MiB (tool cpu %, server cpu %)`);
  for (const variant of variants) {
    const stages = runs.get(variant.name) ?? {};
    const cells = ['backup', 'oplog', 'restore'].map((stage) => {
      const run = stages[stage];
      if (!run) return `${stage} –`;
      const child = run.child;
      const cpu = `${Math.round(((child.cpuSeconds ?? 0) * 100000) / child.wallMs)}%, ${Math.round(((child.serverCpuSeconds ?? 0) * 100000) / child.wallMs)}%`;
      let extra = '';
      if (stage === 'restore') {
        const base = run.events.find((event) => event.type === 'restore.base')?.atMs ?? NaN;
        const split = rssSplit(child.rssTimeline, base);
        extra = ` [replay ${((child.wallMs - base) / 1000).toFixed(1)} s, RSS load ${mib(split.loadPeakRssBytes)} / replay ${mib(split.replayPeakRssBytes)}]`;
      }
      return `${stage} ${(child.wallMs / 1000).toFixed(1)} s / ${mib(child.peakRssBytes)} MiB (${cpu})${extra}`;
    });
    console.log(`${variant.name.padEnd(10)} ${cells.join(' | ')}`);
    for (const [stage, run] of Object.entries(stages)) {
      if (run.memory) console.log(`${''.padEnd(12)}${stage.padEnd(8)} memory peaks MiB: ${Object.entries(run.memory).map(([key, bytes]) => `${key} ${mib(bytes)}`).join(', ')}`);
    }
    for (const [stage, run] of Object.entries(stages)) {
      for (const stat of (run.commands ?? []).slice(0, 4)) {
        console.log(`${''.padEnd(12)}${stage.padEnd(8)} ${(stat.totalMs / 1000).toFixed(1).padStart(6)} s ×${stat.count} ${stat.shape}`);
      }
    }
  }
} finally {
  await sourceClient.close();
  await targetClient.close();
  await source.stop();
  await target.stop();
  for (const dir of stores.values()) await rm(join(dir, '..'), { recursive: true, force: true });
}
