// Where a command's events go: plain lines for people (stderr, so stdout stays for results),
// or one JSON object per line with --json. Every line passes through redaction.
import { redactText } from './redact.ts';

export type LogFields = Record<string, unknown>;

export interface Log {
  /** A progress or state event: `backup.collection`, `oplog.chunk`, `restore.receipt` ... */
  event(type: string, message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
}

export function createLog(options: { json: boolean; quiet?: boolean; out?: NodeJS.WritableStream }): Log {
  const out = options.out ?? process.stderr;
  const write = (type: string, message: string, fields: LogFields = {}): void => {
    if (options.json) {
      out.write(`${redactText(JSON.stringify({ time: new Date().toISOString(), type, message, ...fields }, jsonSafe))}\n`);
    } else if (!options.quiet || type === 'warn') {
      out.write(`${redactText(message)}\n`);
    }
  };
  return {
    event: write,
    warn: (message, fields) => write('warn', `warning: ${message}`, fields),
  };
}

/** A log that drops everything (library callers that pass no log). */
export const silentLog: Log = { event: () => undefined, warn: () => undefined };

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
