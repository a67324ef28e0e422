// What every CLI command gets: configuration loading with CLI overrides, logging, failing cleanly.
import { SILVERBACK_VERSION } from '../shared/version.js';
import { loadConfig, type Config, type SettingName } from '../shared/config.js';
import { createLogger, type Logger } from '../shared/log.js';

export interface LoadCliConfigOptions {
  /** --conf FILE (falls back to SILVERBACK_CONF). */
  conf?: string;
  /** CLI flags, highest precedence; undefined values are ignored. */
  overrides?: Partial<Record<SettingName, unknown>>;
}

export interface CliDeps {
  /** Throws ConfigError (main prints it on one line and exits 1). */
  loadConfig(options?: LoadCliConfigOptions): Config;
  createLogger(config: Config, bindings?: Record<string, unknown>): Logger;
  /** Prints `Error: <message>` on stderr and exits with `code` (1). */
  fail(message: string, code?: number): never;
  version: string;
}

/** A failure meant for the user: printed as one line, no stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function createCliDeps(): CliDeps {
  return {
    loadConfig: (options = {}) => loadConfig({ file: options.conf, env: process.env, overrides: options.overrides }),
    createLogger: (config, bindings) => createLogger(config, bindings),
    fail(message, code = 1): never {
      throw new CliError(message, code);
    },
    version: packageVersion(),
  };
}

/** The version in Silverback's package.json. */
export function packageVersion(): string {
  return SILVERBACK_VERSION;
}
