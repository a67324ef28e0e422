// rate-limiting: limit how many requests a client makes per second … year (Kong 3.x config), counted
// per data plane (`local`) or shared by every data plane through Redis (`redis`; `cluster` is the
// same, since data planes have no database). Beyond Kong OSS: `window_type` sliding, and Redis
// Sentinel / Cluster settings named as Kong Enterprise names them.
import { coerceField } from '../schema/form.js';
import * as t from '../schema/typedefs.js';
import type { EntityError, Field, Fields } from '../schema/types.js';
import { headerNameField } from './request-termination.js';
import type { PluginSchema } from './types.js';

export const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;
export type Period = (typeof PERIODS)[number];

const limit: Field = { type: 'number', gt: 0 };
const bool = (d: boolean): Field => ({ type: 'boolean', required: true, default: d });

/** Kong's typedefs.sni: a hostname (no IP, no port). */
const sni: Field = {
  type: 'string',
  custom: (v: string) => {
    if (t.validHost(v) !== undefined) return t.validHost(v);
    return /^[\d.]+$/.test(v) || v.includes(':') ? 'must not be an IP' : undefined;
  },
};

const hostPort = (hostName: 'host' | 'ip'): Field => ({
  type: 'record',
  fields: { [hostName]: { ...t.host, required: true }, port: { ...t.port, required: true } },
});

/** Kong's redis record (kong/tools/redis/schema.lua) plus Enterprise's Sentinel and Cluster fields. */
export const redisFields: Fields = {
  host: t.host,
  port: { ...t.port, default: 6379 },
  timeout: { ...t.timeout, default: 2000 },
  username: { type: 'string' },
  password: { type: 'string', secret: true, len_min: 0 },
  database: { type: 'integer', default: 0 },
  ssl: bool(false),
  ssl_verify: bool(false),
  server_name: sni,
  sentinel_master: { type: 'string' },
  sentinel_role: { type: 'string', one_of: ['master', 'slave', 'any'] },
  sentinel_nodes: { type: 'array', len_min: 1, elements: hostPort('host') },
  sentinel_username: { type: 'string' },
  sentinel_password: { type: 'string', secret: true, len_min: 0 },
  cluster_nodes: { type: 'array', len_min: 1, elements: hostPort('ip') },
  cluster_max_redirections: { type: 'integer', default: 5 },
};

/** The legacy flat `redis_*` fields (Kong ≤ 3.5), accepted on input and stored in `redis`. */
const LEGACY_REDIS = ['host', 'port', 'password', 'username', 'ssl', 'ssl_verify', 'server_name', 'timeout', 'database'];
// Form input (`config.redis_port=6379`) arrives as strings: decoded like the field they stand for.
const shorthands = Object.fromEntries(
  LEGACY_REDIS.map((f) => [`redis_${f}`, (v: unknown) => ({ redis: { [f]: typeof v === 'string' ? coerceField(redisFields[f], v, {}) : v } })]),
) as PluginSchema['shorthands'];

const fmt = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(n));

/** Kong's validate_periods_order: a longer period may not allow fewer requests than a shorter one. */
function periodsOrder(c: Record<string, any>): string | undefined {
  for (let i = 0; i < PERIODS.length; i++) {
    const lower = c[PERIODS[i]];
    if (typeof lower !== 'number') continue;
    for (let j = i + 1; j < PERIODS.length; j++) {
      const upper = c[PERIODS[j]];
      if (typeof upper === 'number' && upper < lower) {
        return `The limit for ${PERIODS[j]}(${fmt(upper)}) cannot be lower than the limit for ${PERIODS[i]}(${fmt(lower)})`;
      }
    }
  }
  return undefined;
}

const set = (v: unknown) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0);

/** Kong's conditional checks (policy redis → redis.host …; limit_by header/path → header_name/path). */
function conditionals(c: Record<string, any>): EntityError | undefined {
  const errs: EntityError = [];
  const failed = (field: string, tree: Record<string, any>) => {
    errs.push(`failed conditional validation given value of field 'config.${field}'`);
    errs.push({ field: 'config', message: tree });
  };
  const r = (c.redis ?? {}) as Record<string, any>;
  if (c.policy === 'redis') {
    if (!set(r.host) && !set(r.sentinel_nodes) && !set(r.cluster_nodes)) failed('policy', { redis: { host: 'required field missing' } });
    else if (!set(r.port)) failed('policy', { redis: { port: 'required field missing' } });
    else if (!set(r.timeout)) failed('policy', { redis: { timeout: 'required field missing' } });
  }
  if (c.limit_by === 'header' && !set(c.header_name)) failed('limit_by', { header_name: 'required field missing' });
  else if (c.limit_by === 'path' && !set(c.path)) failed('limit_by', { path: 'required field missing' });
  return errs.length ? errs.slice(0, 2) : undefined;
}

/** Config-wide rules (Kong's custom_validator and Enterprise's redis checks): the config field's error. */
function configRules(c: Record<string, any>): string | undefined {
  const order = periodsOrder(c);
  if (order) return order;
  if (c.policy !== 'redis' && c.policy !== 'cluster' && c.sync_rate !== -1 && c.sync_rate !== null && c.sync_rate !== undefined)
    return 'sync_rate can only be used with the redis policy';
  if (typeof c.sync_rate === 'number' && c.sync_rate !== -1 && c.sync_rate < 0.02) return 'sync_rate must be greater than 0.02, or -1 to disable';
  const r = (c.redis ?? {}) as Record<string, any>;
  if (set(r.sentinel_master) !== set(r.sentinel_nodes))
    return "all or none of these fields must be set: 'config.redis.sentinel_master', 'config.redis.sentinel_nodes'";
  if (set(r.sentinel_nodes) && set(r.cluster_nodes))
    return "only one or none of these fields must be set: 'config.redis.sentinel_nodes', 'config.redis.cluster_nodes'";
  return undefined;
}

export const rateLimiting: PluginSchema = {
  name: 'rate-limiting',
  version: '3.9.0',
  priority: 910,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    second: limit,
    minute: limit,
    hour: limit,
    day: limit,
    month: limit,
    year: limit,
    limit_by: { type: 'string', default: 'consumer', one_of: ['consumer', 'credential', 'ip', 'service', 'header', 'path'] },
    header_name: headerNameField,
    path: t.path,
    policy: { type: 'string', default: 'local', one_of: ['local', 'cluster', 'redis'] },
    fault_tolerant: bool(true),
    redis: { type: 'record', required: true, fields: redisFields },
    hide_client_headers: bool(false),
    error_code: { type: 'number', default: 429, gt: 0 },
    error_message: { type: 'string', default: 'API rate limit exceeded' },
    sync_rate: { type: 'number', default: -1 },
    window_type: { type: 'string', required: true, default: 'fixed', one_of: ['fixed', 'sliding'] },
  },
  shorthands,
  plugin_checks: [
    (p) => {
      const c = p.config;
      if (!c || typeof c !== 'object') return undefined;
      if (PERIODS.every((k) => !set(c[k])))
        return `at least one of these fields must be non-empty: ${PERIODS.map((k) => `'config.${k}'`).join(', ')}`;
      return conditionals(c);
    },
    (p) => {
      const msg = p.config && typeof p.config === 'object' ? configRules(p.config) : undefined;
      return msg ? { field: 'config', message: msg } : undefined;
    },
  ],
};
