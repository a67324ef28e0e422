import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Balancers } from '../../data-plane/balancer/index.js';
import type { Row } from '../../shared/snapshot.js';
import { ctx, recordingLog, snapshot, tally, target, targetServer, upstream, waitFor, type TargetServer } from './fixtures.js';

let open: Balancers[] = [];
const servers: TargetServer[] = [];
afterEach(() => {
  for (const b of open) b.close();
  open = [];
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
function build(u: Row, targets: Row[], opts: ConstructorParameters<typeof Balancers>[2] = {}) {
  const b = new Balancers(snapshot([u], targets), recordingLog(), opts);
  open.push(b);
  return { b, bal: b.get(u.name)! };
}
const passive = (unhealthy: Row, healthy: Row = {}) => ({ passive: { unhealthy, healthy } });

describe('passive health checks (circuit breaker)', () => {
  it('reports of 500s reach http_failures and take the target out; its traffic moves to the others', () => {
    const u = upstream({ name: 'p500.test', healthchecks: passive({ http_failures: 3 }) });
    const { b, bal } = build(u, [target(u, '10.0.0.1:80'), target(u, '10.0.0.2:80')]);
    const bad = bal.pick(ctx())!;
    bal.report(bad.id, { status: 500 });
    bal.report(bad.id, { status: 503 });
    expect(b.health('p500.test')!.map((r) => r.health)).toEqual(['HEALTHY', 'HEALTHY']);
    bal.report(bad.id, { status: 429 });
    expect(b.health('p500.test')!.find((r) => r.address === `${bad.host}:80`)!.health).toBe('UNHEALTHY');
    const counts = tally(() => bal.pick(ctx()), 10);
    expect(counts.get(`${bad.host}:80`)).toBeUndefined();
  });

  it('a healthy status in between resets the failure count (consecutive failures)', () => {
    const u = upstream({ name: 'reset.test', healthchecks: passive({ http_failures: 2 }) });
    const { b, bal } = build(u, [target(u, '10.0.0.1:80')]);
    const p = bal.pick(ctx())!;
    for (let i = 0; i < 5; i++) {
      bal.report(p.id, { status: 500 });
      bal.report(p.id, { status: 200 });
    }
    expect(b.health('reset.test')![0]!.health).toBe('HEALTHY');
    // 404 is in neither passive list: ignored, does not reset.
    bal.report(p.id, { status: 500 });
    bal.report(p.id, { status: 404 });
    bal.report(p.id, { status: 500 });
    expect(b.health('reset.test')![0]!.health).toBe('UNHEALTHY');
  });

  it('tcp errors and timeouts count against their own thresholds; all unhealthy → null', () => {
    const u = upstream({ name: 'tcp.test', healthchecks: passive({ tcp_failures: 2, timeouts: 1 }) });
    const { bal } = build(u, [target(u, '10.0.0.1:80'), target(u, '10.0.0.2:80')]);
    const a = bal.pick(ctx())!;
    const c = bal.pick(ctx())!;
    bal.report(a.id, { error: 'tcp' });
    expect(bal.pick(ctx(), new Set([c.id]))!.id).toBe(a.id);
    bal.report(a.id, { error: 'tcp' });
    bal.report(c.id, { error: 'timeout' });
    expect(bal.pick(ctx())).toBeNull();
  });

  it('500s do nothing when passive thresholds are 0 (the default): health checks off', () => {
    const u = upstream({ name: 'off.test' });
    const { b, bal } = build(u, [target(u, '10.0.0.1:80')]);
    const p = bal.pick(ctx())!;
    for (let i = 0; i < 100; i++) bal.report(p.id, { status: 500 });
    for (let i = 0; i < 100; i++) bal.report(p.id, { error: 'tcp' });
    expect(bal.pick(ctx())).not.toBeNull();
    expect(b.health('off.test')![0]!.health).toBe('HEALTHCHECKS_OFF');
  });

  it('a report by target id applies to all addresses of that target', () => {
    const u = upstream({ name: 'byid.test', healthchecks: passive({ http_failures: 1 }) });
    const t = target(u, '10.0.0.1:80');
    const { bal } = build(u, [t]);
    bal.report(t.id, { status: 500 });
    expect(bal.pick(ctx())).toBeNull();
  });

  it('passive-only unhealthy targets stay out until a config change, like Kong', async () => {
    const u = upstream({ name: 'stay.test', healthchecks: passive({ http_failures: 1 }, { successes: 1 }) });
    const rows = [target(u, '10.0.0.1:80'), target(u, '10.0.0.2:80')];
    const { b, bal } = build(u, rows);
    const bad = bal.pick(ctx())!;
    bal.report(bad.id, { status: 500 });
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 10; i++) expect(bal.pick(ctx())!.id).not.toBe(bad.id);

    // Same config applied again (unrelated change elsewhere): health state is carried over.
    const same = new Balancers(snapshot([u], rows), recordingLog(), { previous: b });
    open.push(same);
    b.close();
    expect(same.get('stay.test')).toBe(bal);
    expect(same.health('stay.test')!.filter((r) => r.health === 'UNHEALTHY')).toHaveLength(1);

    // The upstream's config changed: fresh balancer, every target healthy again.
    const changed = upstream({ ...u, healthchecks: passive({ http_failures: 2 }, { successes: 1 }) });
    const next = new Balancers(snapshot([changed], rows), recordingLog(), { previous: same });
    open.push(next);
    same.close();
    expect(next.get('stay.test')).not.toBe(bal);
    expect(next.health('stay.test')!.map((r) => r.health)).toEqual(['HEALTHY', 'HEALTHY']);
  });

  it('active checks bring a passively ejected target back', async () => {
    const s = await targetServer(200);
    servers.push(s);
    const u = upstream({
      name: 'mixed.test',
      healthchecks: { passive: { unhealthy: { http_failures: 1 } }, active: { unhealthy: { interval: 0.05 }, healthy: { successes: 2 } } },
    });
    const { b, bal } = build(u, [target(u, `127.0.0.1:${s.port}`)]);
    const p = bal.pick(ctx())!;
    bal.report(p.id, { status: 500 });
    expect(bal.pick(ctx())).toBeNull();
    await waitFor(() => b.health('mixed.test')![0]!.health === 'HEALTHY', 2000);
    expect(s.hits).toBeGreaterThanOrEqual(2);
    expect(bal.pick(ctx())!.id).toBe(p.id);
  });

  it('setHealthy() overrides health by hand (PUT …/targets/{t}/healthy|unhealthy)', () => {
    const u = upstream({ name: 'manual.test', healthchecks: passive({ http_failures: 1 }) });
    const t = target(u, '10.0.0.1:80');
    const { bal } = build(u, [t]);
    expect(bal.setHealthy(t.id, false)).toBe(true);
    expect(bal.pick(ctx())).toBeNull();
    expect(bal.setHealthy(`${t.id}|10.0.0.1`, true)).toBe(true);
    expect(bal.pick(ctx())).not.toBeNull();
    expect(bal.setHealthy('nope', true)).toBe(false);
  });
});
