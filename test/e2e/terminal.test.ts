// What a person sees in a terminal: bin/mongo-pitr run under a pseudo-terminal (util-linux
// `script`), its output replayed the way a terminal draws it ("\r" and erase-line rewrite the
// row in hand). A result line must stand on a row of its own, never glued onto a progress line
// (`…20000 documentsbase 0001…`); waits say what they wait for; bars carry totals and percent
// (the dump's from the source's estimated document counts).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BIN } from '../support/cli.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

/** A time as receipts give it (words.ts instantText): local, with UTC beside it unless local is UTC. */
const AT = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+(?: \((?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d UTC\))?`;

const NO_SCRIPT = spawnSync('script', ['--version']).status === 0 ? false : 'util-linux script is not installed';

/** Runs the CLI on a pseudo-terminal; returns the raw bytes and the rows a terminal would show. */
function onTerminal(args: readonly string[], options: { columns?: number } = {}): { raw: string; rows: string[]; code: number } {
  const quoted = [process.execPath, BIN, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  // The terminal's width as a program reads it (TIOCGWINSZ): set on the pseudo-terminal itself.
  const command = options.columns === undefined ? quoted : `stty cols ${options.columns} rows 40; exec ${quoted}`;
  let raw = '';
  let code = 0;
  try {
    raw = execFileSync('script', ['-qefc', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '200' }, timeout: 120_000 });
  } catch (error) {
    const failed = error as { stdout?: string; status?: number };
    raw = failed.stdout ?? '';
    code = failed.status ?? 1;
  }
  return { raw, rows: drawRows(raw), code };
}

/** The rows left on screen: "\r\x1b[K" and "\r" go back to the row's start and overwrite it. */
function drawRows(raw: string): string[] {
  return raw.split('\n').map((row) => {
    const cleared = row.replace(/\r$/, '').split('\r\x1b[K');
    const last = cleared.at(-1) ?? '';
    return last.split('\r').at(-1) ?? '';
  });
}

describe('on a terminal', { skip: NO_MONGO || NO_SCRIPT }, () => {
  const dedicated = useDedicatedMongo();

  test('backup: the result stands on its own row; waits are named; the dump bar has a total', async () => {
    const uri = dedicated.mongo().uri;
    const db = uniqueName('tty');
    for (const coll of ['a', 'b', 'c']) await dedicated.client().db(db).collection<{ n: number }>(coll).insertMany(Array.from({ length: 50 }, (_, n) => ({ n })));
    const store = await mkdtemp(join(tmpdir(), 'mongo-pitr-tty-'));
    const backup = onTerminal(['backup', '--store', store, '--uri', uri]);
    assert.equal(backup.code, 0, backup.raw);
    const result = backup.rows.filter((row) => /base \S+: /.test(row));
    assert.equal(result.length, 1, JSON.stringify(backup.rows));
    assert.match(result[0] ?? '', /^base \S+: \d+ documents? in \d+ collections?, /, 'the result starts its own row');
    // T0 and T1 as times, not secs:ordinal.
    assert.match(result[0] ?? '', new RegExp(`, [\\d,]+ oplog entr(y|ies) from ${AT} to ${AT}, [\\d,]+ bytes stored$`));
    assert.match(backup.raw, /connecting to mongodb:\/\/127\.0\.0\.1:\d+/, 'the connection wait is named');
    assert.match(backup.raw, /finding the commit point/);
    // The dump bar counts documents against the source's estimate (estimatedDocumentCount per
    // collection, before the first is read), so it has a percent from the first document on.
    assert.match(backup.raw, /estimating the documents of 3 collections/);
    assert.match(backup.raw, /dump \[[#-]{20}\] \d{1,2}% \d+\/150 documents, [0-2]\/3 collections/, 'a bar before the end, against the estimated total');
    assert.match(backup.raw, /dump \[#{20}\] 100% 150\/150 documents, 3\/3 collections/, 'the bar ends when the last collection is stored');

    const dry = onTerminal(['restore', '--store', store, '--dry-run', '--nsInclude', `${db}.*`]);
    assert.equal(dry.code, 0, dry.raw);
    const chainRows = dry.rows.filter((row) => row.includes('chain '));
    assert.equal(chainRows.length, 1, `the chain line once: ${JSON.stringify(dry.rows)}`);
    assert.match(chainRows[0] ?? '', new RegExp(`^chain \\S+, window from ${AT} to ${AT}: \\d+ objects? \\(\\d+ chunks?\\), [\\d,]+ bytes?$`), 'the window as times');
    assert.ok(dry.rows.some((row) => /^cutoff: none, everything archived is applied, up to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+( \(.*\d\d:\d\d:\d\d\.\d{3} UTC\))? \[\d+:\d+\]$/.test(row)), JSON.stringify(dry.rows));
    assert.ok(dry.rows.some((row) => /^dry run: would apply \d+ oplog entr(y|ies) \(applyOps\); nothing written$/.test(row)));

    const restored = uniqueName('tty_restored');
    const restore = onTerminal(['restore', '--store', store, '--to', uri, '--nsFrom', `${db}.*`, '--nsTo', `${restored}.*`]);
    assert.equal(restore.code, 0, restore.raw);
    assert.match(restore.raw, /download \[#{20}\] 100% \d+\/\d+ objects/);
    assert.ok(restore.rows.some((row) => /^base: 150 documents in 3 collections$/.test(row)), JSON.stringify(restore.rows));
    for (const row of restore.rows) assert.doesNotMatch(row, /\S(chain|base:|oplog:|cutoff:) /, `no result glued onto another line: ${row}`);
  });

  test('status: its own rows from the top, the timeline row as wide as the terminal allows', async () => {
    const uri = dedicated.mongo().uri;
    await dedicated.client().db(uniqueName('tty_status')).collection('c').insertOne({ n: 1 });
    const store = await mkdtemp(join(tmpdir(), 'mongo-pitr-tty-'));
    // run takes the first base with the same dump bar as backup: documents against the estimate.
    const first = onTerminal(['run', '--store', store, '--uri', uri]);
    assert.equal(first.code, 0, first.raw);
    assert.match(first.raw, /dump \[#{20}\] 100% ([\d,]+)\/\1 documents, (\d+)\/\2 collections/);
    await dedicated.client().db(uniqueName('tty_status')).collection('c').insertOne({ n: 2 });
    // run's last row: the chain's totals and what it restores, as times.
    assert.ok(first.rows.some((row) => new RegExp(`^chain \\S+ now holds [\\d,]+ oplog entr(y|ies) \\(base [\\d,]+ \\+ \\d+ chunks?\\); it restores from ${AT} to ${AT}$`).test(row)), JSON.stringify(first.rows));
    const oplog = onTerminal(['oplog', '--store', store, '--uri', uri]);
    assert.equal(oplog.code, 0, oplog.raw);
    assert.ok(oplog.rows.some((row) => new RegExp(`^[\\d,]+ oplog entr(y|ies) in \\d+ chunks?; checkpoint ${AT}$`).test(row)), JSON.stringify(oplog.rows));
    for (const columns of [100, 60]) {
      const status = onTerminal(['status', '--store', store], { columns });
      assert.equal(status.code, 0, status.raw);
      const rows = status.rows.filter((row) => row !== '');
      assert.equal(rows[0], `store file://${store}`, `the waits are cleared and the result starts its own row: ${JSON.stringify(status.rows.slice(0, 3))}`);
      const bar = rows.find((row) => row.startsWith('  ['));
      assert.ok(bar, JSON.stringify(rows));
      assert.equal(bar.length, columns - 1, `the timeline fits ${columns} columns: ${bar}`);
      assert.match(bar, /^ {2}\[B[=B]*-*\]$/);
      assert.ok(rows.some((row) => /^ {2}restorable: from .* to .* \((just now|\d+ seconds? ago)\)$/.test(row)), JSON.stringify(rows));
    }
  });
});
