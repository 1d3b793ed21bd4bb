// mongo-pitr migrate: converts the store's manifest to the current format (backup/migrate.ts).
import type { Command } from 'commander';
import { migrate } from '../../backup/migrate.ts';
import { contextOf, withStore } from '../context.ts';
import { counted } from '../../words.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('convert the manifest to format 2 (a head plus index segments); the old one is kept as manifest-v1.json')
    .action(async (_flags: unknown, command: Command) => {
      const context = contextOf(command);
      const result = await withStore(context, (store) => migrate(store));
      const line = result.converted
        ? `converted format ${result.fromVersion} to ${result.toVersion}: ${counted(result.chains, 'chain')}, ${counted(result.chunks, 'chunk')} read back identical`
        : `already format ${result.fromVersion}: nothing to do`;
      context.output.result({ type: 'migrate', ...result }, [line]);
    });
}
