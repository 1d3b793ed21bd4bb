// Ctrl-C and SIGTERM. The first one aborts the command's signal, so backup commands stop between
// commits and restores between batches, and the failure prints its one line as usual. A step
// in flight does not see the signal, though (a bulk write under load can take a minute), so a
// command given `graceMs` is ended by force that long after the first signal, and any command
// by a second signal: one line, exit 128 + the signal's number, as a shell reports it.
// Ending a backup command by force is safe by design (objects first, manifest last, the crash
// tests SIGKILL it); a restore ended by force leaves a partial target, as it would when stopped.
import { ExitCode, Interrupted } from '../errors.ts';
import { settleProgress } from '../log.ts';

export interface StopSignalOptions {
  /** End the process this long after the first signal if the command has not finished. */
  readonly graceMs?: number;
  /** What the forced line says was left: "the target holds part of the restore; ...". */
  readonly stoppedMessage?: string;
}

type StopName = 'SIGINT' | 'SIGTERM';

let controller: AbortController | undefined;
let options: StopSignalOptions = {};
let reported = false;

/** One signal per process: every stopSignal() of a command shares it. */
export function stopSignal(stopOptions: StopSignalOptions = {}): AbortSignal {
  if (stopOptions.graceMs !== undefined || stopOptions.stoppedMessage !== undefined) options = { ...options, ...stopOptions };
  if (controller) return controller.signal;
  const own = new AbortController();
  controller = own;
  const onSignal = (name: StopName): void => {
    if (own.signal.aborted) return forceExit(name);
    own.abort(new Interrupted(name, interruptedMessage(name)));
    if (options.graceMs !== undefined) setTimeout(() => forceExit(name), options.graceMs).unref();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  return own.signal;
}

/**
 * Why the command stopped, once a signal came: the error the command failed with then is most
 * often the abort's echo from deep inside (a driver's "operation was aborted"), not the news.
 */
export function stopReason(): Interrupted | undefined {
  const reason: unknown = controller?.signal.reason;
  return reason instanceof Interrupted ? reason : undefined;
}

/** The CLI printed its result or error line: a forced exit after this adds no second line. */
export function markReported(): void {
  reported = true;
}

function interruptedMessage(name: StopName): string {
  return options.stoppedMessage ? `stopped by ${name}: ${options.stoppedMessage}` : `stopped by ${name}`;
}

function forceExit(name: StopName): void {
  if (!reported) {
    settleProgress();
    reported = true;
    process.stderr.write(`mongo-pitr: interrupted error: ${interruptedMessage(name)}\n`);
  }
  process.exit(name === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
}
