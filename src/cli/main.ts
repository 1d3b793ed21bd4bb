// Entry point of the mongo-pitr command: parse, run, map errors to one line and an exit code.
import { runCli } from './program.ts';

process.exitCode = await runCli(process.argv);
