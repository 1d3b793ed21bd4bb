// status, list and verify as users run them, on both stores (a folder and MinIO): what the store
// holds, what it restores to, how far the archive lags the source, and that every object checks
// out. A gap is made the way it happens: the oplog rolls over past a chain's checkpoint before
// the next pass (a server of the test's own with a 256 KiB oplog), so the next base starts a
// chain the old one can no longer be brought up to (backup/close-hole.ts). The text answers at
// a glance, times first, in the zone the operator's TZ names with UTC beside it; --json carries
// the same values structured.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';
import { compareTs, tsFromBson, type Ts } from '../../src/timestamp.ts';

interface TimePointJson { t: number; i: number; iso: string; wall: string | null }
interface SourceJson {
  setName: string;
  replicaSetId: string | null;
  hosts: string[] | null;
  hostsSeenAt: string | null;
  window: { from: TimePointJson; to: TimePointJson; endAgeSeconds: number } | null;
  gaps: { from: TimePointJson; to: TimePointJson; seconds: number }[];
  newestBase: { chainId: string; finishedAt: string; ageSeconds: number; end: TimePointJson; documents: number; collections: number; bytes: number };
  lag: { seconds: number | null; asOf: string | null; asOfAgeSeconds: number | null };
  health: { damaged: boolean; damage: unknown; verifiedAt: string | null; verifiedAgeSeconds: number | null };
  encryption: string;
  chains: { id: string; chunks: number; ops: number; storedBytes: number }[];
  timeline: { kind: string; from: TimePointJson; to: TimePointJson }[];
}

function assertTimePoint(point: TimePointJson | undefined, what: string): asserts point is TimePointJson {
  assert.ok(point, what);
  assert.equal(typeof point.t, 'number', what);
  assert.equal(typeof point.i, 'number', what);
  assert.equal(point.iso, new Date(point.t * 1000).toISOString(), `${what}: iso is the ts's second in UTC`);
}

/** What a person in Kolkata (UTC+5:30, no daylight saving) sees for an instant: local, then UTC. */
function kolkata(ms: number): string {
  const utc = new Date(ms).toISOString();
  const local = new Date(ms + 5.5 * 3600_000).toISOString();
  const utcPart = local.slice(0, 10) === utc.slice(0, 10) ? utc.slice(11, 19) : `${utc.slice(0, 10)} ${utc.slice(11, 19)}`;
  return `${local.slice(0, 10)} ${local.slice(11, 19)} GMT+5:30 (${utcPart} UTC)`;
}

describe('status, list and verify', { skip: NO_MONGO }, () => {
  const server = useDedicatedMongo({ oplogBytes: 256 * 1024 });

  /** Writes until the oldest op left in the oplog is after `checkpoint`. */
  async function rollOplogPast(db: string, checkpoint: Ts): Promise<void> {
    const filler = server.client().db(db).collection<{ _id: number; payload: string }>('filler');
    const deadline = Date.now() + 60_000;
    for (let n = 0; ; n++) {
      await filler.insertMany(Array.from({ length: 100 }, (_, k) => ({ _id: n * 100 + k, payload: 'x'.repeat(1024) })));
      const [oldest] = await server.client().db('local').collection('oplog.rs').find().sort({ $natural: 1 }).limit(1).toArray();
      if (oldest && compareTs(tsFromBson(oldest.ts), checkpoint) > 0) return;
      assert.ok(Date.now() < deadline, 'the oplog rolls over');
      if (n % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 500)); // FerretDB trims capped collections on a timer
    }
  }

  for (const kind of STORE_KINDS) {
    test(`${kind.name}: the store, the window in local and UTC time, the gap, base, lag, health and timeline; --json structured`, { skip: kind.skip }, async (t) => {
      if (!server.mongo().own) return t.skip('needs a server of its own with a small oplog (FerretDB) to make a gap');
      const uri = server.mongo().uri;
      const client = server.client();
      const { store, url, cliArgs, env } = await kind.open();
      const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli([...cliArgs, ...args], { ...env, TZ: 'Asia/Kolkata', ...extra });
      try {
        const empty = await cli(['list']);
        assert.equal(empty.code, 0, empty.stderr);
        // The store as it is known everywhere else (manifest.json's storeUrl): a folder as a file:// URL.
        const named = kind.name === 'folder' ? `file://${url}` : url;
        assert.deepEqual(empty.stdout.trim().split('\n'), [`store ${named}`, 'no backups in this store yet']);

        const db = uniqueName('status');
        const coll = client.db(db).collection('c');
        await coll.insertMany([{ n: 1 }, { n: 2 }]);
        assert.equal((await cli(['backup', '--uri', uri])).code, 0);
        await coll.insertOne({ n: 3 });
        const first = await cli(['--json', 'oplog', '--uri', uri]);
        assert.equal(first.code, 0, first.stderr);
        const checkpoint = (JSON.parse((await cli(['--json', 'list'])).stdout) as { chains: { checkpointTs: Ts }[] }).chains[0]?.checkpointTs;
        assert.ok(checkpoint);
        // Writes no pass archives before they leave the oplog: the next base starts a new chain after a gap.
        await new Promise((resolve) => setTimeout(resolve, 2100));
        await rollOplogPast(db, checkpoint);
        await client.db(db).dropCollection('filler');
        await new Promise((resolve) => setTimeout(resolve, 1100));
        assert.equal((await cli(['backup', '--uri', uri])).code, 0);
        await coll.insertOne({ n: 5 });
        assert.equal((await cli(['oplog', '--uri', uri])).code, 0);

        const json = await cli(['--json', 'status', '--uri', uri]);
        assert.equal(json.code, 0, json.stderr);
        const report = JSON.parse(json.stdout) as { store: string; now: string; sources: SourceJson[]; chains: Record<string, unknown>[]; lagSeconds: number; pendingBases: unknown[] };
        assert.equal(report.store, named);
        // The keys scripts already read stay as they were.
        assert.equal(report.chains.length, 2);
        assert.equal(typeof report.chains[0]?.chunks, 'number');
        assert.match(String(report.chains[0]?.window), /^\d+:\d+ \(.+\) \.\. \d+:\d+ \(.+\)$/);
        assert.equal(typeof report.lagSeconds, 'number');
        assert.deepEqual(report.pendingBases, []);
        // The structured form.
        assert.equal(report.sources.length, 1);
        const [source] = report.sources;
        assert.ok(source);
        assert.ok(source.hosts && source.hosts.length >= 1, 'the members seen are recorded at backup');
        assert.equal(typeof source.hostsSeenAt, 'string');
        assertTimePoint(source.window?.from, 'window.from');
        assertTimePoint(source.window?.to, 'window.to');
        assert.equal(typeof source.window?.endAgeSeconds, 'number');
        assert.equal(source.gaps.length, 1, 'the writes no pass archived before the second base are a gap');
        const [gap] = source.gaps;
        assertTimePoint(gap?.from, 'gap.from');
        assertTimePoint(gap?.to, 'gap.to');
        assert.ok((gap?.seconds ?? 0) >= 2, `the gap lasts the pause: ${gap?.seconds}`);
        assert.equal(source.newestBase.chainId, report.chains[1]?.id);
        assert.equal(typeof source.newestBase.ageSeconds, 'number');
        assert.ok(source.newestBase.bytes > 0);
        assertTimePoint(source.newestBase.end, 'newestBase.end');
        assert.equal(typeof source.lag.asOf, 'string', 'the last pass sealed a chunk');
        assert.equal(source.health.damaged, false);
        assert.equal(source.encryption, 'none');
        assert.deepEqual(source.chains.map((chain) => chain.chunks), report.chains.map((chain) => chain.chunks));
        assert.deepEqual([...new Set(source.timeline.map((span) => span.kind))].sort(), ['base', 'gap', 'oplog']);
        for (const span of source.timeline) assertTimePoint(span.from, `timeline ${span.kind}`);
        const window = source.window;
        assert.ok(window);

        // The text, as a person reads it (not a terminal: 80 columns).
        for (const command of ['status', 'list']) {
          const shown = await cli([command]);
          assert.equal(shown.code, 0, shown.stderr);
          const lines = shown.stdout.trimEnd().split('\n');
          assert.equal(lines[0], `store ${named}`, `${command} names the store first`);
          assert.match(shown.stdout, new RegExp(`^${source.setName} {2}no replica set id \\(the server reports none\\), hosts \\S+ \\(seen (just now|\\d+ seconds? ago)\\)$`, 'm'));
          const toMs = window.to.wall ? Date.parse(window.to.wall) : window.to.t * 1000;
          const fromMs = window.from.wall ? Date.parse(window.from.wall) : window.from.t * 1000;
          assert.match(shown.stdout, new RegExp(`^ {2}restorable: from ${escape(kolkata(fromMs))} to ${escape(kolkata(toMs))} \\((just now|\\d+ seconds? ago)\\)$`, 'm'));
          assert.match(shown.stdout, /^ {2}gaps: 1 gap, nothing restores\n {4}from .* GMT\+5:30 \(.* UTC\) to .* GMT\+5:30 \(.* UTC\) \(\d+ seconds?\)$/m);
          assert.match(shown.stdout, /^ {2}newest base: .* GMT\+5:30 \(.* UTC\) \((just now|\d+ seconds? ago)\), \d+ documents? in \d+ collections?, \d/m);
          assert.match(shown.stdout, /^ {2}lag: \d+ seconds? behind the source when the last chunk was sealed \((just now|\d+ seconds? ago)\)$/m);
          // The first oplog pass after a base reads the chain back whole (--verify-every, default 1d).
          assert.match(shown.stdout, /^ {2}health: ok, every object read back and hashed (just now|\d+ seconds? ago)$/m);
          assert.match(shown.stdout, /^ {2}encrypted: no$/m);
          assert.match(shown.stdout, /^ {2}2 chains:$/m);
          assert.match(shown.stdout, /^ {4}\S+: base \d+ documents?, \d+ chunks?, \d+ oplog entr(y|ies), \d+ B\n {6}from .* GMT\+5:30 \(.* UTC\) to .* GMT\+5:30 \(.* UTC\)$/m);
          const bar = lines.find((line) => line.startsWith('  ['));
          assert.ok(bar, shown.stdout);
          assert.equal(bar.length, 79, 'the timeline fits 80 columns');
          assert.match(bar, /^ {2}\[B=*\.+B=*-*\]$/, 'base, oplog, the gap, the second base, its oplog');
          assert.match(lines[lines.indexOf(bar) + 1] ?? '', /^ {3}\d\d:\d\d:\d\d GMT\+5:30 +\d\d:\d\d:\d\d GMT\+5:30 now$/, 'the row\'s ends, to the second over a short span');
          assert.match(shown.stdout, /B base {2}= oplog chunks {2}\. gap {2}! damaged {2}- after the newest archived op/);
          assert.doesNotMatch(shown.stdout, /(^|[^\d.,])1 (chunks|documents|collections|chains|gaps|entries|seconds|minutes|hours|days)\b/, 'counts agree with their nouns');
          assert.doesNotMatch(shown.stdout, /\b\d{10}:\d+\b/, 'no seconds:ordinal without --verbose');
        }
        // With the source at hand, status also says how far behind it the archive is now.
        const live = await cli(['status', '--uri', uri]);
        assert.equal(live.code, 0, live.stderr);
        assert.match(live.stdout, /^ {2}lag: \d+ seconds? behind the source now \(its commit point, read just now\); \d+ seconds? behind the source when the last chunk was sealed/m);
        const verbose = await cli(['list', '--verbose']);
        assert.match(verbose.stdout, new RegExp(`^ {2}restorable: from .* \\[${window.from.t}:${window.from.i}\\] to .* \\[${window.to.t}:${window.to.i}\\]`, 'm'));

        const verify = await cli(['verify']);
        assert.equal(verify.code, 0, verify.stderr);
        assert.match(verify.stdout, /^ok: \d+ objects in 2 chains verified/);
      } finally {
        await store.close();
      }
    });
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
