// proxy-cache: answer repeated requests from a cache instead of the upstream (Kong 3.x config), kept
// in this data plane's memory (bounded LRU) or in Redis (one cache shared by every data plane).
import * as t from '../schema/typedefs.js';
import type { Field } from '../schema/types.js';
import type { PluginSchema } from './types.js';

const bool = (d: boolean): Field => ({ type: 'boolean', required: true, default: d });

/** Kong's redis record (kong/tools/redis/schema.lua), single server. */
const redisFields = {
  host: t.host,
  port: { ...t.port, default: 6379 },
  /** Milliseconds a Redis command may take before the request is proxied without the cache. */
  timeout: { ...t.timeout, default: 2000 },
  username: { type: 'string' },
  password: { type: 'string', secret: true },
  database: { type: 'integer', default: 0 },
  ssl: bool(false),
  ssl_verify: bool(false),
  server_name: t.host,
} satisfies Record<string, Field>;

export const proxyCache: PluginSchema = {
  name: 'proxy-cache',
  version: '3.9.0',
  priority: 100,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    response_code: {
      type: 'array',
      required: true,
      default: [200, 301, 404],
      len_min: 1,
      elements: { type: 'integer', between: [100, 900] },
    },
    request_method: {
      type: 'array',
      required: true,
      default: ['GET', 'HEAD'],
      elements: { type: 'string', one_of: ['HEAD', 'GET', 'POST', 'PATCH', 'PUT'] },
    },
    content_type: { type: 'array', required: true, default: ['text/plain', 'application/json'], elements: { type: 'string' } },
    cache_ttl: { type: 'integer', default: 300, gt: 0 },
    strategy: { type: 'string', required: true, one_of: ['memory', 'redis'] },
    cache_control: bool(false),
    ignore_uri_case: { type: 'boolean', default: false },
    storage_ttl: { type: 'integer' },
    memory: {
      type: 'record',
      required: true,
      fields: {
        // configs naming the same dictionary share one cache (Kong's lua_shared_dict)
        dictionary_name: { type: 'string', required: true, default: 'kong_db_cache' },
        // the dictionary's size (Kong sizes it in nginx.conf; 128 MiB like mem_cache_size)
        max_bytes: { type: 'integer', required: true, default: 128 * 1024 * 1024, gt: 0 },
      },
    },
    redis: { type: 'record', required: true, fields: redisFields },
    vary_query_params: { type: 'array', elements: { type: 'string' } },
    vary_headers: { type: 'array', elements: { type: 'string' } },
    response_headers: {
      type: 'record',
      required: true,
      fields: { age: bool(true), 'X-Cache-Status': bool(true), 'X-Cache-Key': bool(true) },
    },
    // Not in Kong: off by default, a response that sets a cookie or answers an authenticated request
    // (a consumer identified, or an Authorization header) is never stored or served from the cache.
    cache_set_cookie: bool(false),
    cache_authenticated: bool(false),
  },
  config_checks: [
    {
      conditional: {
        if_field: 'strategy',
        if_match: (v) => v === 'redis',
        then_field: 'redis',
        then_match: (r) => (r && typeof r.host === 'string' && r.host !== '' ? undefined : "'redis.host' is required when 'strategy' is 'redis'"),
      },
    },
  ],
};
