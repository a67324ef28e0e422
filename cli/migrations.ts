// `silverback migrations bootstrap|up|status|reset [--yes]`: the database schema, as `kong migrations`.
import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { openDatabase } from '../control-plane/store/db.js';
import { bootstrap, MigrationError, reset, status, up } from '../control-plane/store/migrations.js';
import type { CliDeps } from './context.js';

type Action = 'bootstrap' | 'up' | 'status' | 'reset';

const DESCRIPTIONS: Record<Action, string> = {
  bootstrap: 'create every table on an empty database',
  up: 'run pending migrations',
  status: 'list executed and pending migrations',
  reset: 'drop every table (asks for --yes)',
};

const print = (line: string) => process.stdout.write(`${line}\n`);

async function confirmReset(): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question('Are you sure? This operation is irreversible. [y/N] ');
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function registerMigrationsCommand(program: Command, deps: CliDeps): void {
  const migrations = program.command('migrations').description('database schema: bootstrap | up | status | reset');
  for (const action of Object.keys(DESCRIPTIONS) as Action[]) {
    migrations
      .command(action)
      .description(DESCRIPTIONS[action])
      .option('-c, --conf <file>', 'configuration file (also SILVERBACK_CONF)')
      .option('-y, --yes', 'confirm destructive operations (reset)')
      .action(async (opts: { conf?: string; yes?: boolean }) => {
        const config = deps.loadConfig({ conf: opts.conf });
        if (config.database === 'off') deps.fail('migrations need a database (database = off)');
        if (action === 'reset' && !opts.yes && !(await confirmReset())) deps.fail('reset cancelled: confirm with --yes');
        const log = deps.createLogger(config, { command: `migrations ${action}` });
        let db;
        try {
          db = await openDatabase(config, log);
        } catch (err) {
          deps.fail(`cannot open the database: ${(err as Error).message}`);
        }
        try {
          if (action === 'bootstrap') await bootstrap(db.pool, print);
          else if (action === 'up') await up(db.pool, print);
          else if (action === 'status') await status(db.pool, print);
          else await reset(db.pool, print);
        } catch (err) {
          if (err instanceof MigrationError) deps.fail(err.message);
          deps.fail(`migrations ${action} failed: ${(err as Error).message}`);
        } finally {
          await db.close();
        }
      });
  }
}
