// status and list's pure parts with a fixed clock and fixed zones: times local first with UTC
// beside them, ages and counts in the right number, the timeline row, and the values --json
// carries (timestamps as {t, i, iso, wall}, ages in seconds, sizes in bytes), all from a head.
// Chain bounds have the shapes a real mongod writes (ts from the LogicalClock, `wall` a
// millisecond Date: src/mongo/db/repl/oplog_entry.idl).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Chain, Chunk, Manifest, OplogObject } from '../../../src/archive/manifest.ts';
import { summarizeSources, timePoint, type TimelineSpan } from '../../../src/archive/source-summary.ts';
import { ago, bytesText, duration, instantText, statusLines, windowText } from '../../../src/cli/status-text.ts';
import { drawTimeline } from '../../../src/cli/timeline-text.ts';

const T = 1_796_126_400; // 2026-12-01T12:00:00Z
const wall = (second: number, ms = 0): string => new Date((T + second) * 1000 + ms).toISOString();

function oplog(key: string, first: number, last: number): OplogObject {
  return { key, rawBytes: 10, storedBytes: 100, sha256: key, firstTs: { t: T + first, i: 1 }, lastTs: { t: T + last, i: 2 }, firstWall: wall(first, 10), lastWall: wall(last, 20), count: 3 };
}

function chunk(previous: OplogObject, key: string, first: number, last: number, lagMs: number | null = 1500): Chunk {
  return { ...oplog(key, first, last), afterTs: previous.lastTs, prevSha256: previous.sha256, sealedAt: wall(last + 1), lagMs, commitPoint: 'majority', stats: { byNs: {} } };
}

function chain(id: string, baseAt: number, chunks: (previous: OplogObject) => Chunk[], extra: Partial<Chain> = {}): Chain {
  const baseOplog = oplog(`${id}/oplog`, baseAt, baseAt + 1);
  return {
    id,
    source: { setName: 'rs0', replicaSetId: null },
    base: {
      id, startTs: baseOplog.firstTs, endTs: baseOplog.lastTs, startedAt: wall(baseAt), finishedAt: wall(baseAt + 1), commitPoint: 'majority', oplog: baseOplog,
      collections: [{ db: 'shop', coll: 'orders', type: 'collection', docs: 1, data: { key: `${id}/d`, rawBytes: 5, storedBytes: 1000, sha256: 'd' }, metadata: { key: `${id}/m`, rawBytes: 5, storedBytes: 24, sha256: 'm' } }],
    },
    chunks: chunks(baseOplog),
    ...extra,
  };
}

// Chain A: base at T+0..1, chunk to T+600. Nothing archived T+600..T+900. Chain B: base at
// T+900..901, two chunks to T+1200, the second damaged (found by a pass, its extent recorded).
const a = chain('A', 0, (base) => [chunk(base, 'A/c1', 2, 600)], { hostsSeen: { hosts: ['old:27017'], at: wall(601) } });
const b = chain('B', 900, (base) => {
  const first = chunk(base, 'B/c1', 902, 1100);
  return [first, chunk(first, 'B/c2', 1101, 1200, 2500)];
}, {
  hostsSeen: { hosts: ['h1:27017', 'h2:27017'], at: wall(1201) },
  damage: { key: 'B/c2', reason: 'is missing from the store', detectedAt: wall(1300), restorableUpTo: { ts: { t: T + 1100, i: 2 }, wall: wall(1100, 20) } },
});
const manifest: Manifest = { formatVersion: 2, chains: [a, b] };
const NOW = (T + 1500) * 1000;

describe('the values status and --json report', () => {
  const [source] = summarizeSources(manifest, NOW);
  assert.ok(source);

  test('timestamps are {t, i, iso, wall}, iso being the ts\'s second in UTC', () => {
    assert.deepEqual(timePoint({ t: T, i: 7 }, wall(0, 250)), { t: T, i: 7, iso: '2026-12-01T12:00:00.000Z', wall: '2026-12-01T12:00:00.250Z' });
    assert.deepEqual(source.window?.from, timePoint({ t: T + 1, i: 2 }, wall(1, 20)));
  });

  test('the window spans both chains, stops where damage cuts it, and names the gap between them', () => {
    assert.equal(source.window?.to.t, T + 1100, 'the damaged chunk cuts the window before it');
    assert.equal(source.window?.endAgeSeconds, 400);
    assert.equal(source.gaps.length, 1);
    assert.deepEqual([source.gaps[0]?.from.t, source.gaps[0]?.to.t, source.gaps[0]?.seconds], [T + 600, T + 901, 301]);
  });

  test('newest base, lag at the last pass, health and hosts', () => {
    assert.equal(source.newestBase.chainId, 'B');
    assert.equal(source.newestBase.ageSeconds, 599);
    assert.equal(source.newestBase.bytes, 1000 + 24 + 100);
    assert.deepEqual(source.lag, { seconds: 2.5, asOf: wall(1201), asOfAgeSeconds: 299 });
    assert.equal(source.health.damaged, true);
    assert.equal(source.health.damage?.restorableUpTo?.t, T + 1100);
    assert.deepEqual(source.hosts, ['h1:27017', 'h2:27017']);
    assert.equal(source.encryption, 'none');
  });

  test('a chain with only its base has no recorded lag: unknown, not zero', () => {
    const [alone] = summarizeSources({ formatVersion: 2, chains: [chain('C', 0, () => [])] }, NOW);
    assert.deepEqual(alone?.lag, { seconds: null, asOf: null, asOfAgeSeconds: null });
    assert.match(statusLines('/s', alone ? [alone] : [], [], undefined, { nowMs: NOW, timeZone: 'UTC', columns: 80, verbose: false }).join('\n'), /lag: unknown at the last pass/);
  });

  test('a head whose sealed chunks were counted says "mixed" from the head alone', () => {
    const end = chunk(a.base.oplog, 'A/c1', 2, 600);
    const sealed: Chain = { ...a, chunks: [], history: { chunks: 4, ops: 12, storedBytes: 400, encryptedChunks: 2, end, segment: null, compacted: null } };
    assert.equal(summarizeSources({ formatVersion: 2, chains: [sealed] }, NOW)[0]?.encryption, 'mixed');
  });

  test('KMS: every object under a key says "kms" and names the key, sealed chunks counted by the head; a head from before KMS mode counts its sealed chunks as age', () => {
    const arn = 'arn:aws:kms:eu-west-2:111122223333:key/0b7a6c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b';
    const underKms = <T extends { key: string }>(object: T): T => ({ ...object, encryption: 'kms' as const, kmsKeyId: arn });
    const base = { ...a.base, oplog: underKms(a.base.oplog), collections: a.base.collections.map((entry) => ({ ...entry, data: entry.data && underKms(entry.data), metadata: underKms(entry.metadata) })) };
    const end = underKms(chunk(a.base.oplog, 'A/c1', 2, 600));
    const kmsChain: Chain = { ...a, base, chunks: [], history: { chunks: 4, ops: 12, storedBytes: 400, encryptedChunks: 4, kmsChunks: 4, kmsKeys: [arn], end, segment: null, compacted: null } };
    const [kmsSource] = summarizeSources({ formatVersion: 2, chains: [kmsChain] }, NOW);
    assert.equal(kmsSource?.encryption, 'kms');
    assert.deepEqual(kmsSource?.kmsKeys, [arn]);
    const text = statusLines('/s', kmsSource ? [kmsSource] : [], [], undefined, { nowMs: NOW, timeZone: 'UTC', columns: 80, verbose: false }).join('\n');
    assert.match(text, new RegExp(`encrypted: kms \\(every object; KMS key ${arn.replace(/[/.]/g, '\\$&')}\\)`));
    // Half the sealed chunks age (counted before KMS was turned on): mixed, still naming the key.
    const half: Chain = { ...kmsChain, history: { chunks: 4, ops: 12, storedBytes: 400, encryptedChunks: 4, kmsChunks: 2, kmsKeys: [arn], end, segment: null, compacted: null } };
    assert.equal(summarizeSources({ formatVersion: 2, chains: [half] }, NOW)[0]?.encryption, 'mixed');
    // A head that counted encrypted sealed chunks before it counted KMS ones: those were age.
    const ageBase = { ...a.base, oplog: { ...a.base.oplog, encryption: 'age' as const }, collections: a.base.collections.map((entry) => ({ ...entry, data: entry.data && { ...entry.data, encryption: 'age' as const }, metadata: { ...entry.metadata, encryption: 'age' as const } })) };
    const older: Chain = { ...a, base: ageBase, chunks: [], history: { chunks: 4, ops: 12, storedBytes: 400, encryptedChunks: 4, end, segment: null, compacted: null } };
    assert.equal(summarizeSources({ formatVersion: 2, chains: [older] }, NOW)[0]?.encryption, 'age');
  });
});

describe('times, ages and counts as a person reads them', () => {
  test('local first, UTC beside it; the UTC date only when it differs; once when local is UTC', () => {
    const ms = (T + 3723) * 1000; // 13:02:03 UTC
    assert.equal(instantText(ms, { timeZone: 'Asia/Kolkata' }), '2026-12-01 18:32:03 GMT+5:30 (13:02:03 UTC)');
    assert.equal(instantText(ms, { timeZone: 'Pacific/Kiritimati' }), '2026-12-02 03:02:03 GMT+14 (2026-12-01 13:02:03 UTC)');
    assert.equal(instantText(ms, { timeZone: 'UTC' }), '2026-12-01 13:02:03 UTC');
  });

  test('ages and durations in the right number', () => {
    assert.equal(ago(0.4), 'just now');
    assert.equal(ago(1), '1 second ago');
    assert.equal(ago(59), '59 seconds ago');
    assert.equal(ago(60), '1 minute ago');
    assert.equal(ago(119), '1 minute ago');
    assert.equal(ago(7200), '2 hours ago');
    assert.equal(ago(3 * 86400), '3 days ago');
    assert.equal(ago(-5), 'in 5 seconds');
    assert.equal(duration(3600), '1 hour');
    assert.equal(bytesText(512), '512 B');
    assert.equal(bytesText(1536), '1.5 KiB');
  });

  test('a window: from <local> (<UTC>) to <local> (<UTC>) (N minutes ago); positions only with --verbose', () => {
    const window = { from: timePoint({ t: T, i: 1 }, wall(0, 10)), to: timePoint({ t: T + 600, i: 2 }, wall(600, 20)) };
    assert.equal(
      windowText(window, 180, { timeZone: 'Europe/Berlin', verbose: false }),
      'from 2026-12-01 13:00:00 GMT+1 (12:00:00 UTC) to 2026-12-01 13:10:00 GMT+1 (12:10:00 UTC) (3 minutes ago)',
    );
    assert.match(windowText(window, 180, { timeZone: 'UTC', verbose: true }), new RegExp(`^from 2026-12-01 12:00:00 UTC \\[${T}:1\\] to 2026-12-01 12:10:00 UTC \\[${T + 600}:2\\]`));
  });

  test('the whole text: store, source, window, gap, base, lag, health, chains; never "1 chunks"; times before positions', () => {
    const lines = statusLines('s3://b/p', summarizeSources(manifest, NOW), [], undefined, { nowMs: NOW, timeZone: 'UTC', columns: 80, verbose: false });
    const text = lines.join('\n');
    assert.equal(lines[0], 's3://b/p'.replace(/^/, 'store '));
    assert.match(text, /^rs0 {2}no replica set id \(the server reports none\), hosts h1:27017, h2:27017 \(seen 4 minutes ago\)$/m);
    assert.match(text, /^ {2}restorable: from 2026-12-01 12:00:01 UTC to 2026-12-01 12:18:20 UTC \(6 minutes ago\)$/m);
    assert.match(text, /^ {2}gaps: 1 gap, nothing restores\n {4}from 2026-12-01 12:10:00 UTC to 2026-12-01 12:15:01 UTC \(5 minutes\)$/m);
    assert.match(text, /^ {2}newest base: 2026-12-01 12:15:01 UTC \(9 minutes ago\), 1 document in 1 collection, 1\.1 KiB$/m);
    assert.match(text, /^ {2}lag: 2 seconds behind the source when the last chunk was sealed \(4 minutes ago\)$/m);
    assert.match(text, /^ {2}health: damaged: B\/c2 is missing from the store \(found 2026-12-01 12:21:40 UTC\); restorable up to 2026-12-01 12:18:20 UTC; no longer extended$/m);
    assert.match(text, /^ {4}A: base 1 document, 1 chunk, 6 oplog entries, 1\.2 KiB, hosts old:27017\n {6}from 2026-12-01 12:00:01 UTC to 2026-12-01 12:10:00 UTC$/m);
    assert.match(text, /^ {4}B: base 1 document, 2 chunks, 9 oplog entries, 1\.3 KiB, damaged$/m);
    assert.match(text, /^ {3}12:00:00 UTC +12:25:00 UTC now$/m, 'the row\'s ends in local time');
    assert.doesNotMatch(text, /(^|[^\d.,])1 (chunks|documents|collections|chains|gaps|entries|seconds|minutes|hours|days)\b/);
    assert.doesNotMatch(text, /\b\d{10}:\d+\b/, 'no seconds:ordinal without --verbose');
    const bar = lines.find((line) => line.startsWith('  ['));
    assert.ok(bar);
    assert.ok(bar.length < 80, `the timeline fits 80 columns: ${bar.length}`);
  });
});

describe('the timeline row', () => {
  const span = (kind: TimelineSpan['kind'], from: number, to: number): TimelineSpan => ({ kind, from: timePoint({ t: T + from, i: 0 }), to: timePoint({ t: T + to, i: 0 }) });

  test('each column shows the most telling thing in it; time after the archive\'s newest op is "-"', () => {
    const spans = [span('base', 0, 1), span('oplog', 1, 600), span('gap', 600, 900), span('base', 900, 901), span('oplog', 901, 1200), span('damaged', 1100, 1200)];
    const row = drawTimeline(spans, T * 1000, (T + 1500) * 1000, 15);
    assert.equal(row.bar, 'B=====...B=!---');
    assert.equal(row.secondsPerColumn, 100);
  });

  test('a gap or a base shorter than a column still shows', () => {
    const spans = [span('base', 0, 1), span('oplog', 1, 5000), span('gap', 2000, 2003), span('oplog', 2003, 10_000)];
    assert.equal(drawTimeline(spans, T * 1000, (T + 10_000) * 1000, 10).bar, 'B=.=======');
  });

  test('the text\'s row is the terminal width less the margins, whatever the width', () => {
    const [source] = summarizeSources(manifest, NOW);
    assert.ok(source);
    for (const columns of [40, 80, 132]) {
      const bar = statusLines('/s', [source], [], undefined, { nowMs: NOW, timeZone: 'UTC', columns, verbose: false }).find((line) => line.startsWith('  ['));
      assert.equal(bar?.length, columns - 1, `${columns} columns`);
    }
  });
});

describe('damage found in a sealed chunk', () => {
  test('the extent worked out on the whole chain is what the head reports (the head alone would say "not restorable")', async () => {
    const { damageWithExtent, restorableExtent } = await import('../../../src/archive/chain-health.ts');
    const damage = { key: 'B/c2', reason: 'is missing from the store', detectedAt: wall(1300) };
    const recorded = damageWithExtent(b, damage);
    assert.deepEqual(recorded.restorableUpTo, { ts: { t: T + 1100, i: 2 }, wall: wall(1100, 20) });
    const last = b.chunks.at(-1);
    assert.ok(last);
    // The head after sealing: no unsealed chunk left to find the damaged one among.
    const head: Chain = { ...b, chunks: [], history: { chunks: 2, ops: 6, storedBytes: 200, end: last, segment: null, compacted: null } };
    assert.equal(restorableExtent({ ...head, damage }).kind, 'none', 'without the recorded extent');
    assert.deepEqual(restorableExtent({ ...head, damage: recorded }), { kind: 'up-to', lastTs: { t: T + 1100, i: 2 }, lastWall: wall(1100, 20) });
    assert.equal(restorableExtent({ ...head, damage: damageWithExtent({ ...b, damage: undefined }, { ...damage, key: 'B/d' }) }).kind, 'none', 'a damaged base object leaves nothing');
  });
});

describe('two sets named rs0 from different clusters', () => {
  test('are two sources, each named by its replicaSetId', () => {
    const other: Chain = { ...chain('X', 0, () => []), source: { setName: 'rs0', replicaSetId: '65f0a1b2c3d4e5f6a7b8c9d0' } };
    const mine: Chain = { ...chain('Y', 10, () => []), source: { setName: 'rs0', replicaSetId: '7000a1b2c3d4e5f6a7b8c9d0' } };
    const sources = summarizeSources({ formatVersion: 2, chains: [other, mine] }, NOW);
    assert.deepEqual(sources.map((source) => source.replicaSetId), ['65f0a1b2c3d4e5f6a7b8c9d0', '7000a1b2c3d4e5f6a7b8c9d0']);
    const text = statusLines('/s', sources, [], undefined, { nowMs: NOW, timeZone: 'UTC', columns: 80, verbose: false }).join('\n');
    assert.match(text, /^rs0 {2}replica set id 65f0a1b2c3d4e5f6a7b8c9d0$/m);
    assert.match(text, /^rs0 {2}replica set id 7000a1b2c3d4e5f6a7b8c9d0$/m);
  });
});

describe('a pending base', () => {
  test('is named with its start in local and UTC time and its count in the right number', () => {
    const text = statusLines('/s', [], [{ id: 'P', setName: 'rs0', startedAt: wall(1200), collectionsStored: 1 }], undefined, { nowMs: NOW, timeZone: 'UTC', columns: 80, verbose: false }).join('\n');
    assert.match(text, /^pending base P \(rs0\), started 2026-12-01 12:20:00 UTC \(5 minutes ago\): 1 collection stored, resumed by the next run$/m);
  });

  test('shows the pieces kept of a collection part way through: the progress a base too large for one run makes', () => {
    const partial = { collections: 1, pieces: 3, documents: 2000 };
    const text = statusLines('/s', [], [{ id: 'P', setName: 'rs0', startedAt: wall(1200), collectionsStored: 0, partial }], undefined, { nowMs: NOW, timeZone: 'UTC', columns: 80, verbose: false }).join('\n');
    assert.match(text, /: 0 collections stored and 3 pieces \(2,000 documents\) of 1 collection part way, resumed by the next run$/m);
  });
});
