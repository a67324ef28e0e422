// Node configuration in the spirit of kong.conf: one table of settings, read from an optional file
// (`name = value` lines, or YAML/JSON) and then from SILVERBACK_<NAME> environment variables.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';

export type Role = 'traditional' | 'control_plane' | 'data_plane';
export type DatabaseMode = 'embedded' | 'postgres' | 'off';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Keys are Kong's snake_case names on purpose: they match the config file and the env vars. */
export interface Config {
  admin_listen: string;
  proxy_listen: string[];
  status_listen: string;
  cluster_listen: string;
  role: Role;
  database: DatabaseMode;
  pg_host: string;
  pg_port: number;
  pg_user: string;
  pg_password: string | null;
  pg_database: string;
  pg_ssl: boolean;
  pg_timeout: number;
  pg_max_connections: number;
  prefix: string;
  log_level: LogLevel;
  declarative_config: string | null;
  cluster_control_plane: string;
  cluster_mtls: 'shared' | 'pki';
  cluster_cert: string | null;
  cluster_cert_key: string | null;
  cluster_ca_cert: string | null;
  cluster_server_name: string | null;
  cluster_allowed_common_names: string[];
  cluster_plaintext: boolean;
  admin_tokens: string[];
  trusted_ips: string[];
  real_ip_header: string;
  real_ip_recursive: boolean;
  ssl_cert: string | null;
  ssl_cert_key: string | null;
  allow_debug_header: boolean;
  plugins: string[];
  migrations_auto: boolean;
  node_id: string | null;
  keepalive_timeout: number;
  drain_grace_period: number;
  drain_timeout: number;
  ttl_cleanup_interval: number;
  upstream_keepalive_pool_size: number;
  proxy_access_log: 'off' | 'stdout';
}

export type SettingName = keyof Config;
type SettingType = 'string' | 'number' | 'boolean' | 'list' | 'enum';

interface SettingSpec {
  type: SettingType;
  default: unknown;
  nullable?: boolean;
  secret?: boolean;
  /** Resolved against the current directory. */
  path?: boolean;
  values?: readonly string[];
  aliases?: Record<string, string>;
  integer?: boolean;
  min?: number;
  max?: number;
  /** Extra check on the parsed value; returns an error message. */
  check?: (value: any) => string | undefined;
  doc: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const checkListen = (value: string | string[]): string | undefined => {
  try {
    parseListen(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

const checkAddress = (value: string): string | undefined => {
  try {
    parseAddress(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

const ROLE_ALIASES = { all: 'traditional', 'control-plane': 'control_plane', 'data-plane': 'data_plane' };

export const SETTINGS: Record<SettingName, SettingSpec> = {
  admin_listen: { type: 'string', default: '127.0.0.1:8001', check: checkListen, doc: 'Admin API listeners ("off" disables).' },
  proxy_listen: { type: 'list', default: ['0.0.0.0:8000'], check: checkListen, doc: 'Proxy listeners, e.g. "0.0.0.0:8000, 0.0.0.0:8443 ssl".' },
  status_listen: { type: 'string', default: '127.0.0.1:8100', check: checkListen, doc: 'Status API listener (/status, /status/ready, /metrics).' },
  cluster_listen: { type: 'string', default: '127.0.0.1:8005', check: checkListen, doc: 'Control-plane gRPC sync listener.' },
  role: { type: 'enum', default: 'traditional', values: ['traditional', 'control_plane', 'data_plane'], aliases: ROLE_ALIASES, doc: 'Node role.' },
  database: { type: 'enum', default: 'embedded', values: ['embedded', 'postgres', 'off'], doc: 'Database backend of the control plane.' },
  pg_host: { type: 'string', default: '127.0.0.1', doc: 'PostgreSQL host.' },
  pg_port: { type: 'number', default: 5432, integer: true, min: 1, max: 65535, doc: 'PostgreSQL port.' },
  pg_user: { type: 'string', default: 'silverback', doc: 'PostgreSQL user.' },
  pg_password: { type: 'string', default: null, nullable: true, secret: true, doc: 'PostgreSQL password.' },
  pg_database: { type: 'string', default: 'silverback', doc: 'PostgreSQL database.' },
  pg_ssl: { type: 'boolean', default: false, doc: 'Connect to PostgreSQL over TLS.' },
  pg_timeout: { type: 'number', default: 5000, integer: true, min: 1, doc: 'PostgreSQL connect/statement timeout in ms.' },
  pg_max_connections: { type: 'number', default: 10, integer: true, min: 1, doc: 'PostgreSQL pool size.' },
  prefix: { type: 'string', default: './.silverback', path: true, doc: 'Working directory (node id, caches, embedded database).' },
  log_level: { type: 'enum', default: 'info', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'], doc: 'Log level.' },
  declarative_config: { type: 'string', default: null, nullable: true, path: true, doc: 'Declarative configuration file (kong.yml).' },
  cluster_control_plane: { type: 'string', default: '127.0.0.1:8005', check: checkAddress, doc: 'Control plane address a data plane connects to.' },
  cluster_mtls: { type: 'enum', default: 'shared', values: ['shared', 'pki'], doc: 'Cluster mTLS mode.' },
  cluster_cert: { type: 'string', default: null, nullable: true, path: true, doc: 'Cluster certificate (PEM file).' },
  cluster_cert_key: { type: 'string', default: null, nullable: true, path: true, secret: true, doc: 'Cluster certificate key (PEM file).' },
  cluster_ca_cert: { type: 'string', default: null, nullable: true, path: true, doc: 'Cluster CA certificate (PEM file, pki mode).' },
  cluster_server_name: { type: 'string', default: null, nullable: true, doc: 'TLS server name a data plane expects from the control plane.' },
  cluster_allowed_common_names: { type: 'list', default: [], doc: 'Data-plane certificate CNs accepted in pki mode.' },
  cluster_plaintext: { type: 'boolean', default: false, doc: 'Run cluster sync without TLS (development only).' },
  admin_tokens: { type: 'list', default: [], secret: true, doc: 'Bearer tokens accepted by the Admin API (empty: no auth).' },
  trusted_ips: { type: 'list', default: [], doc: 'Proxies trusted to send real_ip_header / X-Forwarded-*.' },
  real_ip_header: { type: 'string', default: 'X-Real-IP', doc: 'Header carrying the client address.' },
  real_ip_recursive: { type: 'boolean', default: false, doc: 'Use the last untrusted address of the header.' },
  ssl_cert: { type: 'string', default: null, nullable: true, path: true, doc: 'Proxy/Admin TLS certificate (PEM file).' },
  ssl_cert_key: { type: 'string', default: null, nullable: true, path: true, secret: true, doc: 'Proxy/Admin TLS key (PEM file).' },
  allow_debug_header: { type: 'boolean', default: false, doc: 'Honour the Kong-Debug request header.' },
  plugins: { type: 'list', default: ['bundled'], doc: 'Enabled plugins ("bundled" = all shipped plugins).' },
  migrations_auto: { type: 'boolean', default: true, doc: '`start` bootstraps an empty database and runs pending migrations.' },
  node_id: { type: 'string', default: null, nullable: true, doc: 'Node id (default: generated once, kept in <prefix>/node_id).' },
  keepalive_timeout: { type: 'number', default: 75000, integer: true, min: 0, doc: 'Client keep-alive timeout in ms (above an ALB idle timeout).' },
  drain_grace_period: {
    type: 'number',
    default: 0,
    integer: true,
    min: 0,
    doc: 'On SIGTERM a data plane reports not ready and keeps serving (with Connection: close) this many ms before it stops accepting, so a load balancer stops sending first (e.g. 5000 behind an ALB).',
  },
  drain_timeout: {
    type: 'number',
    default: 10000,
    integer: true,
    min: 0,
    doc: 'On SIGTERM, how long requests in flight may take to finish once the listeners are closed; the rest are cut.',
  },
  ttl_cleanup_interval: {
    type: 'number',
    default: 60000,
    integer: true,
    min: 0,
    doc: 'How often a control plane deletes entities whose ttl has passed (expired key-auth keys), in ms; 0 never.',
  },
  upstream_keepalive_pool_size: { type: 'number', default: 128, integer: true, min: 0, doc: 'Idle upstream connections kept per host.' },
  proxy_access_log: {
    type: 'enum',
    default: 'off',
    values: ['off', 'stdout'],
    aliases: { '/dev/stdout': 'stdout', on: 'stdout' },
    doc: 'Structured access log of a data plane: one JSON line per proxied request on stdout ("off" disables).',
  },
};

export const ENV_PREFIX = 'SILVERBACK_';
/** Env vars with the prefix that are not settings. */
const ENV_NOT_SETTINGS = new Set(['SILVERBACK_CONF', 'SILVERBACK_SYSTEM_STATE_DIR']);
// Kubernetes injects service links for a Service named "silverback" (SILVERBACK_SERVICE_HOST,
// SILVERBACK_PORT_8000_TCP, ...): they are not typos of settings, so they must not stop the start.
const KUBERNETES_SERVICE_LINK = /^SILVERBACK_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

export function defaultConfig(): Config {
  return loadConfig({ env: {} });
}

export interface LoadConfigOptions {
  /** Config file; when absent, SILVERBACK_CONF from env is used (if set). */
  file?: string | null;
  env?: NodeJS.ProcessEnv | Record<string, string | undefined>;
  /** Highest precedence (CLI flags). Raw strings or already typed values. */
  overrides?: Partial<Record<SettingName, unknown>>;
  cwd?: string;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const raw: Partial<Record<SettingName, unknown>> = {};
  const origin: Partial<Record<SettingName, string>> = {};

  const file = options.file ?? env.SILVERBACK_CONF ?? null;
  if (file) {
    const fromFile = readConfigFile(resolvePath(cwd, file));
    for (const [name, value] of Object.entries(fromFile)) {
      if (!isSetting(name)) throw new ConfigError(`unknown setting "${name}" in ${file}`);
      raw[name] = value;
      origin[name] = file;
    }
  }

  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || ENV_NOT_SETTINGS.has(key) || KUBERNETES_SERVICE_LINK.test(key) || value === undefined) continue;
    const name = key.slice(ENV_PREFIX.length).toLowerCase();
    if (!isSetting(name)) throw new ConfigError(`unknown setting "${name}" (from environment variable ${key})`);
    raw[name] = value;
    origin[name] = `environment variable ${key}`;
  }

  for (const [name, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    if (!isSetting(name)) throw new ConfigError(`unknown setting "${name}"`);
    raw[name] = value;
    origin[name] = 'command line';
  }

  const config = {} as Record<SettingName, unknown>;
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec = SETTINGS[name];
    const value = name in raw ? coerce(name, spec, raw[name], origin[name]!) : clone(spec.default);
    config[name] = spec.path && typeof value === 'string' ? resolvePath(cwd, value) : value;
  }
  return config as unknown as Config;
}

export function isSetting(name: string): name is SettingName {
  return Object.prototype.hasOwnProperty.call(SETTINGS, name);
}

/** A copy safe to print or return from the Admin API: secrets replaced by "******". */
export function redactConfig(config: Config): Record<SettingName, unknown> {
  const out = { ...config } as Record<SettingName, unknown>;
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    if (!SETTINGS[name].secret) continue;
    const value = out[name];
    if (Array.isArray(value)) out[name] = value.map(() => '******');
    else if (value !== null && value !== undefined) out[name] = '******';
  }
  return out;
}

export interface ListenAddress {
  host: string;
  port: number;
  ssl: boolean;
  /** Other flags after the address (http2, reuseport, ...), kept for callers that care. */
  flags: string[];
}

/**
 * "0.0.0.0:8000, 0.0.0.0:8443 ssl" (or an array of such entries) → addresses; "off" → [].
 * IPv6 hosts are written in brackets: "[::1]:8001".
 */
export function parseListen(value: string | readonly string[]): ListenAddress[] {
  const list: readonly string[] = typeof value === 'string' ? value.split(',') : value;
  const entries = list
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 1 && entries[0] === 'off') return [];
  return entries.map((entry) => {
    const [address, ...flags] = entry.split(/\s+/);
    if (address === 'off') throw new ConfigError(`"off" cannot be combined with other listeners`);
    const { host, port } = parseAddress(address!);
    return { host, port, ssl: flags.includes('ssl'), flags: flags.filter((f) => f !== 'ssl') };
  });
}

/** "host:port" → { host, port }; brackets around IPv6 hosts are removed. */
export function parseAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d+)$/.exec(value.trim());
  if (!match) throw new ConfigError(`invalid address "${value}" (expected host:port)`);
  const port = Number(match[3]);
  if (port > 65535) throw new ConfigError(`invalid port in "${value}"`);
  return { host: (match[1] ?? match[2])!, port };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.json' || ext === '.yml' || ext === '.yaml') {
    let parsed: unknown;
    try {
      parsed = ext === '.json' ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new ConfigError(`cannot parse configuration file ${file}: ${(err as Error).message}`);
    }
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(`configuration file ${file} must contain a mapping of settings`);
    }
    return parsed as Record<string, unknown>;
  }
  return parseConfLines(text, file);
}

/** kong.conf format: `name = value`, `#` starts a comment (write `\#` for a literal #). */
export function parseConfLines(text: string, source = 'configuration file'): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, index) => {
    const stripped = line.replace(/(^|[^\\])#.*$/, '$1').replace(/\\#/g, '#').trim();
    if (stripped === '') return;
    const eq = stripped.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}:${index + 1}: expected "name = value", got "${line.trim()}"`);
    const name = stripped.slice(0, eq).trim();
    let value = stripped.slice(eq + 1).trim();
    if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) {
      value = value.slice(1, -1);
    }
    out[name] = value;
  });
  return out;
}

function coerce(name: SettingName, spec: SettingSpec, input: unknown, origin: string): unknown {
  const fail = (why: string): never => {
    throw new ConfigError(`invalid value for setting "${name}" (from ${origin}): ${why}`);
  };
  let value: unknown;
  if (input === null || (typeof input === 'string' && input.trim() === '')) {
    if (spec.type === 'list') value = [];
    else if (spec.nullable) value = null;
    else fail('a value is required');
  } else {
    switch (spec.type) {
      case 'string':
        if (typeof input !== 'string' && typeof input !== 'number') fail('expected a string');
        value = String(input).trim();
        break;
      case 'number': {
        const n = typeof input === 'number' ? input : typeof input === 'string' ? Number(input.trim()) : NaN;
        if (!Number.isFinite(n)) fail(`expected a number, got "${String(input)}"`);
        if (spec.integer && !Number.isInteger(n)) fail(`expected an integer, got "${String(input)}"`);
        if (spec.min !== undefined && n < spec.min) fail(`must be at least ${spec.min}`);
        if (spec.max !== undefined && n > spec.max) fail(`must be at most ${spec.max}`);
        value = n;
        break;
      }
      case 'boolean': {
        if (typeof input === 'boolean') value = input;
        else {
          const s = String(input).trim().toLowerCase();
          if (['on', 'true', 'yes', '1'].includes(s)) value = true;
          else if (['off', 'false', 'no', '0'].includes(s)) value = false;
          else fail(`expected on/off (or true/false), got "${String(input)}"`);
        }
        break;
      }
      case 'list': {
        const items = Array.isArray(input) ? input.map((v) => String(v)) : typeof input === 'string' ? input.split(',') : fail('expected a comma-separated list');
        value = (items as string[]).map((s) => s.trim()).filter((s) => s !== '');
        break;
      }
      case 'enum': {
        const s = String(input).trim();
        const resolved = spec.aliases?.[s] ?? s;
        if (!spec.values!.includes(resolved)) fail(`expected one of ${spec.values!.join(', ')}, got "${s}"`);
        value = resolved;
        break;
      }
    }
  }
  if (spec.check && value !== null) {
    const problem = spec.check(value);
    if (problem) fail(problem);
  }
  return value;
}

function clone<T>(value: T): T {
  return Array.isArray(value) ? ([...value] as T) : value;
}
