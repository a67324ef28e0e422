// `silverback config validate FILE` (declarative kong.yml) and `silverback check` (node configuration).
import type { Command } from 'commander';
import { redactConfig } from '../shared/config.js';
import type { CliDeps } from './context.js';

export function registerConfigCommands(program: Command, deps: CliDeps): void {
  const config = program.command('config').description('declarative configuration files');
  config
    .command('validate <file>')
    .description('validate a declarative configuration file (kong.yml format) without starting')
    .action(async (file: string) => {
      const { validateDeclarativeFile } = await import('../data-plane/declarative/index.js');
      try {
        const result = await validateDeclarativeFile(file);
        const counts = result && typeof result === 'object' && 'counts' in result ? (result.counts as Record<string, number>) : null;
        const summary = counts ? ` (${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')})` : '';
        process.stdout.write(`${file} is valid${summary}\n`);
      } catch (err) {
        deps.fail(`${file} is invalid: ${(err as Error).message}`);
      }
    });

  program
    .command('check')
    .description('validate the node configuration (file + SILVERBACK_* environment) and print it, secrets redacted')
    .option('-c, --conf <file>', 'configuration file (also SILVERBACK_CONF)')
    .action((opts: { conf?: string }) => {
      const loaded = deps.loadConfig({ conf: opts.conf });
      process.stdout.write(`${JSON.stringify(redactConfig(loaded), null, 2)}\nconfiguration is valid\n`);
    });
}
