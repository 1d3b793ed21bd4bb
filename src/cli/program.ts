// The mongo-pitr command line: a thin shell over the library's use cases. Flag names follow
// mongodump/mongorestore where the concept is the same (--uri, --nsInclude, --drop, ...).
import { Command, CommanderError } from 'commander';
import { ExitCode, Interrupted, UsageError } from '../errors.ts';
import { addGlobalOptions } from './context.ts';
import { reportError } from './output.ts';
import { markReported, stopReason } from './stop-signal.ts';
import { registerBackup } from './commands/backup.ts';
import { registerCompact } from './commands/compact.ts';
import { registerExport } from './commands/export.ts';
import { registerFind } from './commands/find.ts';
import { registerImport } from './commands/import.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerOplog } from './commands/oplog.ts';
import { registerPrune } from './commands/prune.ts';
import { registerReplay } from './commands/replay.ts';
import { registerRun } from './commands/run.ts';
import { registerRestore } from './commands/restore.ts';
import { registerStatus } from './commands/status.ts';
import { registerStream } from './commands/stream.ts';
import { registerVerify } from './commands/verify.ts';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = addGlobalOptions(
    new Command('mongo-pitr')
      .description('continuous MongoDB backup to object storage with point-in-time restore')
      .version(VERSION)
      .exitOverride()
      // Commander's own "error: ..." line is replaced by ours (runCli): one documented shape.
      .configureOutput({ outputError: () => undefined })
      .showHelpAfterError(false),
  );
  registerBackup(program);
  registerFind(program);
  registerOplog(program);
  registerPrune(program);
  registerRun(program);
  registerRestore(program);
  registerStatus(program);
  registerStream(program);
  registerVerify(program);
  registerImport(program);
  registerExport(program);
  registerReplay(program);
  registerMigrate(program);
  registerCompact(program);
  // Subcommands inherit the override so their usage errors reach runCli too.
  for (const command of program.commands) command.exitOverride().configureOutput({ outputError: () => undefined });
  return program;
}

/** Commander's message ("error: unknown option '--x'") as our usage error. */
function usageErrorOf(error: CommanderError): UsageError {
  return new UsageError(error.message.replace(/^error:\s*/, ''), { cause: error, hint: 'see mongo-pitr --help' });
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return 0;
    // Help shown because no command was given is already on stderr: only the exit code is left.
    if (error instanceof CommanderError && error.code === 'commander.help') return ExitCode.usage;
    const reported = error instanceof Interrupted ? error : (stopReason() ?? error);
    return reportError(reported instanceof CommanderError ? usageErrorOf(reported) : reported, argv.includes('--json'));
  } finally {
    markReported();
  }
}
