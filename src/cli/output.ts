// What a command prints: a result object to stdout (JSON with --json, readable lines without)
// and every failure as one line on stderr with its exit code.
import { CommanderError } from 'commander';
import { ExitCode, PitrError, StoreError, exitCodeOf } from '../errors.ts';
import { redactText } from '../redact.ts';
import { settleProgress } from '../log.ts';

export interface Output {
  readonly json: boolean;
  /** The command's final result. */
  result(value: Record<string, unknown>, lines: string[]): void;
}

export function createOutput(json: boolean, out: NodeJS.WritableStream = process.stdout): Output {
  return {
    json,
    result(value, lines) {
      // A result never continues a progress line (`…20000 documentsbase 0001…`).
      settleProgress();
      if (json) out.write(`${redactText(JSON.stringify(value))}\n`);
      else for (const line of lines) out.write(`${redactText(line)}\n`);
    },
  };
}

/** Prints a failure as one line and returns the exit code that names its class. */
export function reportError(error: unknown, json: boolean, err: NodeJS.WritableStream = process.stderr): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (unknown option, missing argument, help).
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  settleProgress();
  const code = exitCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof PitrError ? error.hint : undefined;
  const kind = error instanceof PitrError ? error.code : 'internal';
  if (json) {
    // A store error's kind (no-bucket, bad-credentials, ...) lets a script tell them apart.
    const storeKind = error instanceof StoreError ? error.kind : undefined;
    err.write(`${redactText(JSON.stringify({ type: 'error', code: kind, kind: storeKind, exitCode: code, message, hint }))}\n`);
  } else {
    const text = `mongo-pitr: ${kind} error: ${message}${hint ? ` (${hint})` : ''}`;
    err.write(`${redactText(text.replace(/\s*\n\s*/g, ' '))}\n`);
  }
  if (!(error instanceof PitrError) && process.env.MONGO_PITR_DEBUG && error instanceof Error) err.write(`${error.stack}\n`);
  return code;
}
