// rate-limiting against Redis Cluster (3 masters) and Redis Sentinel (a master + one sentinel),
// both started here from Debian's redis-server: exact under concurrency, one request's counters in
// one slot (hash-tagged keys), and many identities spread over the cluster's masters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { gateway, pluginRow, request, route, type Gateway } from './helpers.js';
import { startRedisCluster, startRedisSentinel, type TestCluster, type TestSentinel } from '../helpers/redis-topologies.js';
import { closeRedisStores } from '../../data-plane/plugins/rate-limiting/index.js';
import { awayFromEdge, burst, count } from './rate-limiting-helpers.js';
import { waitFor } from '../helpers/processes.js';

async function keysOn(port: number): Promise<string[]> {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    return await c.keys('ratelimit:*');
  } finally {
    c.disconnect();
  }
}

let cluster: TestCluster;
let sentinel: TestSentinel;
let gw: Gateway;

beforeAll(async () => {
  [cluster, sentinel] = await Promise.all([startRedisCluster(), startRedisSentinel()]);
  const clusterConf = { cluster_nodes: cluster.nodes.map((n) => ({ ip: '127.0.0.1', port: n.port })), timeout: 5000 };
  const sentinelConf = { sentinel_master: sentinel.masterName, sentinel_role: 'master', sentinel_nodes: [{ host: '127.0.0.1', port: sentinel.sentinelPort }], timeout: 5000 };
  gw = await gateway(() => {
    const c = route({ paths: ['/cluster'] });
    const cSpread = route({ paths: ['/cluster-spread'] });
    const s = route({ paths: ['/sentinel'] });
    const cDown = route({ paths: ['/cluster-down'] });
    return {
      routes: [c, cSpread, s, cDown],
      plugins: [
        pluginRow('rate-limiting', { second: 60, minute: 60, hour: 1000, policy: 'redis', redis: clusterConf, limit_by: 'ip' }, { route: c }),
        pluginRow('rate-limiting', { minute: 2, policy: 'redis', redis: clusterConf, limit_by: 'header', header_name: 'X-Client' }, { route: cSpread }),
        pluginRow('rate-limiting', { minute: 60, policy: 'redis', redis: sentinelConf, limit_by: 'ip' }, { route: s }),
        pluginRow('rate-limiting', { minute: 1000, policy: 'redis', redis: { ...clusterConf, timeout: 500 }, limit_by: 'header', header_name: 'X-Client' }, { route: cDown }),
      ],
    };
  });
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await closeRedisStores();
  await Promise.all([cluster?.destroy(), sentinel?.destroy()]);
});

describe('rate-limiting on Redis Cluster', () => {
  it('admits exactly the limit of 200 concurrent clients; all periods of one request in one slot', async () => {
    await awayFromEdge(60_000, 20_000);
    const rs = await burst(200, () => request(`${gw.url}/cluster`));
    expect(count(rs, 200)).toBe(60);
    expect(count(rs, 429)).toBe(140);
    const perNode = await Promise.all(cluster.nodes.map((n) => keysOn(n.port)));
    const holders = perNode.filter((keys) => keys.some((k) => k.includes('127.0.0.1}')));
    expect(holders.length).toBe(1); // second, minute and hour counters share the hash tag's slot
    expect(holders[0]!.filter((k) => k.includes('127.0.0.1}')).map((k) => k.split(':').pop()).sort()).toEqual(
      expect.arrayContaining(['hour', 'minute', 'second']),
    );
  });

  it('many identities spread over the masters, each limited on its own', async () => {
    await awayFromEdge(60_000, 15_000);
    const clients = Array.from({ length: 30 }, (_, i) => `client-${i}`);
    const rs = await Promise.all(clients.flatMap((c) => [0, 1, 2].map(() => request(`${gw.url}/cluster-spread`, { headers: { 'X-Client': c } }))));
    expect(count(rs, 200)).toBe(60);
    const perNode = await Promise.all(cluster.nodes.map((n) => keysOn(n.port)));
    expect(perNode.filter((keys) => keys.some((k) => k.includes('client-'))).length).toBeGreaterThanOrEqual(2);
  });
});

describe('rate-limiting on Redis Cluster with a master down', () => {
  it('proxies every request within the timeout (fault tolerant), then counts again once the master is back', async () => {
    const clients = Array.from({ length: 30 }, (_, i) => `down-${i}`);
    const send = (c: string) => request(`${gw.url}/cluster-down`, { headers: { 'X-Client': c } });
    const before = await Promise.all(clients.map(send));
    expect(before.every((r) => r.status === 200 && r.headers['ratelimit-limit'] === '1000')).toBe(true);
    const victim = cluster.nodes[1]!;
    await victim.stop();
    const t0 = Date.now();
    const during = await Promise.all(clients.map(send));
    expect(during.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(Date.now() - t0).toBeLessThan(2500);
    // identities whose slot lives on the stopped master were proxied without counting
    expect(during.filter((r) => r.headers['ratelimit-limit'] === undefined).length).toBeGreaterThan(0);
    expect(during.filter((r) => r.headers['ratelimit-limit'] === '1000').length).toBeGreaterThan(0);
    await victim.start(); // same folder: it rejoins with its nodes.conf and slots
    await waitFor(async () => (await Promise.all(clients.map(send))).every((r) => r.headers['ratelimit-limit'] === '1000'), 30_000, 200);
  });
});

describe('rate-limiting on Redis Sentinel', () => {
  it('finds the master through the sentinel and admits exactly the limit', async () => {
    await awayFromEdge(60_000, 15_000);
    const rs = await burst(200, () => request(`${gw.url}/sentinel`));
    expect(count(rs, 200)).toBe(60);
    expect(count(rs, 429)).toBe(140);
    expect((await keysOn(sentinel.master.port)).some((k) => k.endsWith(':minute'))).toBe(true);
  });
});
