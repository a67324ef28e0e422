// rate-limiting config: Kong's defaults, its checks and messages, the legacy flat redis_* fields;
// and the local counter store on its own (atomic step, expiry, memory bound).
import { describe, expect, it } from 'vitest';
import { prepareInsert, prepareUpdate } from '../../shared/schema/entity.js';
import { decodeForm } from '../../shared/schema/form.js';
import { plugins } from '../../shared/schema/entities/index.js';
import { pluginRow, rejection } from './helpers.js';
import { LocalStore } from '../../data-plane/plugins/rate-limiting/local-store.js';
import type { PeriodCheck } from '../../data-plane/plugins/rate-limiting/counters.js';

describe('rate-limiting schema', () => {
  it('fills Kong defaults (and window_type fixed)', () => {
    expect(pluginRow('rate-limiting', { minute: 5 }).config).toEqual({
      second: null, minute: 5, hour: null, day: null, month: null, year: null,
      limit_by: 'consumer', header_name: null, path: null, policy: 'local', fault_tolerant: true,
      redis: {
        host: null, port: 6379, timeout: 2000, username: null, password: null, database: 0, ssl: false, ssl_verify: false,
        server_name: null, sentinel_master: null, sentinel_role: null, sentinel_nodes: null, sentinel_username: null,
        sentinel_password: null, cluster_nodes: null, cluster_max_redirections: 5,
      },
      hide_client_headers: false, error_code: 429, error_message: 'API rate limit exceeded', sync_rate: -1, window_type: 'fixed',
    });
  });

  it('needs at least one limit', () => {
    const body = rejection('rate-limiting', {});
    expect(body.fields).toEqual({
      '@entity': ["at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"],
    });
  });

  it('checks the order of the limits with Kong\'s message', () => {
    const body = rejection('rate-limiting', { minute: 10, hour: 5 });
    expect(body.fields).toEqual({ config: 'The limit for hour(5.0) cannot be lower than the limit for minute(10.0)' });
    expect(body.message).toBe('schema violation (config: The limit for hour(5.0) cannot be lower than the limit for minute(10.0))');
    expect(rejection('rate-limiting', { second: 2.5, year: 1 }).fields.config).toBe('The limit for year(1.0) cannot be lower than the limit for second(2.5)');
    expect(pluginRow('rate-limiting', { second: 1, minute: 1, hour: 100 }).config.hour).toBe(100);
  });

  it('rejects non-positive limits and unknown policies', () => {
    expect(rejection('rate-limiting', { minute: 0 }).fields).toEqual({ config: { minute: 'value must be greater than 0' } });
    expect(rejection('rate-limiting', { minute: 1, policy: 'db' }).fields).toEqual({ config: { policy: 'expected one of: local, cluster, redis' } });
    expect(rejection('rate-limiting', { minute: 1, window_type: 'rolling' }).fields).toEqual({ config: { window_type: 'expected one of: fixed, sliding' } });
  });

  it('requires redis.host for policy redis (Kong\'s conditional)', () => {
    const body = rejection('rate-limiting', { minute: 1, policy: 'redis' });
    expect(body.fields).toEqual({
      '@entity': ["failed conditional validation given value of field 'config.policy'"],
      config: { redis: { host: 'required field missing' } },
    });
    expect(pluginRow('rate-limiting', { minute: 1, policy: 'redis', redis: { host: '127.0.0.1' } }).config.redis.port).toBe(6379);
    // Sentinel or Cluster nodes stand in for the host
    const s = pluginRow('rate-limiting', {
      minute: 1, policy: 'redis', redis: { sentinel_master: 'mymaster', sentinel_nodes: [{ host: '127.0.0.1', port: 26379 }] },
    });
    expect(s.config.redis.sentinel_nodes).toEqual([{ host: '127.0.0.1', port: 26379 }]);
    expect(rejection('rate-limiting', { minute: 1, policy: 'redis', redis: { sentinel_nodes: [{ host: '127.0.0.1', port: 1 }] } }).fields).toEqual({
      config: "all or none of these fields must be set: 'config.redis.sentinel_master', 'config.redis.sentinel_nodes'",
    });
  });

  it('requires header_name / path for limit_by header / path', () => {
    expect(rejection('rate-limiting', { minute: 1, limit_by: 'header' }).fields).toEqual({
      '@entity': ["failed conditional validation given value of field 'config.limit_by'"],
      config: { header_name: 'required field missing' },
    });
    expect(rejection('rate-limiting', { minute: 1, limit_by: 'path' }).fields).toEqual({
      '@entity': ["failed conditional validation given value of field 'config.limit_by'"],
      config: { path: 'required field missing' },
    });
  });

  it('sync_rate only with redis', () => {
    expect(rejection('rate-limiting', { minute: 1, sync_rate: 1 }).fields).toEqual({ config: 'sync_rate can only be used with the redis policy' });
  });

  it('accepts the legacy flat redis_* fields into the redis record', () => {
    const row = pluginRow('rate-limiting', {
      minute: 1, policy: 'redis', redis_host: 'redis.local', redis_port: 6380, redis_password: 'pw', redis_database: 2, redis_timeout: 500,
    });
    expect(row.config.redis).toMatchObject({ host: 'redis.local', port: 6380, password: 'pw', database: 2, timeout: 500 });
    expect(row.config.redis_host).toBeUndefined();
    // a PATCH naming only the legacy field (no plugin name) still lands in the record
    const patched = prepareUpdate(plugins, row, { config: { redis_host: 'other.local' } });
    expect(patched.config.redis).toMatchObject({ host: 'other.local', port: 6380, database: 2 });
    expect(rejection('rate-limiting', { minute: 1, redis_port: 'x' }).fields).toEqual({ config: { redis: { port: 'expected an integer' } } });
  });

  it('decodes form input of the legacy fields (Kong 2.x curl --data config.redis_port=6380)', () => {
    const input = decodeForm(plugins, [
      ['name', 'rate-limiting'], ['config.minute', '5'], ['config.policy', 'redis'], ['config.redis_host', '127.0.0.1'],
      ['config.redis_port', '6380'], ['config.redis_ssl', 'false'], ['config.redis_database', '1'],
    ]);
    const row = prepareInsert(plugins, input);
    expect(row.config).toMatchObject({ minute: 5, policy: 'redis', redis: { host: '127.0.0.1', port: 6380, ssl: false, database: 1 } });
  });
});

describe('rate-limiting local store', () => {
  const check = (key: string, limit: number, ttlMs = 60_000): PeriodCheck => ({ period: 'minute', limit, key, prevKey: `${key}:prev`, weight: 0, ttlMs });

  it('checks and counts all periods in one step; a rejected request counts nowhere', () => {
    const s = new LocalStore();
    const now = 1_000_000;
    expect(s.consume([check('a', 2), check('b', 5)], now)).toEqual({ blocked: false, current: [1, 1], previous: [0, 0] });
    expect(s.consume([check('a', 2), check('b', 5)], now).current).toEqual([2, 2]);
    expect(s.consume([check('a', 2), check('b', 5)], now)).toEqual({ blocked: true, current: [2, 2], previous: [0, 0] });
    expect(s.consume([check('b', 5)], now).current).toEqual([3]);
  });

  it('expires counters and stays within its memory bound', () => {
    const s = new LocalStore(3);
    s.consume([check('x', 1, 1000)], 0);
    expect(s.consume([check('x', 1, 1000)], 500).blocked).toBe(true);
    expect(s.consume([check('x', 1, 1000)], 1000).blocked).toBe(false);
    for (const k of ['k1', 'k2', 'k3', 'k4']) s.consume([check(k, 10)], 2000);
    expect(s.size).toBe(3);
  });
});
