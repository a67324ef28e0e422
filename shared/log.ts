// JSON-lines logging (pino). Secrets never reach the log: known secret keys are censored wherever
// they appear at the top level or one/two levels down (headers, config objects, credentials).
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import type { Config, LogLevel } from './config.js';

export type Logger = PinoLogger;

const SECRET_KEYS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'apikey',
  'password',
  'pg_password',
  'secret',
  'client_secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'admin_tokens',
  'private_key',
  'cluster_cert_key',
  'ssl_cert_key',
  'cert_key',
  'key',
  'aws_secret',
  'aws_secret_access_key',
  'secretAccessKey',
];

function bracket(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
}

function join(prefix: string, key: string): string {
  const k = bracket(key);
  return k.startsWith('[') ? `${prefix}${k}` : `${prefix}.${k}`;
}

/** Redaction paths for pino (fast-redact syntax). */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((key) => [bracket(key), join('*', key), join('*.*', key)]);

export const REDACTED = '******';

export interface LoggerOptions {
  /** Defaults to stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/** `createLogger(config)` or `createLogger('debug')`; bindings are added to every line. */
export function createLogger(
  configOrLevel: Pick<Config, 'log_level'> | LogLevel,
  bindings: Record<string, unknown> = {},
  options: LoggerOptions = {},
): Logger {
  const level = typeof configOrLevel === 'string' ? configOrLevel : configOrLevel.log_level;
  const logger = pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return logger;
}
