// prometheus on a real DB-less data plane: traffic of several kinds, then /metrics scraped and read
// by a Prometheus text-format parser. Kong's families and labels, config switches honoured,
// node-level metrics (connections, upstream health, config hash); cache and rate-limit counters
// fed from the RequestContext fields other plugins set.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilverback, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { family, parseMetrics, scrape, series, value, type Family } from '../helpers/metrics.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import { createDataPlaneMetrics } from '../../data-plane/status/metrics.js';
import type { PluginHandler } from '../../data-plane/plugins/types.js';
import { plugin, route, service, snapshot, startProxy } from '../proxy/fixtures.js';
import { pluginRow } from './helpers.js';

const ALL_ON = { per_consumer: true, status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true };

describe('prometheus schema', () => {
  it("fills Kong 3.x defaults (every family off)", () => {
    expect(pluginRow('prometheus').config).toEqual({
      per_consumer: false,
      status_code_metrics: false,
      ai_metrics: false,
      latency_metrics: false,
      bandwidth_metrics: false,
      upstream_health_metrics: false,
      wasm_metrics: false,
    });
  });
});

describe('prometheus on a data plane', () => {
  let up: Upstream;
  let node: SilverbackProcess;
  let families: Family[];
  let contentType: string | null;
  let egressSeen = 0;

  beforeAll(async () => {
    up = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'sb-prom-'));
    const file = join(dir, 'kong.yml');
    const conf = {
      _format_version: '3.0',
      upstreams: [{ name: 'up1', targets: [{ target: `127.0.0.1:${up.port}` }] }],
      services: [
        {
          name: 'echo',
          url: up.url,
          routes: [
            { name: 'main', paths: ['/main'] },
            { name: 'stop', paths: ['/stop'], plugins: [{ name: 'request-termination', config: { status_code: 418, message: 'no' } }] },
            { name: 'auth', paths: ['/auth'], plugins: [{ name: 'jwt', config: {} }] },
            { name: 'quiet', paths: ['/quiet'], plugins: [{ name: 'prometheus', config: {} }] },
          ],
        },
        { name: 'balanced', host: 'up1', routes: [{ name: 'lb', paths: ['/lb'] }] },
      ],
      consumers: [{ username: 'alice', jwt_secrets: [{ key: 'alice-iss', secret: 'alice-secret', algorithm: 'HS256' }] }],
      plugins: [{ name: 'prometheus', config: ALL_ON }],
    };
    writeFileSync(file, JSON.stringify(conf));
    node = await startSilverback({ env: { SILVERBACK_DATABASE: 'off', SILVERBACK_DECLARATIVE_CONFIG: file }, waitFor: ['proxy', 'status'] });

    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${node.proxyUrl}${path}`, { headers });
      const body = await res.arrayBuffer();
      if (path.startsWith('/main')) egressSeen += body.byteLength;
      return res.status;
    };
    for (let i = 0; i < 3; i++) expect(await get('/main/request')).toBe(200);
    for (let i = 0; i < 2; i++) expect(await get('/main/status/500')).toBe(500);
    expect(await get('/stop')).toBe(418);
    expect(await get('/nothing')).toBe(404);
    expect(await get('/quiet/request')).toBe(200);
    expect(await get('/lb/request')).toBe(200);
    const token = await new SignJWT({ iss: 'alice-iss' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('alice-secret'));
    expect(await get('/auth/request', { authorization: `Bearer ${token}` })).toBe(200);
    expect(await get('/auth/request')).toBe(401);
    await new Promise((r) => setTimeout(r, 200)); // log phases run after the responses
    ({ families, contentType } = await scrape(`${node.statusUrl}/metrics`));
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
    await up?.close();
  });

  it('is Prometheus text format', () => {
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(family(families, 'kong_http_requests_total')?.type).toBe('COUNTER');
    expect(family(families, 'kong_request_latency_ms')?.type).toBe('HISTOGRAM');
  });

  it('kong_http_requests_total by service, route, code, source and consumer', () => {
    const r = (route: string, code: string, source: string, consumer = '') => value(families, 'kong_http_requests_total', { service: 'echo', route, code, source, consumer });
    expect(r('main', '200', 'service')).toBe(3);
    expect(r('main', '500', 'service')).toBe(2);
    expect(r('stop', '418', 'kong')).toBe(1);
    expect(r('auth', '200', 'service', 'alice')).toBe(1);
    expect(r('auth', '401', 'kong')).toBe(1);
    expect(value(families, 'kong_http_requests_total', { service: 'balanced', route: 'lb', code: '200', source: 'service', consumer: '' })).toBe(1);
    // no service (404 no route) → not recorded, as Kong; a route-level config with every family off wins over the global one
    expect(series(families, 'kong_http_requests_total', { code: '404' })).toEqual([]);
    expect(series(families, 'kong_http_requests_total', { route: 'quiet' })).toEqual([]);
  });

  it('latency histograms per service/route with Kong buckets, cumulative', () => {
    const [req] = series(families, 'kong_request_latency_ms', { service: 'echo', route: 'main' });
    expect(Number(req.count)).toBe(5);
    const les = Object.keys(req.buckets!);
    expect(les).toEqual(['25', '50', '80', '100', '250', '400', '700', '1000', '2000', '5000', '10000', '30000', '60000', '+Inf']);
    const counts = les.map((le) => Number(req.buckets![le]));
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]);
    expect(counts[counts.length - 1]).toBe(5);
    const [kong] = series(families, 'kong_kong_latency_ms', { service: 'echo', route: 'main' });
    expect(Object.keys(kong.buckets!)[0]).toBe('1');
    expect(Number(kong.count)).toBe(5);
    expect(Number(series(families, 'kong_upstream_latency_ms', { service: 'echo', route: 'main' })[0].count)).toBe(5);
    // the gateway answered itself: no upstream latency
    expect(series(families, 'kong_upstream_latency_ms', { route: 'stop' })).toEqual([]);
    expect(Number(series(families, 'kong_request_latency_ms', { route: 'stop' })[0].count)).toBe(1);
  });

  it('kong_bandwidth_bytes counts the bytes on the wire', () => {
    const egress = value(families, 'kong_bandwidth_bytes', { service: 'echo', route: 'main', direction: 'egress', consumer: '' })!;
    const ingress = value(families, 'kong_bandwidth_bytes', { service: 'echo', route: 'main', direction: 'ingress', consumer: '' })!;
    expect(egress).toBeGreaterThan(egressSeen); // bodies plus status lines and headers
    expect(ingress).toBeGreaterThan(5 * 'GET /main/request HTTP/1.1\r\n'.length);
  });

  it('node metrics: connections, requests, node info, config hash, control plane state', async () => {
    const status = (await (await fetch(`${node.statusUrl}/status`)).json()) as any;
    const conns = series(families, 'kong_nginx_connections_total', { subsystem: 'http' });
    const state = (s: string) => Number(conns.find((c) => c.labels!.state === s)!.value);
    expect(state('total')).toBeGreaterThanOrEqual(11);
    expect(state('accepted')).toBeGreaterThanOrEqual(1);
    expect(state('active')).toBeGreaterThanOrEqual(0);
    expect(series(families, 'kong_node_info')[0].labels!.node_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(value(families, 'silverback_config_hash', { hash: status.configuration_hash })).toBe(1);
    expect(value(families, 'kong_control_plane_connected')).toBe(0);
  });

  it('kong_upstream_target_health: one series per state, 1 on the current one', () => {
    const t = series(families, 'kong_upstream_target_health', { upstream: 'up1', target: `127.0.0.1:${up.port}` });
    expect(Object.fromEntries(t.map((m) => [m.labels!.state, Number(m.value)]))).toEqual({ healthchecks_off: 1, healthy: 0, unhealthy: 0, dns_error: 0 });
    expect(t[0].labels!.address).toBe(`127.0.0.1:${up.port}`);
  });
});

describe('prometheus: cache and rate-limit counters from the request context', () => {
  it('counts ctx.cacheStatus and ctx.rateLimited set by other plugins', async () => {
    // a stand-in for proxy-cache / rate-limiting: sets the shared RequestContext fields from a header
    const marks: PluginHandler = {
      name: 'marks',
      version: '1.0.0',
      priority: 2000,
      access(ctx) {
        const h = ctx.req.headers['x-mark'];
        if (h === 'limited') {
          ctx.rateLimited = true;
          return { status: 429, body: { message: 'API rate limit exceeded' } };
        }
        if (typeof h === 'string') ctx.cacheStatus = h as any;
        return undefined;
      },
    };
    const up = await startUpstream();
    const svc = service({ name: 'ctx-svc', port: up.port });
    const r = route({ name: 'ctx-route', paths: ['/'], service: { id: svc.id } });
    const snap = snapshot({
      services: [svc],
      routes: [r],
      plugins: [plugin('marks'), plugin('prometheus', { config: { ...ALL_ON, per_consumer: false } })],
    });
    const { proxy, url } = await startProxy(snap, { registry: { ...handlers, marks } });
    try {
      const send = (mark?: string) => fetch(`${url}/x`, { headers: mark ? { 'x-mark': mark } : {} }).then((res) => res.status);
      expect(await send('Hit')).toBe(200);
      expect(await send('Hit')).toBe(200);
      expect(await send('Miss')).toBe(200);
      expect(await send('Bypass')).toBe(200);
      expect(await send('limited')).toBe(429);
      expect(await send('limited')).toBe(429);
      await new Promise((res) => setTimeout(res, 100));
      const { registry } = createDataPlaneMetrics(() => ({ version: 1, hash: 'h', connected: null }));
      const f = parseMetrics(await registry.metrics());
      const cache = (status: string) => value(f, 'silverback_proxy_cache_total', { service: 'ctx-svc', route: 'ctx-route', status });
      expect(cache('hit')).toBe(2);
      expect(cache('miss')).toBe(1);
      expect(cache('bypass')).toBe(1);
      expect(cache('refresh')).toBeUndefined();
      expect(value(f, 'silverback_rate_limited_total', { service: 'ctx-svc', route: 'ctx-route' })).toBe(2);
      expect(value(f, 'kong_http_requests_total', { service: 'ctx-svc', route: 'ctx-route', code: '429', source: 'kong', consumer: '' })).toBe(2);
    } finally {
      await proxy.close();
      await up.close();
    }
  });
});
