// A node:test reporter that prints the ten slowest test files: per file, the sum of its
// top-level tests' and suites' own durations (duration_ms, measured in the file's process, the
// figure the spec reporter prints; a suite's counts its hooks). Used as:
//   node test/run.ts --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./test/slowest-files.ts --test-reporter-destination=stderr
type Event = { type: string; data?: { file?: string; nesting?: number; details?: { duration_ms?: number } } };

export default async function* slowestFiles(source: AsyncIterable<Event>): AsyncGenerator<string> {
  const seconds = new Map<string, number>();
  const started = Date.now();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { file, nesting, details } = event.data ?? {};
    if (!file || nesting !== 0) continue;
    seconds.set(file, (seconds.get(file) ?? 0) + (details?.duration_ms ?? 0) / 1000);
  }
  const cwd = `${process.cwd()}/`;
  const rows = [...seconds].map(([file, total]) => ({ file: file.replace(cwd, ''), total })).sort((a, b) => b.total - a.total);
  yield `\nten slowest files (of ${rows.length}; whole run ${((Date.now() - started) / 1000).toFixed(0)} s):\n`;
  for (const row of rows.slice(0, 10)) yield `${row.total.toFixed(1).padStart(7)} s  ${row.file}\n`;
}
