// Where a command's events go: plain lines for people (stderr, so stdout stays for results),
// or one JSON object per line with --json. Every line passes through redaction.
import { redactText } from './redact.ts';

export type LogFields = Record<string, unknown>;

export interface Log {
  /** A progress or state event: `backup.collection`, `oplog.chunk`, `restore.receipt` ... */
  event(type: string, message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  /**
   * How far a stage is (`download` 3 of 8 objects, `replay` 120,000 of 400,000 entries): a
   * progress bar with percent, rate and ETA on a terminal, a throttled `progress` event with
   * --json, nothing in plain logs (whose event lines already say what finished).
   */
  progress(stage: string, done: number, total?: number, unit?: string): void;
  /**
   * What is happening during a wait with nothing to count ("connecting to …", "finding the
   * commit point"): the transient line on a terminal, replaced by the next one and cleared
   * before any result. Nothing in plain logs or with --json, whose readers see the events that
   * follow, and where a failure stays one line.
   */
  status(type: string, message: string): void;
  /** Ends the progress line in hand, so that what is printed next starts on a line of its own. */
  settle(): void;
  /**
   * Work done in parallel (a cluster's members): each `row` has a line of its own on a terminal,
   * all redrawn in place together below the event lines, a bar like progress()'s. With --json a
   * throttled `progress` event naming the row; nothing in plain logs. Optional: a Log without
   * rows (a test's recorder) shows none.
   */
  rowProgress?(row: string, stage: string, done: number, total?: number, unit?: string): void;
  /** The row's wait, like status(): its line says what it waits for. */
  rowStatus?(row: string, message: string): void;
  /** The row's work is over: its line is cleared. */
  rowDone?(row: string): void;
}

/** Redraws and --json progress events at most this often. */
const PROGRESS_INTERVAL_MS = 200;
const BAR_WIDTH = 20;
/** A terminal's height when it does not say (0 or absent): a VT100's. */
const DEFAULT_TERMINAL_ROWS = 24;
/** A rate (and so an ETA) only after this long: the first instants of a stage say nothing. */
const RATE_AFTER_MS = 1000;

/** Terminal logs with a progress line drawn: results and errors on stdout settle them first. */
const drawn = new Set<Log>();

/** Ends every progress line drawn on a terminal (output.ts calls it before a result or an error). */
export function settleProgress(): void {
  for (const log of [...drawn]) log.settle();
}

export function createLog(options: { json: boolean; quiet?: boolean; out?: NodeJS.WritableStream; now?: () => number }): Log {
  const out = options.out ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = !options.json && !options.quiet && (out as NodeJS.WriteStream).isTTY === true;
  let bar = '';
  let lastDraw = 0;
  let stageStart: { stage: string; at: number; done: number } | undefined;
  // The rows of parallel work, by row name, drawn in name order above the bar.
  const rows = new Map<string, RowState>();
  /** How many lines the rows and the bar take on screen now (the cursor ends the last one). */
  let drawnLines = 0;
  const clearBar = (): void => {
    // Back up over every drawn line, erasing each: "\r" and erase-line for the one in hand, then
    // cursor-up and erase-line for each line above it (ECMA-48 CUU, EL).
    if (drawnLines > 0) out.write(`\r\x1b[K${'\x1b[1A\x1b[K'.repeat(drawnLines - 1)}`);
    drawnLines = 0;
  };
  const drawAll = (): void => {
    // Rows are kept off a terminal too (a later redraw needs them), but only a terminal draws.
    if (!tty) return;
    const lines = [...rowLines(), ...(bar ? [bar] : [])];
    if (lines.length === 0) return;
    out.write(lines.join('\n'));
    drawnLines = lines.length;
    drawn.add(log);
  };
  const settle = (): void => {
    clearBar();
    bar = '';
    rows.clear();
    drawn.delete(log);
  };
  const write = (type: string, message: string, fields: LogFields = {}): void => {
    if (options.json) {
      out.write(`${redactText(JSON.stringify({ time: new Date(now()).toISOString(), type, message, ...fields }, jsonSafe))}\n`);
    } else if (!options.quiet || type === 'warn') {
      clearBar();
      out.write(`${redactText(message)}\n`);
      drawAll();
    }
  };
  const progress = (stage: string, done: number, total?: number, unit = ''): void => {
    const at = now();
    if (stageStart?.stage !== stage) stageStart = { stage, at, done: 0 };
    const finished = total !== undefined && done >= total;
    if (!finished && at - lastDraw < PROGRESS_INTERVAL_MS) return;
    lastDraw = at;
    if (options.json) return write('progress', `${stage} ${done}${total === undefined ? '' : `/${total}`}`, { stage, done, total });
    if (!tty) return;
    clearBar();
    bar = fitRow(renderBar({ stage, done, total, unit, elapsedMs: at - stageStart.at, doneAtStart: stageStart.done }));
    if (finished) {
      // The finished bar stays on screen as a line of its own; the rows are drawn below it.
      out.write(`${bar}\n`);
      bar = '';
      drawn.delete(log);
      stageStart = undefined;
    }
    drawAll();
  };
  const status = (_type: string, message: string): void => {
    if (!tty) return;
    clearBar();
    bar = fitRow(`${message} …`);
    drawAll();
    lastDraw = 0;
  };
  const rowProgress = (name: string, stage: string, done: number, total?: number, unit = ''): void => {
    const at = now();
    const known = rows.get(name);
    const start = known?.start?.stage === stage ? known.start : { stage, at, done: 0 };
    const finished = total !== undefined && done >= total;
    const text = fitRow(`[${name}] ${renderBar({ stage, done, total, unit, elapsedMs: at - start.at, doneAtStart: start.done })}`);
    const lastAt = known?.lastDraw ?? 0;
    rows.set(name, { text, start, lastDraw: lastAt });
    if (!finished && at - lastAt < PROGRESS_INTERVAL_MS) return;
    rows.set(name, { text, start, lastDraw: at });
    if (options.json) return write('progress', `${name} ${stage} ${done}${total === undefined ? '' : `/${total}`}`, { row: name, stage, done, total });
    if (!tty) return;
    clearBar();
    drawAll();
  };
  const rowStatus = (name: string, message: string): void => {
    if (!tty) return;
    rows.set(name, { text: fitRow(`[${name}] ${message} …`), lastDraw: 0 });
    clearBar();
    drawAll();
  };
  const rowDone = (name: string): void => {
    if (!rows.delete(name) || !tty) return;
    clearBar();
    drawAll();
    if (drawnLines === 0) drawn.delete(log);
  };
  /**
   * The rows in name order, as many as the terminal's height leaves room for (cursor-up stops at
   * the top row, so a taller block could not be erased): the rest counted on one line.
   */
  const rowLines = (): string[] => {
    const texts = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row.text);
    const room = Math.max(2, ((out as NodeJS.WriteStream).rows || DEFAULT_TERMINAL_ROWS) - 2);
    if (texts.length <= room) return texts;
    return [...texts.slice(0, room - 1), fitRow(`… and ${texts.length - room + 1} more`)];
  };
  const fitRow = (text: string): string => {
    // One terminal row at most: `\r` and erase-line only reach back to the start of the last row.
    const columns = (out as NodeJS.WriteStream).columns;
    return columns && text.length >= columns ? text.slice(0, columns - 1) : text;
  };
  const log: Log = {
    event: write,
    status,
    warn: (message, fields) => write('warn', `warning: ${message}`, fields),
    progress,
    settle,
    rowProgress,
    rowStatus,
    rowDone,
  };
  return log;
}

/** One row of parallel work: its drawn text, when its stage began (for the rate), its last redraw. */
interface RowState {
  readonly text: string;
  readonly start?: { readonly stage: string; readonly at: number; readonly done: number };
  readonly lastDraw: number;
}

interface BarState {
  readonly stage: string;
  readonly done: number;
  readonly total: number | undefined;
  readonly unit: string;
  readonly elapsedMs: number;
  readonly doneAtStart: number;
}

/** "replay [#####-------] 42% 12,000/28,000 entries, 3,100/s, ETA 5s" */
export function renderBar(state: BarState): string {
  const { stage, done, total, unit } = state;
  const count = `${done.toLocaleString('en')}${total === undefined ? '' : `/${total.toLocaleString('en')}`}${unit ? ` ${unit}` : ''}`;
  const rate = state.elapsedMs >= RATE_AFTER_MS ? ((done - state.doneAtStart) * 1000) / state.elapsedMs : undefined;
  const rateText = rate === undefined ? '' : `, ${formatRate(rate)}/s`;
  if (total === undefined || total <= 0) return `${stage} ${count}${rateText}`;
  const fraction = Math.min(1, done / total);
  const filled = Math.round(fraction * BAR_WIDTH);
  const eta = rate !== undefined && rate > 0 && done < total ? `, ETA ${formatSeconds((total - done) / rate)}` : '';
  return `${stage} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.floor(fraction * 100)}% ${count}${rateText}${eta}`;
}

function formatRate(perSecond: number): string {
  return perSecond >= 10 ? Math.round(perSecond).toLocaleString('en') : perSecond.toFixed(1);
}

/** 42s, 3m05s, 1h02m */
export function formatSeconds(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A log that drops everything (library callers that pass no log). */
export const silentLog: Log = { event: () => undefined, status: () => undefined, warn: () => undefined, progress: () => undefined, settle: () => undefined };

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
