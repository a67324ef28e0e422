// rate-limiting across real processes: a control plane configures the plugin through the Admin API,
// two data planes share the counters in one Redis. 300 concurrent clients spread over both data
// planes get exactly the limit admitted; the sliding window holds across data planes too; Redis
// stopped under the data planes → they keep proxying (fault tolerant), never crash, and enforce
// the limit again when Redis is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createClusterCerts, waitFor, type ClusterCerts, type SilverbackProcess } from '../helpers/processes.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { admin, call, startControlPlane, startDataPlane, waitServed, type Answer } from '../cluster/cluster-helpers.js';
import { at, awayFromEdge, count } from './rate-limiting-helpers.js';

let db: TestDatabase;
let certs: ClusterCerts;
let up: Upstream;
let redis: PrivateRedis;
let cp: SilverbackProcess;
let dps: SilverbackProcess[] = [];

const LIMIT = 100;

beforeAll(async () => {
  [db, up, redis] = await Promise.all([createTestDatabase('ratelimit_dps'), startUpstream(), startPrivateRedis()]);
  certs = createClusterCerts();
  cp = await startControlPlane(db, certs);
  dps = await Promise.all([0, 1].map(() => startDataPlane(cp.clusterAddr, certs)));
  // a roomy timeout: on a loaded machine a slow answer would be fault-tolerantly admitted uncounted
  const redisConf = { host: '127.0.0.1', port: redis.port, timeout: 5000 };
  await admin(cp, 'POST', '/services', { name: 'echo', url: up.url });
  await admin(cp, 'POST', '/services/echo/routes', { name: 'fixed', paths: ['/fixed'] });
  await admin(cp, 'POST', '/services/echo/routes', { name: 'sliding', paths: ['/sliding'] });
  await admin(cp, 'POST', '/routes/fixed/plugins', {
    name: 'rate-limiting',
    config: { minute: LIMIT, policy: 'redis', redis: redisConf, limit_by: 'header', header_name: 'X-Client' },
  });
  await admin(cp, 'POST', '/routes/sliding/plugins', {
    name: 'rate-limiting',
    config: { second: 20, policy: 'redis', redis: redisConf, limit_by: 'header', header_name: 'X-Client', window_type: 'sliding' },
  });
  for (const dp of dps) {
    for (const p of ['/fixed', '/sliding']) {
      await waitServed(dp, p, (a) => a.status === 200 && a.headers['ratelimit-limit'] !== undefined, 20_000);
    }
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(dps.map((d) => d.stop()));
  await cp?.stop();
  await up?.close();
  await redis?.destroy();
  await db?.drop();
});

const send = (dp: SilverbackProcess, path: string, client: string) => call(`${dp.proxyUrl}${path}`, { headers: { 'X-Client': client }, timeoutMs: 20_000 });

describe('rate-limiting shared by two data planes through Redis', () => {
  it('300 concurrent clients over two data planes: exactly the limit admitted, the rest 429 with headers', async () => {
    await awayFromEdge(60_000, 25_000);
    const rs = await Promise.all(Array.from({ length: 300 }, (_, i) => send(dps[i % 2]!, '/fixed', 'burst').then((a) => ({ a, dp: i % 2 }))));
    const admitted = rs.filter((r) => r.a.status === 200);
    expect(admitted.length).toBe(LIMIT);
    expect(count(rs.map((r) => r.a), 429)).toBe(300 - LIMIT);
    // both data planes admitted part of the limit (the counter is shared, not per node)
    expect(admitted.filter((r) => r.dp === 0).length).toBeGreaterThan(0);
    expect(admitted.filter((r) => r.dp === 1).length).toBeGreaterThan(0);
    const remaining = admitted.map((r) => Number(r.a.headers['x-ratelimit-remaining-minute'])).sort((x, y) => x - y);
    expect(remaining).toEqual(Array.from({ length: LIMIT }, (_, i) => i));
    const no: Answer = rs.find((r) => r.a.status === 429)!.a;
    expect(no.json()).toEqual({ message: 'API rate limit exceeded', request_id: no.headers['x-kong-request-id'] });
    expect(no.headers['x-ratelimit-limit-minute']).toBe(String(LIMIT));
    expect(no.headers['ratelimit-remaining']).toBe('0');
    expect(Number(no.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // another client has its own counter
    expect((await send(dps[1]!, '/fixed', 'other')).status).toBe(200);
  });

  it('sliding window across both data planes: a full burst at the end of a second, little right after the edge', async () => {
    await at(1000, 450);
    const before = await Promise.all(Array.from({ length: 20 }, (_, i) => send(dps[i % 2]!, '/sliding', 'edge')));
    await at(1000, 80);
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => send(dps[i % 2]!, '/sliding', 'edge')));
    expect(count(before, 200)).toBe(20);
    expect(count(after, 200)).toBeLessThanOrEqual(8);
  });

  it('Redis stopped: both data planes keep proxying without headers, then enforce again once Redis is back', async () => {
    await redis.stop();
    const down = await Promise.all(Array.from({ length: 40 }, (_, i) => send(dps[i % 2]!, '/fixed', 'during-outage')));
    expect(down.map((a) => a.status)).toEqual(Array(40).fill(200));
    expect(down.some((a) => a.headers['ratelimit-limit'] !== undefined)).toBe(false);
    await redis.start();
    for (const dp of dps) await waitFor(async () => (await send(dp, '/fixed', 'probe-back')).headers['ratelimit-limit'] !== undefined, 15_000, 100);
    await awayFromEdge(60_000, 15_000);
    const rs = await Promise.all(Array.from({ length: 150 }, (_, i) => send(dps[i % 2]!, '/fixed', 'after-outage')));
    expect(count(rs, 200)).toBe(LIMIT);
    for (const dp of dps) expect(dp.exited()).toBe(false);
  });

  it('Admin API: Kong 2.x form input with the legacy redis_* fields, PATCH of one of them, Kong\'s ordering error', async () => {
    const form = (method: string, path: string, body: string) =>
      call(`${cp.adminUrl}${path}`, { method, body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    await admin(cp, 'POST', '/services/echo/routes', { name: 'legacy', paths: ['/legacy'] });
    const created = await form('POST', '/routes/legacy/plugins', 'name=rate-limiting&config.minute=5&config.policy=redis&config.redis_host=127.0.0.1&config.redis_port=6380&config.redis_timeout=1500');
    expect(created.status).toBe(201);
    const plugin = created.json();
    expect(plugin.config).toMatchObject({ minute: 5, policy: 'redis', redis: { host: '127.0.0.1', port: 6380, timeout: 1500, database: 0 } });
    expect(plugin.config.redis_host).toBeUndefined();
    const patched = await form('PATCH', `/plugins/${plugin.id}`, `config.redis_port=${redis.port}`);
    expect(patched.status).toBe(200);
    expect(patched.json().config.redis).toMatchObject({ host: '127.0.0.1', port: redis.port, timeout: 1500 });
    const bad = await form('POST', '/plugins', 'name=rate-limiting&config.minute=10&config.hour=5');
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({
      code: 2, name: 'schema violation',
      message: 'schema violation (config: The limit for hour(5.0) cannot be lower than the limit for minute(10.0))',
      fields: { config: 'The limit for hour(5.0) cannot be lower than the limit for minute(10.0)' },
    });
    // the patched config reached the data planes: counted in the test's Redis
    for (const dp of dps) await waitServed(dp, '/legacy', (a) => a.headers['x-ratelimit-limit-minute'] === '5', 15_000);
  });
});
