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

// Every key once per line. pino writes a child's bindings after its parent's and a call's fields
// after both, so `child({component})` under a logger bound with `component`, or a call passing a bound
// key, would repeat the key in one JSON object (most log shippers then reject or mangle the line).
// Children are therefore built from the bare root with the merged bindings (the nearest value wins),
// and a call field that collides with a binding or with level/time/pid is written as `log_<key>`.

const RESERVED = ['level', 'time', 'pid'];
const boundKeys = new WeakMap<object, Set<string>>();

function keysBoundTo(logger: PinoLogger): Set<string> {
  let keys = boundKeys.get(logger);
  if (keys === undefined) {
    keys = new Set([...RESERVED, ...Object.keys(logger.bindings())]);
    boundKeys.set(logger, keys);
  }
  return keys;
}

/** pino's logMethod hook: rename call fields that would repeat a key already on the line. */
function uniqueFields(this: PinoLogger, args: unknown[], method: (...a: unknown[]) => void): void {
  const obj = args[0];
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj) && !(obj instanceof Error)) {
    const bound = keysBoundTo(this);
    const withMsg = typeof args[1] === 'string';
    let copy: Record<string, unknown> | null = null;
    for (const k in obj as Record<string, unknown>) {
      if (!bound.has(k) && !(withMsg && k === 'msg')) continue;
      copy ??= { ...(obj as Record<string, unknown>) };
      let to = `log_${k}`;
      while (to in copy) to = `log_${to}`;
      copy[to] = copy[k];
      delete copy[k];
    }
    if (copy !== null) args = [copy, ...args.slice(1)];
  }
  method.apply(this, args);
}

/** Replace `child` so a child's bindings replace its parent's same keys instead of repeating them. */
type MakeChild = (this: unknown, bindings: Record<string, unknown>, opts: Record<string, unknown>) => unknown;

function withUniqueChildren(logger: PinoLogger, root: PinoLogger, makeChild: MakeChild): PinoLogger {
  (logger as any).child = function (this: PinoLogger, bindings: Record<string, unknown>, opts: Record<string, unknown> = {}) {
    const merged = { ...this.bindings(), ...bindings };
    return withUniqueChildren(makeChild.call(root, merged, { level: this.level, ...opts }) as PinoLogger, root, makeChild);
  };
  return logger;
}

/** `createLogger(config)` or `createLogger('debug')`; bindings are added to every line. */
export function createLogger(
  configOrLevel: Pick<Config, 'log_level'> | LogLevel,
  bindings: Record<string, unknown> = {},
  options: LoggerOptions = {},
): Logger {
  const level = typeof configOrLevel === 'string' ? configOrLevel : configOrLevel.log_level;
  const root = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
      hooks: { logMethod: uniqueFields as any },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  const { pid: _pid, ...rest } = bindings;
  void _pid;
  const makeChild = root.child as unknown as MakeChild;
  const top = (Object.keys(rest).length ? root.child(rest) : root) as unknown as PinoLogger;
  return withUniqueChildren(top, root as unknown as PinoLogger, makeChild);
}
