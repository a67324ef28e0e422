import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Balancers } from '../../data-plane/balancer/index.js';
import type { Row } from '../../shared/snapshot.js';
import { closedPort, ctx, recordingLog, snapshot, target, targetServer, tally, waitFor, type TargetServer } from './fixtures.js';
import { upstream } from './fixtures.js';

const servers: TargetServer[] = [];
let open: Balancers[] = [];
afterEach(() => {
  for (const b of open) b.close();
  open = [];
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function server(status: number | 'hang' = 200) {
  const s = await targetServer(status);
  servers.push(s);
  return s;
}
function build(u: Row, targets: Row[], log = recordingLog()) {
  const b = new Balancers(snapshot([u], targets), log);
  open.push(b);
  return { b, bal: b.get(u.name)!, log };
}

const activeChecks = (extra: Row = {}) => ({
  active: {
    timeout: 0.5,
    http_path: '/status',
    healthy: { interval: 0.05, successes: 2 },
    unhealthy: { interval: 0.05, http_failures: 2, tcp_failures: 1, timeouts: 1 },
    ...extra,
  },
});

describe('active health checks', () => {
  it('a target answering 500 leaves the rotation within the interval and comes back when it answers 200', async () => {
    const good = await server(200);
    const flaky = await server(200);
    const u = upstream({ name: 'active.test', healthchecks: activeChecks() });
    const { b, bal, log } = build(u, [target(u, `127.0.0.1:${good.port}`), target(u, `127.0.0.1:${flaky.port}`)]);
    await waitFor(() => flaky.hits >= 2);
    expect(flaky.paths[0]).toBe('/status');
    expect(flaky.hosts[0]).toBe(`127.0.0.1:${flaky.port}`);
    expect(b.health('active.test')!.map((r) => r.health)).toEqual(['HEALTHY', 'HEALTHY']);

    flaky.status = 500;
    const t0 = Date.now();
    await waitFor(() => b.health('active.test')![1]!.health === 'UNHEALTHY', 2000);
    expect(Date.now() - t0).toBeLessThan(1000);
    const counts = tally(() => bal.pick(ctx()), 20);
    expect([...counts.keys()]).toEqual([`127.0.0.1:${good.port}`]);
    expect(log.entries.some((e) => e.level === 'warn' && /is unhealthy/.test(e.msg))).toBe(true);

    flaky.status = 200;
    await waitFor(() => b.health('active.test')![1]!.health === 'HEALTHY', 2000);
    expect(tally(() => bal.pick(ctx()), 20).get(`127.0.0.1:${flaky.port}`)).toBe(10);
  });

  it('statuses in neither list are ignored; custom probe headers are sent', async () => {
    const s = await server(418);
    const u = upstream({ name: 'teapot.test', healthchecks: activeChecks({ headers: { 'x-probe': ['yes'] } }) });
    const { b } = build(u, [target(u, `127.0.0.1:${s.port}`)]);
    await waitFor(() => s.hits >= 5);
    expect(b.health('teapot.test')![0]!.health).toBe('HEALTHY');
    expect(s.headers[0]!['x-probe']).toBe('yes');
  });

  it('connection refused counts as a tcp failure; all targets unhealthy → pick() is null', async () => {
    const port = await closedPort();
    const u = upstream({ name: 'refused.test', healthchecks: activeChecks() });
    const { b, bal } = build(u, [target(u, `127.0.0.1:${port}`)]);
    expect(bal.pick(ctx())).not.toBeNull();
    await waitFor(() => b.health('refused.test')![0]!.health === 'UNHEALTHY', 2000);
    expect(bal.pick(ctx())).toBeNull();
  });

  it('a target that does not answer within the timeout is marked unhealthy', async () => {
    const s = await server('hang');
    const u = upstream({ name: 'hang.test', healthchecks: activeChecks({ timeout: 0.1 }) });
    const { b, bal } = build(u, [target(u, `127.0.0.1:${s.port}`)]);
    await waitFor(() => b.health('hang.test')![0]!.health === 'UNHEALTHY', 2000);
    expect(bal.pick(ctx())).toBeNull();
  });

  it('with unhealthy.interval 0 an unhealthy target is never probed again (stays out)', async () => {
    const s = await server(500);
    const u = upstream({
      name: 'oneway.test',
      healthchecks: { active: { http_path: '/', healthy: { interval: 0.05, successes: 1 }, unhealthy: { interval: 0, http_failures: 1 } } },
    });
    const { b } = build(u, [target(u, `127.0.0.1:${s.port}`)]);
    await waitFor(() => b.health('oneway.test')![0]!.health === 'UNHEALTHY', 2000);
    s.status = 200;
    const hits = s.hits;
    await new Promise((r) => setTimeout(r, 300));
    expect(s.hits).toBe(hits);
    expect(b.health('oneway.test')![0]!.health).toBe('UNHEALTHY');
  });

  it('tcp checks only connect', async () => {
    const s = await server(500);
    const port = await closedPort();
    const u = upstream({ name: 'tcp.test', healthchecks: activeChecks({ type: 'tcp' }) });
    const { b } = build(u, [target(u, `127.0.0.1:${s.port}`), target(u, `127.0.0.1:${port}`)]);
    await waitFor(() => b.health('tcp.test')![1]!.health === 'UNHEALTHY', 2000);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.health('tcp.test')![0]!.health).toBe('HEALTHY');
    expect(s.hits).toBe(0); // no HTTP request was made
  });

  it('threshold: below the healthy-weight percentage the whole upstream gets no traffic', async () => {
    const a = await server(200);
    const down = await closedPort();
    const u = upstream({ name: 'threshold.test', healthchecks: { ...activeChecks(), threshold: 60 } });
    const { b, bal } = build(u, [target(u, `127.0.0.1:${a.port}`), target(u, `127.0.0.1:${down}`)]);
    expect(bal.pick(ctx())).not.toBeNull();
    await waitFor(() => b.health('threshold.test')![1]!.health === 'UNHEALTHY', 2000);
    // 50% healthy < 60% threshold.
    expect(bal.pick(ctx())).toBeNull();
  });
});
