import { isIP } from 'node:net';
import * as t from '../typedefs.js';
import type { EntitySchema, Field } from '../types.js';

const HASH_ON = ['none', 'consumer', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture'];
const statuses = (d: number[]): Field => ({ type: 'array', default: d, elements: { type: 'integer', between: [100, 999] } });
const counter = (d = 0): Field => ({ type: 'integer', default: d, between: [0, 255] });
const interval: Field = { type: 'number', default: 0, between: [0, 65535] };
const headerName: Field = { type: 'string', match: t.HTTP_TOKEN_RE, match_message: 'bad header name' };

export const upstreams: EntitySchema = {
  name: 'upstreams',
  primary_key: ['id'],
  endpoint_key: 'name',
  fields: {
    id: t.id,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    name: {
      type: 'string',
      required: true,
      unique: true,
      custom: (n: string) => {
        const { host, port } = t.splitHostPort(n);
        if (port !== undefined) return 'must not have a port';
        if (isIP(host)) return 'must not be an IP';
        if (!t.validHostname(host)) return `invalid hostname: ${n}`;
        return undefined;
      },
    },
    algorithm: { type: 'string', default: 'round-robin', one_of: ['consistent-hashing', 'least-connections', 'round-robin', 'latency'] },
    hash_on: { type: 'string', default: 'none', one_of: HASH_ON },
    hash_fallback: { type: 'string', default: 'none', one_of: HASH_ON },
    hash_on_header: headerName,
    hash_fallback_header: headerName,
    hash_on_cookie: { type: 'string' },
    hash_on_cookie_path: { ...t.path, default: '/' },
    hash_on_query_arg: { type: 'string' },
    hash_fallback_query_arg: { type: 'string' },
    hash_on_uri_capture: { type: 'string' },
    hash_fallback_uri_capture: { type: 'string' },
    slots: { type: 'integer', default: 10000, between: [10, 2 ** 16] },
    healthchecks: {
      type: 'record',
      fields: {
        active: {
          type: 'record',
          fields: {
            type: { type: 'string', default: 'http', one_of: ['tcp', 'http', 'https', 'grpc', 'grpcs'] },
            timeout: { type: 'number', default: 1, between: [0, 65535] },
            concurrency: { type: 'integer', default: 10, between: [1, 2 ** 31 - 1] },
            http_path: { ...t.path, default: '/' },
            https_sni: { type: 'string' },
            https_verify_certificate: { type: 'boolean', default: true },
            headers: { type: 'map', keys: { type: 'string' }, values: { type: 'array', elements: { type: 'string' } } },
            healthy: {
              type: 'record',
              fields: { interval, http_statuses: statuses([200, 302]), successes: counter() },
            },
            unhealthy: {
              type: 'record',
              fields: {
                interval,
                http_statuses: statuses([429, 404, 500, 501, 502, 503, 504, 505]),
                tcp_failures: counter(),
                timeouts: counter(),
                http_failures: counter(),
              },
            },
          },
        },
        passive: {
          type: 'record',
          fields: {
            type: { type: 'string', default: 'http', one_of: ['tcp', 'http', 'https', 'grpc', 'grpcs'] },
            healthy: {
              type: 'record',
              fields: {
                http_statuses: statuses([200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308]),
                successes: counter(),
              },
            },
            unhealthy: {
              type: 'record',
              fields: { http_statuses: statuses([429, 500, 503]), tcp_failures: counter(), timeouts: counter(), http_failures: counter() },
            },
          },
        },
        threshold: { type: 'number', default: 0, between: [0, 100] },
      },
    },
    tags: t.tags,
    host_header: { type: 'string', custom: t.validHost },
    client_certificate: t.foreign('certificates', { on_delete: 'restrict' }),
    use_srv_name: { type: 'boolean', default: false },
  },
  entity_checks: [
    {
      custom: (u) => {
        const need = (on: string, which: 'on' | 'fallback') => {
          const map: Record<string, string> = {
            header: `hash_${which}_header`,
            cookie: 'hash_on_cookie',
            query_arg: `hash_${which}_query_arg`,
            uri_capture: `hash_${which}_uri_capture`,
          };
          return map[on];
        };
        for (const which of ['on', 'fallback'] as const) {
          const f = need(u[`hash_${which}`], which);
          if (f && (u[f] === null || u[f] === undefined)) return { field: f, message: 'required field missing' };
        }
        if (u.hash_on === 'none' && u.hash_fallback !== 'none') return { field: 'hash_fallback', message: "expected one of: none" };
        if (u.hash_on === 'cookie' && u.hash_fallback !== 'none') return { field: 'hash_fallback', message: 'expected one of: none' };
        if (u.hash_on !== 'none' && u.hash_on === u.hash_fallback && !['header', 'query_arg', 'uri_capture'].includes(u.hash_on))
          return 'values of these fields must be distinct: \'hash_on\', \'hash_fallback\'';
        if (u.hash_on !== 'none' && u.algorithm !== 'consistent-hashing') return undefined;
        return undefined;
      },
      fields: ['hash_on', 'hash_fallback'],
    },
  ],
};

export const targets: EntitySchema = {
  name: 'targets',
  primary_key: ['id'],
  endpoint_key: 'target',
  no_top_level_admin: true,
  fields: {
    id: t.id,
    created_at: { type: 'number', auto: true, timestamp: 'ms' },
    updated_at: { type: 'number', auto: true, timestamp: 'ms' },
    upstream: { ...t.foreign('upstreams'), required: true },
    target: {
      type: 'string',
      required: true,
      custom: (v: string) => {
        const { host, bad } = t.splitHostPort(v);
        if (bad || (!isIP(host) && !t.validHostname(host))) return `Invalid target ('${v}'); not a valid hostname or ip address`;
        return undefined;
      },
    },
    weight: { type: 'integer', default: 100, between: [0, 65535] },
    tags: t.tags,
  },
  transform: (row) => {
    const { host, port } = t.splitHostPort(row.target);
    if (port !== undefined) return row;
    return { ...row, target: `${isIP(host) === 6 ? `[${host}]` : host}:8000` };
  },
};
