// rate-limiting with policy redis against a real redis-server of its own: exact under concurrency,
// sliding window, the legacy flat redis_* config, `cluster` as an alias, and Redis killed while
// traffic flows (fault_tolerant true → proxied without headers, false → Kong's 500), then back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { gateway, pluginRow, request, route, type Gateway } from './helpers.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';
import { freePort, waitFor } from '../helpers/processes.js';
import { closeRedisStores } from '../../data-plane/plugins/rate-limiting/index.js';
import { redisStoreFor } from '../../data-plane/plugins/rate-limiting/redis-store.js';
import type { PeriodCheck } from '../../data-plane/plugins/rate-limiting/counters.js';

const check = (id: string, limit: number): PeriodCheck => ({ period: 'minute', limit, key: `t:{${id}}`, prevKey: `t:{${id}}:prev`, weight: 0, ttlMs: 60_000 });
import { at, awayFromEdge, burst, count, hasRateHeaders } from './rate-limiting-helpers.js';

describe('rate-limiting (redis policy)', () => {
  let redis: PrivateRedis;
  let gw: Gateway;
  let inspect: Redis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    inspect = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    inspect.on('error', () => {});
    const conn = { host: '127.0.0.1', port: redis.port, timeout: 1000 };
    // exactness checks get a roomy timeout: on a loaded machine a slow answer would be fault-tolerantly admitted uncounted
    const roomy = { host: '127.0.0.1', port: redis.port, timeout: 5000 };
    const quick = { host: '127.0.0.1', port: redis.port, timeout: 300 };
    const dead = { host: '127.0.0.1', port: await freePort(), timeout: 300 };
    gw = await gateway(() => {
      const extra = ['/hang-tolerant', '/hang-strict', '/dead-tolerant', '/dead-strict'].map((p) => route({ paths: [p] }));
      const exact = route({ paths: ['/exact'] });
      const multi = route({ paths: ['/multi'] });
      const legacy = route({ paths: ['/legacy'] });
      const alias = route({ paths: ['/alias'] });
      const sliding = route({ paths: ['/sliding'] });
      const tolerant = route({ paths: ['/tolerant'] });
      const strict = route({ paths: ['/strict'] });
      const limited = route({ paths: ['/limited'] });
      return {
        routes: [exact, multi, legacy, alias, sliding, tolerant, strict, limited, ...extra],
        plugins: [
          pluginRow('rate-limiting', { minute: 100000, policy: 'redis', redis: quick }, { route: extra[0] }),
          pluginRow('rate-limiting', { minute: 100000, policy: 'redis', redis: quick, fault_tolerant: false }, { route: extra[1] }),
          pluginRow('rate-limiting', { minute: 100000, policy: 'redis', redis: dead }, { route: extra[2] }),
          pluginRow('rate-limiting', { minute: 100000, policy: 'redis', redis: dead, fault_tolerant: false }, { route: extra[3] }),
          pluginRow('rate-limiting', { minute: 40, policy: 'redis', redis: roomy, limit_by: 'ip' }, { route: exact }),
          pluginRow('rate-limiting', { second: 30, minute: 30, hour: 35, policy: 'redis', redis: roomy }, { route: multi }),
          pluginRow('rate-limiting', { minute: 2, policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port }, { route: legacy }),
          pluginRow('rate-limiting', { minute: 2, policy: 'cluster', redis: conn }, { route: alias }),
          pluginRow('rate-limiting', { second: 20, policy: 'redis', redis: roomy, window_type: 'sliding' }, { route: sliding }),
          pluginRow('rate-limiting', { minute: 100000, policy: 'redis', redis: conn }, { route: tolerant }),
          pluginRow('rate-limiting', { minute: 100000, policy: 'redis', redis: conn, fault_tolerant: false }, { route: strict }),
          pluginRow('rate-limiting', { minute: 3, policy: 'redis', redis: conn }, { route: limited }),
        ],
      };
    });
  });
  afterAll(async () => {
    await gw?.close();
    await closeRedisStores();
    inspect?.disconnect();
    await redis?.destroy();
  });

  const scriptCalls = async () => {
    const stats = await inspect.info('commandstats');
    let n = 0;
    for (const m of stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) n += Number(m[1]);
    return n;
  };

  it('admits exactly the limit of 250 concurrent clients, counted in Redis', async () => {
    await awayFromEdge(60_000, 15_000);
    const rs = await burst(250, () => request(`${gw.url}/exact/x`));
    expect(count(rs, 200)).toBe(40);
    expect(count(rs, 429)).toBe(210);
    const remaining = rs.filter((r) => r.status === 200).map((r) => Number(r.headers['x-ratelimit-remaining-minute'])).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const keys = await inspect.keys('ratelimit:*');
    const minuteKey = keys.find((k) => k.endsWith(':minute') && k.includes('127.0.0.1'))!;
    expect(minuteKey).toMatch(/^ratelimit:\{[0-9a-f-]{36}:0{8}-0{4}-0{4}-0{4}-0{12}:127\.0\.0\.1\}:\d+:minute$/);
    expect(await inspect.get(minuteKey)).toBe('40'); // rejected requests consume nothing
    const ttl = await inspect.pttl(minuteKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(61_000);
  });

  it('requests queued in one event-loop turn go to Redis as one script call, each still checked on its own', async () => {
    const store = redisStoreFor(pluginRow('rate-limiting', { minute: 1, policy: 'redis', redis: { host: '127.0.0.1', port: redis.port, timeout: 1000 } }).config.redis);
    await store.consume([check('batch-warm', 1000)]); // script loaded, connection ready
    const calls0 = await scriptCalls();
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => store.consume([check('batch', 30), check(`batch-own-${i}`, 1)])));
    expect(await scriptCalls()).toBe(calls0 + 1);
    expect(outcomes.filter((o) => !o.blocked).length).toBe(30);
    expect(outcomes.filter((o) => !o.blocked).map((o) => o.current[0]).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(outcomes.slice(30).every((o) => o.blocked && o.current[0] === 30 && o.current[1] === 0)).toBe(true);
    expect(await inspect.get('t:{batch-own-40}')).toBeNull(); // a rejected request consumed nothing in any period
    expect(await inspect.get('t:{batch-own-3}')).toBe('1');
  });

  it('checks all periods in one step: the tightest limit decides and no period over-counts', async () => {
    await awayFromEdge(60_000, 10_000);
    const rs = await burst(60, () => request(`${gw.url}/multi`));
    expect(count(rs, 200)).toBe(30);
    const blocked = rs.find((r) => r.status === 429)!;
    expect(blocked.headers).toMatchObject({ 'x-ratelimit-remaining-minute': '0', 'x-ratelimit-remaining-hour': '5', 'ratelimit-limit': '30' });
    const keys = await inspect.keys('ratelimit:*');
    const hourKey = keys.find((k) => k.endsWith(':hour'))!;
    expect(await inspect.get(hourKey)).toBe('30');
  });

  it('legacy flat redis_* fields and the `cluster` alias use Redis', async () => {
    await awayFromEdge(60_000, 5_000);
    for (const p of ['/legacy', '/alias']) {
      expect([(await request(`${gw.url}${p}`)).status, (await request(`${gw.url}${p}`)).status, (await request(`${gw.url}${p}`)).status]).toEqual([200, 200, 429]);
    }
    const keys = await inspect.keys('ratelimit:*');
    expect(keys.length).toBeGreaterThanOrEqual(4);
  });

  it('sliding window through Redis: no second full burst right after the edge', async () => {
    await at(1000, 500);
    const before = await burst(20, () => request(`${gw.url}/sliding`));
    await at(1000, 60);
    const after = await burst(20, () => request(`${gw.url}/sliding`));
    expect(count(before, 200)).toBe(20);
    expect(count(after, 200)).toBeLessThanOrEqual(8);
  });

  it('Redis killed while traffic flows: fault_tolerant proxies without headers, strict answers Kong\'s 500; back → limits again', async () => {
    const ok = await request(`${gw.url}/tolerant`);
    expect(ok.status).toBe(200);
    expect(hasRateHeaders(ok)).toBe(true);

    // 20 clients keep sending while Redis is stopped under them
    const statuses: number[] = [];
    const slowest = { ms: 0 };
    let running = true;
    const client = async () => {
      while (running) {
        const t0 = Date.now();
        const r = await request(`${gw.url}/tolerant`);
        slowest.ms = Math.max(slowest.ms, Date.now() - t0);
        statuses.push(r.status);
      }
    };
    const clients = Array.from({ length: 20 }, client);
    await new Promise((r) => setTimeout(r, 200));
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await Promise.all(clients);
    expect(statuses.length).toBeGreaterThan(40);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(slowest.ms).toBeLessThan(1500); // the command timeout (1 s) at most, no hang

    // Redis down: fast answers, no headers (tolerant) or Kong's 500 (strict)
    const t0 = Date.now();
    const down = await burst(30, () => request(`${gw.url}/tolerant`));
    expect(down.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(down.some(hasRateHeaders)).toBe(false);
    const strict = await burst(10, () => request(`${gw.url}/strict`));
    expect(Date.now() - t0).toBeLessThan(1000);
    for (const r of strict) {
      expect(r.status).toBe(500);
      expect(r.json()).toEqual({ message: 'An unexpected error occurred', request_id: r.headers['x-kong-request-id'] });
    }

    // Redis back (empty): the client reconnects by itself and limits apply again
    await redis.start();
    await waitFor(async () => hasRateHeaders(await request(`${gw.url}/tolerant`)), 15_000, 100);
    expect((await request(`${gw.url}/strict`)).status).toBe(200);
    await awayFromEdge(60_000, 5_000);
    const after = [];
    for (let i = 0; i < 5; i++) after.push((await request(`${gw.url}/limited`)).status);
    expect(after).toEqual([200, 200, 200, 429, 429]);
  });

  it('Redis unreachable since start: the first requests wait at most the timeout, later ones fail at once', async () => {
    let t0 = Date.now();
    const first = await request(`${gw.url}/dead-tolerant`);
    expect(first.status).toBe(200);
    expect(hasRateHeaders(first)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    t0 = Date.now();
    const rs = await burst(20, () => request(`${gw.url}/dead-tolerant`));
    expect(rs.map((r) => r.status)).toEqual(Array(20).fill(200));
    const strict = await request(`${gw.url}/dead-strict`);
    expect(strict.status).toBe(500);
    expect(strict.json().message).toBe('An unexpected error occurred');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('Redis hanging (SIGSTOP): commands time out after `timeout`, no request hangs; SIGCONT → counted again', async () => {
    const ok = await request(`${gw.url}/hang-tolerant`);
    expect(hasRateHeaders(ok)).toBe(true);
    expect((await request(`${gw.url}/hang-strict`)).status).toBe(200);
    const pid = Number(/process_id:(\d+)/.exec(await inspect.info('server'))![1]);
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const [tol, strict] = await Promise.all([burst(10, () => request(`${gw.url}/hang-tolerant`)), burst(5, () => request(`${gw.url}/hang-strict`))]);
      const took = Date.now() - t0;
      expect(tol.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(tol.some(hasRateHeaders)).toBe(false);
      expect(strict.map((r) => r.status)).toEqual(Array(5).fill(500));
      expect(took).toBeGreaterThanOrEqual(250); // they did wait for Redis…
      expect(took).toBeLessThan(1500); // …but only the 300 ms command timeout
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(async () => hasRateHeaders(await request(`${gw.url}/hang-tolerant`)), 10_000, 100);
  });
});
