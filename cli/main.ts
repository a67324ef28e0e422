// The `silverback` command line.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../shared/config.js';
import { CliError, createCliDeps } from './context.js';
import { registerStartCommand } from './start.js';
import { registerMigrationsCommand } from './migrations.js';
import { registerConfigCommands } from './config.js';
import { registerCertCommand } from './cert.js';
import { registerHealthCommand } from './health.js';

export function buildProgram(): Command {
  const deps = createCliDeps();
  const program = new Command('silverback')
    .description('Silverback: a Kong-compatible API gateway (control plane + data planes)')
    .version(deps.version, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`${deps.version}\n`);
    });
  registerStartCommand(program, deps);
  registerMigrationsCommand(program, deps);
  registerConfigCommands(program, deps);
  registerCertCommand(program, deps);
  registerHealthCommand(program, deps);
  return program;
}

export async function runCli(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode; // commander already printed its message
  if (err instanceof ConfigError) {
    process.stderr.write(`Error: invalid configuration: ${err.message}\n`);
    return 1;
  }
  if (err instanceof CliError) {
    process.stderr.write(`Error: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`Error: ${e?.message ?? String(err)}\n`);
  return 1;
}
