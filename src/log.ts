// Where a command's events go: plain lines for people (stderr, so stdout stays for results),
// or one JSON object per line with --json. Every line passes through redaction.
import { redactText } from './redact.ts';

export type LogFields = Record<string, unknown>;

export interface Log {
  /** A progress or state event: `backup.collection`, `oplog.chunk`, `restore.receipt` ... */
  event(type: string, message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  /**
   * How far a stage is (`download` 3 of 8 objects, `replay` 120,000 entries): a progress bar
   * on a terminal, a throttled `progress` event with --json, nothing in plain logs (whose
   * event lines already say what finished).
   */
  progress(stage: string, done: number, total?: number, unit?: string): void;
}

/** Redraws and --json progress events at most this often. */
const PROGRESS_INTERVAL_MS = 200;
const BAR_WIDTH = 28;

export function createLog(options: { json: boolean; quiet?: boolean; out?: NodeJS.WritableStream }): Log {
  const out = options.out ?? process.stderr;
  const tty = !options.json && !options.quiet && (out as NodeJS.WriteStream).isTTY === true;
  let bar = '';
  let lastDraw = 0;
  const clearBar = (): void => {
    if (bar) out.write('\r\x1b[K');
  };
  const write = (type: string, message: string, fields: LogFields = {}): void => {
    if (options.json) {
      out.write(`${redactText(JSON.stringify({ time: new Date().toISOString(), type, message, ...fields }, jsonSafe))}\n`);
    } else if (!options.quiet || type === 'warn') {
      clearBar();
      out.write(`${redactText(message)}\n`);
      if (bar) out.write(bar);
    }
  };
  const progress = (stage: string, done: number, total?: number, unit = ''): void => {
    const now = Date.now();
    const finished = total !== undefined && done >= total;
    if (!finished && now - lastDraw < PROGRESS_INTERVAL_MS) return;
    lastDraw = now;
    if (options.json) return write('progress', `${stage} ${done}${total === undefined ? '' : `/${total}`}`, { stage, done, total });
    if (!tty) return;
    clearBar();
    bar = renderBar(stage, done, total, unit);
    out.write(bar);
    if (finished) {
      out.write('\n');
      bar = '';
    }
  };
  return {
    event: write,
    warn: (message, fields) => write('warn', `warning: ${message}`, fields),
    progress,
  };
}

function renderBar(stage: string, done: number, total: number | undefined, unit: string): string {
  const count = `${done.toLocaleString('en')}${total === undefined ? '' : `/${total.toLocaleString('en')}`}${unit ? ` ${unit}` : ''}`;
  if (total === undefined || total <= 0) return `${stage} ${count}`;
  const filled = Math.min(BAR_WIDTH, Math.round((done / total) * BAR_WIDTH));
  return `${stage} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.floor((done / total) * 100)}% ${count}`;
}

/** A log that drops everything (library callers that pass no log). */
export const silentLog: Log = { event: () => undefined, warn: () => undefined, progress: () => undefined };

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
