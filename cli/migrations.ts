// PLACEHOLDER (owned by the store helper, who replaces this file): registers
// `silverback migrations bootstrap|up|status|reset [--yes]`.
import type { Command } from 'commander';
import type { CliDeps } from './context.js';

export function registerMigrationsCommand(program: Command, deps: CliDeps): void {
  const migrations = program.command('migrations').description('database schema: bootstrap | up | status | reset');
  for (const name of ['bootstrap', 'up', 'status', 'reset']) {
    migrations
      .command(name)
      .option('-c, --conf <file>', 'configuration file (also SILVERBACK_CONF)')
      .option('-y, --yes', 'confirm destructive operations (reset)')
      .action(() => deps.fail(`migrations ${name}: not implemented yet`));
  }
}
