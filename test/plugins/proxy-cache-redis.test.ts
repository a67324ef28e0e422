// proxy-cache, strategy redis: one cache shared by two data planes (each with its own Redis
// connection) on a real redis-server; Redis stopped mid-test or not answering → Bypass, proxied
// normally, nothing hangs; Redis back → cached again without a restart.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { closeRedisStores, KEY_PREFIX } from '../../data-plane/plugins/proxy-cache/redis-store.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, request, route, service, snapshot } from './helpers.js';
import { sleep, startScriptedUpstream, type ScriptedUpstream } from './proxy-cache-helpers.js';

/** Retry until `ok` (Redis connections come up asynchronously). */
async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await sleep(100);
  }
}

describe('proxy-cache redis strategy', () => {
  let redis: PrivateRedis;
  let up: ScriptedUpstream;
  let dp1: Proxy;
  let dp2: Proxy;
  let url1: string;
  let url2: string;
  let blackhole: net.Server;
  let probe: Redis;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    up = await startScriptedUpstream();
    blackhole = net.createServer(() => {}); // accepts connections, never answers
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const holePort = (blackhole.address() as net.AddressInfo).port;
    const svc = service({ name: 'up', port: up.port });
    const shared = route({ paths: ['/shared'], strip_path: false, service: { id: svc.id } });
    const hole = route({ paths: ['/hole'], strip_path: false, service: { id: svc.id } });
    const cfg = (timeout: number) => ({ strategy: 'redis', cache_ttl: 60, redis: { host: '127.0.0.1', port: redis.port, timeout } });
    const p1 = pluginRow('proxy-cache', cfg(1000), { route: shared });
    const ph = pluginRow('proxy-cache', { strategy: 'redis', redis: { host: '127.0.0.1', port: holePort, timeout: 300 } }, { route: hole });
    // the same plugin rows on both DPs; a different timeout gives DP2 a Redis connection of its own
    const snap = (timeout: number) => snapshot({ services: [svc], routes: [shared, hole], plugins: [{ ...p1, config: { ...p1.config, redis: { ...p1.config.redis, timeout } } }, ph] as Row[] });
    ({ proxy: dp1, url: url1 } = await startProxy(snap(1000), { registry: handlers }));
    ({ proxy: dp2, url: url2 } = await startProxy(snap(1001), { registry: handlers }));
    probe = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    probe.on('error', () => {}); // stopped on purpose below
    await probe.connect();
  });
  afterAll(async () => {
    probe?.disconnect();
    await dp1?.close();
    await dp2?.close();
    await closeRedisStores();
    await up?.close();
    blackhole?.close();
    await redis?.destroy();
  });

  it('an answer stored by one DP is a Hit on the other; the upstream is reached once', async () => {
    // wait for both connections: a DP not connected yet bypasses
    const a = await until(() => request(`${url1}/shared/a`), (r) => r.headers['x-cache-status'] === 'Miss');
    expect(a.headers['x-cache-status']).toBe('Miss');
    const key = a.headers['x-cache-key'] as string;
    const b = await until(() => request(`${url2}/shared/a`), (r) => r.headers['x-cache-status'] === 'Hit');
    expect(b.headers['x-cache-status']).toBe('Hit');
    expect(b.headers['x-cache-key']).toBe(key);
    expect(b.body).toBe(a.body);
    expect(b.headers['age']).toMatch(/^\d+$/);
    expect((await request(`${url1}/shared/a`)).headers['x-cache-status']).toBe('Hit');
    expect(up.hits('/shared/a')).toBe(1);
    // the entry is in Redis with the storage TTL
    const pttl = await probe.pttl(KEY_PREFIX + key);
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    // purged in Redis → a Miss on either DP
    await probe.del(KEY_PREFIX + key);
    expect((await request(`${url2}/shared/a`)).headers['x-cache-status']).toBe('Miss');
    expect((await request(`${url1}/shared/a`)).headers['x-cache-status']).toBe('Hit');
  });

  it('a value that is not a cache entry is treated as not cached', async () => {
    const a = await until(() => request(`${url1}/shared/garbage`), (r) => r.headers['x-cache-status'] === 'Miss');
    const key = a.headers['x-cache-key'] as string;
    await probe.set(KEY_PREFIX + key, 'not an entry');
    expect((await request(`${url2}/shared/garbage`)).headers['x-cache-status']).toBe('Miss');
  });

  it('Redis that accepts but never answers: Bypass within the timeout, proxied normally', async () => {
    const t0 = Date.now();
    const r = await request(`${url1}/hole/x`);
    expect(r.status).toBe(200);
    expect(r.headers['x-cache-status']).toBe('Bypass');
    expect(Date.now() - t0).toBeLessThan(3000);
    const before = up.hits('/hole/x');
    await request(`${url1}/hole/x`);
    expect(up.hits('/hole/x')).toBe(before + 1);
  });

  it('Redis stopped: every request proxied as Bypass (no 5xx, no wait); back: cached again', async () => {
    await until(() => request(`${url1}/shared/down`), (r) => r.headers['x-cache-status'] === 'Miss');
    await redis.stop();
    const before = up.hits('/shared/down');
    const t0 = Date.now();
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => request(`${i % 2 ? url1 : url2}/shared/down`)));
    for (const r of rs) {
      expect(r.status).toBe(200);
      expect(r.headers['x-cache-status']).toBe('Bypass');
    }
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(up.hits('/shared/down')).toBe(before + 20);
    await redis.start(); // empty: nothing is persisted
    const back = await until(() => request(`${url2}/shared/down`), (r) => r.headers['x-cache-status'] === 'Miss');
    expect(back.headers['x-cache-status']).toBe('Miss');
    const hit = await until(() => request(`${url1}/shared/down`), (r) => r.headers['x-cache-status'] === 'Hit');
    expect(hit.headers['x-cache-status']).toBe('Hit');
  });
});
