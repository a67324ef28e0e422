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
      const { validateDeclarativeFile, flattenDeclarativeErrors } = await import('../data-plane/declarative/index.js');
      const result = await validateDeclarativeFile(file);
      if (result.ok) {
        const counts = Object.entries(result.counts).filter(([, n]) => n > 0);
        const summary = counts.length ? ` (${counts.map(([k, n]) => `${n} ${k}`).join(', ')})` : '';
        process.stdout.write(`${file} is valid${summary}\n`);
        return;
      }
      const lines = flattenDeclarativeErrors(result.error).flatMap((entity) =>
        entity.errors.map((e) => {
          const where = [entity.path, e.field].filter(Boolean).join(' ');
          return `  ${where ? `${where}: ` : ''}${e.message}`;
        }),
      );
      process.stderr.write(`${result.error.message}\n${lines.join('\n')}${lines.length ? '\n' : ''}`);
      deps.fail(`${file} is not a valid declarative configuration`);
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
