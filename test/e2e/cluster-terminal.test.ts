// What a person sees on a terminal while a cluster is backed up and restored: members work in
// parallel (cluster-run.ts, cluster-base.ts, cluster-restore.ts), so each has a progress line of
// its own (log.ts rows), all redrawn in place together and cleared when the member is done; a
// plain log (not a terminal) gets event lines per member and no drawing. Run on a simulated
// 2-shard cluster (FerretDB members, test/support/sim-cluster.ts) under util-linux `script`, as
// terminal.test.ts runs the replica-set bars, and checked on the screen a terminal would show
// (test/support/terminal-screen.ts: "\r", "\n", erase-line, cursor-up), redraw by redraw.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../support/cli.ts';
import { startSimCluster, type SimCluster } from '../support/sim-cluster.ts';
import { markCutoff, passCutoff } from '../support/cluster-workload.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_SCRIPT, onTerminal, Terminal, type Screen } from '../support/terminal-screen.ts';
import { isFerretDB, NO_MONGO } from '../support/test-env.ts';

const BIN = process.env.TEST_FERRETDB_BIN;
const SKIP = NO_MONGO || NO_SCRIPT || (!isFerretDB() || !BIN ? 'the simulated cluster is built from FerretDB binaries (TEST_FERRETDB_BIN)' : false);
const SHARDS = ['shard01', 'shard02'];
/** A member's row (log.ts rowProgress): "[shard01] dump [###…] 42% …". */
const MEMBER_ROW = /^\[(config|shard01|shard02)\] /;

/** The member rows on screen. */
function memberRows(screen: Screen): string[] {
  return screen.rows.filter((row) => MEMBER_ROW.test(row));
}

/**
 * The screen after every redraw (each starts with "\r"): at no point does a member have two rows
 * (its line is redrawn in place, never appended); returns the most member rows seen at once and
 * the screen at the end.
 */
function replay(raw: string): { most: number; seen: Set<string>; end: Screen; busiest: string } {
  const terminal = new Terminal();
  let most = 0;
  let busiest = '';
  const seen = new Set<string>();
  for (const piece of raw.split(/(?=\r)/)) {
    terminal.write(piece);
    const rows = memberRows(terminal.screen);
    const names = rows.map((row) => MEMBER_ROW.exec(row)?.[1] ?? '');
    assert.equal(new Set(names).size, names.length, `one row per member at a time: ${JSON.stringify(rows)}`);
    for (const name of names) seen.add(name);
    if (names.length > most) busiest = terminal.screen.rows.join('\n');
    most = Math.max(most, names.length);
  }
  return { most, seen, end: terminal.screen, busiest };
}

describe('a cluster on a terminal: a progress line per member', { skip: SKIP }, () => {
  let source: SimCluster;
  let target: SimCluster;
  let cliArgs: string[];
  let close: () => Promise<void> = async () => {};
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-cluster-tty-'));
    source = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(dir, 'source-')));
    target = await startSimCluster(BIN ?? '', SHARDS, await mkdtemp(join(dir, 'target-')));
    const kind = STORE_KINDS[0];
    assert.ok(kind);
    const opened = await kind.open();
    cliArgs = opened.cliArgs;
    close = () => opened.store.close();
  });
  after(async () => {
    await close();
    await source?.stop();
    await target?.stop();
  });

  test('run: each member dumps on a row of its own, redrawn in place, gone when done; restore: a replay row per member', async () => {
    let k = 0;
    for (const shard of source.shards) {
      for (const coll of ['orders', 'lines']) {
        await shard.client.db('app').collection<{ _id: number; note: string }>(coll).insertMany(Array.from({ length: 150 }, () => ({ _id: k++, note: `${shard.name} ${coll}` })));
      }
    }
    const run = onTerminal([...cliArgs, 'run', '--topology', source.topologyFile]);
    assert.equal(run.code, 0, run.raw);
    const runScreen = replay(run.raw);
    assert.ok(runScreen.most >= 2, `members drawn at once, each on its own row (most at once: ${runScreen.most})\n${run.raw}`);
    assert.deepEqual([...runScreen.seen].sort(), ['config', ...SHARDS]);
    // Each shard's dump bar: documents against the estimate, with a percent, as the replica-set bar.
    for (const shard of SHARDS) assert.match(run.raw, new RegExp(`\\[${shard}\\] dump \\[#{20}\\] 100% 300/300 documents, 2/2 collections`), `${shard}'s dump bar`);
    assert.deepEqual(memberRows(runScreen.end), [], `every member row cleared at the end: ${JSON.stringify(runScreen.end.rows)}`);
    // Below the rows, what the pass is about; never a stale "opening store" wait.
    assert.match(run.raw, /backing up config, shard01 and shard02: each one's new oplog, then a cluster base when one is due …/);
    assert.doesNotMatch(runScreen.busiest, /opening store/, 'the store is open by the time members draw');
    assert.ok(runScreen.end.rows.some((row) => /^cluster base \S+ \(the first cluster base, 3 members\), restorable from /.test(row)), JSON.stringify(runScreen.end.rows));

    // A second pass: every member archived past the cluster base, so a window opens.
    await source.shard('shard01').client.db('app').collection<{ _id: number }>('orders').insertOne({ _id: k++ });
    await passCutoff(source, await markCutoff(source));
    const second = await runCli([...cliArgs, 'run', '--topology', source.topologyFile]);
    assert.equal(second.code, 0, second.stderr);
    // Not a terminal: plain event lines naming the member, and nothing drawn.
    for (const shard of SHARDS) {
      assert.match(second.stderr, new RegExp(`^oplog of ${shard} \\(rs-${shard}\\)$`, 'm'), second.stderr);
      assert.match(second.stderr, new RegExp(`^${shard}: [\\d,]+ oplog entr(y|ies) archived in \\d+ chunks?; checkpoint `, 'm'), second.stderr);
    }
    assert.doesNotMatch(second.stderr, /[\r\x1b]/, 'no redraws in a plain log');

    const restore = onTerminal([...cliArgs, 'restore', '--to-topology', target.topologyFile, '--drop']);
    assert.equal(restore.code, 0, restore.raw);
    const restoreScreen = replay(restore.raw);
    for (const shard of SHARDS) {
      assert.match(restore.raw, new RegExp(`\\[${shard}\\] replay \\[[#-]{20}\\] \\d+% [\\d,]+/[\\d,]+ entries`), `${shard}'s replay bar with a percent`);
      assert.match(restore.raw, new RegExp(`\\[${shard}\\] download \\[[#-]{20}\\] \\d+% \\d+/\\d+ objects`), `${shard}'s download bar`);
    }
    assert.ok(restoreScreen.most >= 2, `members restored at once, each on its own row (most at once: ${restoreScreen.most})`);
    assert.deepEqual(memberRows(restoreScreen.end), [], `every member row cleared at the end: ${JSON.stringify(restoreScreen.end.rows)}`);
    for (const shard of SHARDS) assert.ok(restoreScreen.end.rows.some((row) => row.startsWith(`shard ${shard} → ${shard}: chain `)), JSON.stringify(restoreScreen.end.rows));
  });

  test('backup --topology: a cluster base now, though none is due, each member\'s dump on its own row', async () => {
    const backup = onTerminal([...cliArgs, 'backup', '--topology', source.topologyFile]);
    assert.equal(backup.code, 0, backup.raw);
    const screen = replay(backup.raw);
    assert.ok(screen.most >= 2, `members drawn at once (most at once: ${screen.most})`);
    for (const shard of SHARDS) assert.match(backup.raw, new RegExp(`\\[${shard}\\] dump \\[#{20}\\] 100% (\\d+)/\\1 documents, (\\d)/\\2 collections`), `${shard}'s dump bar`);
    assert.match(backup.raw, /backing up config, shard01 and shard02: each one's new oplog, then a cluster base …/);
    assert.deepEqual(memberRows(screen.end), []);
    assert.ok(screen.end.rows.some((row) => /^cluster base \S+ \(a new cluster base, asked for by backup, 3 members\), restorable from /.test(row)), JSON.stringify(screen.end.rows));
    const status = await runCli(['--json', ...cliArgs, 'status']);
    const bases = (JSON.parse(status.stdout.trim().split('\n').at(-1) ?? '{}') as { cluster: { bases: unknown[] } }).cluster.bases;
    assert.equal(bases.length, 2, 'the run\'s cluster base and the backup\'s');
  });
});
