// rate-limiting with policy local on one data plane: exact under hundreds of concurrent clients,
// Kong's headers and 429 body, limit_by ip/header/path/service, hidden headers, custom error,
// and the sliding window that has no 2× burst at a window edge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, pluginRow, request, route, type Gateway } from './helpers.js';
import { service } from '../proxy/fixtures.js';
import { at, awayFromEdge, burst, count } from './rate-limiting-helpers.js';


describe('rate-limiting (local policy)', () => {
  let gw: Gateway;
  let other: ReturnType<typeof service>;
  beforeAll(async () => {
    gw = await gateway((svc) => {
      other = service({ name: 'other', port: svc.port });
      const exact = route({ paths: ['/exact'] });
      const hdr = route({ paths: ['/headers'] });
      const hidden = route({ paths: ['/hidden'] });
      const custom = route({ paths: ['/custom'] });
      const byHeader = route({ paths: ['/by-header'] });
      const byPath = route({ paths: ['/by-path'] });
      const byIp = route({ paths: ['/by-ip'] });
      const svcA = route({ paths: ['/svc-a'], service: { id: other.id } });
      const svcB = route({ paths: ['/svc-b'], service: { id: other.id } });
      const fixed = route({ paths: ['/fixed'] });
      const sliding = route({ paths: ['/sliding'] });
      const clusterNoRedis = route({ paths: ['/cluster-no-redis'] });
      return {
        services: [other],
        routes: [exact, hdr, hidden, custom, byHeader, byPath, byIp, svcA, svcB, fixed, sliding, clusterNoRedis],
        plugins: [
          pluginRow('rate-limiting', { minute: 50, limit_by: 'ip' }, { route: exact }),
          pluginRow('rate-limiting', { minute: 3, hour: 10 }, { route: hdr }),
          pluginRow('rate-limiting', { minute: 1, hide_client_headers: true }, { route: hidden }),
          pluginRow('rate-limiting', { minute: 1, error_code: 503, error_message: 'slow down' }, { route: custom }),
          pluginRow('rate-limiting', { minute: 2, limit_by: 'header', header_name: 'x_tenant' }, { route: byHeader }),
          pluginRow('rate-limiting', { minute: 2, limit_by: 'path', path: '/by-path/shared' }, { route: byPath }),
          pluginRow('rate-limiting', { minute: 2, limit_by: 'ip' }, { route: byIp }),
          pluginRow('rate-limiting', { minute: 3, limit_by: 'service' }, { service: other }),
          pluginRow('rate-limiting', { second: 20 }, { route: fixed }),
          pluginRow('rate-limiting', { second: 20, window_type: 'sliding' }, { route: sliding }),
          pluginRow('rate-limiting', { minute: 2, policy: 'cluster' }, { route: clusterNoRedis }),
        ],
      };
    }, { trusted_ips: ['127.0.0.1'] });
  });
  afterAll(() => gw?.close());

  it('admits exactly the limit of 300 concurrent clients, the rest get 429 with Kong\'s body', async () => {
    await awayFromEdge(60_000, 20_000);
    const rs = await burst(300, () => request(`${gw.url}/exact/x`));
    expect(count(rs, 200)).toBe(50);
    expect(count(rs, 429)).toBe(250);
    const remaining = rs.filter((r) => r.status === 200).map((r) => Number(r.headers['x-ratelimit-remaining-minute'])).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const rejected = rs.find((r) => r.status === 429)!;
    expect(rejected.json()).toEqual({ message: 'API rate limit exceeded', request_id: rejected.headers['x-kong-request-id'] });
    expect(rejected.headers['x-ratelimit-limit-minute']).toBe('50');
    expect(rejected.headers['x-ratelimit-remaining-minute']).toBe('0');
    expect(Number(rejected.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(rejected.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('sends Kong\'s headers for every period and the most constrained one', async () => {
    await awayFromEdge(60_000, 10_000);
    const first = await request(`${gw.url}/headers`);
    expect(first.status).toBe(200);
    expect(first.headers).toMatchObject({
      'x-ratelimit-limit-minute': '3', 'x-ratelimit-remaining-minute': '2',
      'x-ratelimit-limit-hour': '10', 'x-ratelimit-remaining-hour': '9',
      'ratelimit-limit': '3', 'ratelimit-remaining': '2',
    });
    const reset = Number(first.headers['ratelimit-reset']);
    expect(reset).toBeGreaterThanOrEqual(1);
    expect(reset).toBeLessThanOrEqual(60);
    expect(Math.abs(reset - (60 - new Date().getUTCSeconds()))).toBeLessThanOrEqual(2);
    expect(first.headers['retry-after']).toBeUndefined();
    await request(`${gw.url}/headers`);
    const third = await request(`${gw.url}/headers`);
    expect(third.headers['x-ratelimit-remaining-minute']).toBe('0');
    const blocked = await request(`${gw.url}/headers`);
    expect(blocked.status).toBe(429);
    expect(blocked.headers).toMatchObject({
      'x-ratelimit-remaining-minute': '0', 'x-ratelimit-remaining-hour': '7', 'ratelimit-limit': '3', 'ratelimit-remaining': '0',
    });
    expect(blocked.headers['retry-after']).toBe(blocked.headers['ratelimit-reset']);
  });

  it('hide_client_headers: no headers, and no Retry-After on the 429 (Kong)', async () => {
    await awayFromEdge(60_000, 5_000);
    const ok = await request(`${gw.url}/hidden`);
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.headers).filter((h) => h.includes('ratelimit'))).toEqual([]);
    const no = await request(`${gw.url}/hidden`);
    expect(no.status).toBe(429);
    expect(Object.keys(no.headers).filter((h) => h.includes('ratelimit') || h === 'retry-after')).toEqual([]);
  });

  it('error_code and error_message', async () => {
    await awayFromEdge(60_000, 5_000);
    expect((await request(`${gw.url}/custom`)).status).toBe(200);
    const no = await request(`${gw.url}/custom`);
    expect(no.status).toBe(503);
    expect(no.json().message).toBe('slow down');
  });

  it('limit_by header: one counter per value, the client IP without the header', async () => {
    await awayFromEdge(60_000, 5_000);
    const send = (tenant?: string) => request(`${gw.url}/by-header`, { headers: tenant ? { 'X-Tenant': tenant } : {} });
    expect([(await send('a')).status, (await send('a')).status, (await send('a')).status]).toEqual([200, 200, 429]);
    expect((await send('b')).status).toBe(200);
    expect([(await send()).status, (await send()).status, (await send()).status]).toEqual([200, 200, 429]);
  });

  it('limit_by path: the configured path shares one counter, other paths count per IP', async () => {
    await awayFromEdge(60_000, 5_000);
    const send = (p: string, ip: string) => request(`${gw.url}${p}`, { headers: { 'X-Real-IP': ip } });
    expect((await send('/by-path/shared', '10.0.0.1')).status).toBe(200);
    expect((await send('/by-path/shared', '10.0.0.2')).status).toBe(200);
    expect((await send('/by-path/shared', '10.0.0.3')).status).toBe(429);
    expect((await send('/by-path/other', '10.0.0.1')).status).toBe(200);
    expect((await send('/by-path/else', '10.0.0.1')).status).toBe(200);
    expect((await send('/by-path/other', '10.0.0.1')).status).toBe(429);
    expect((await send('/by-path/other', '10.0.0.2')).status).toBe(200);
  });

  it('limit_by ip: the client IP after trusted real_ip_header resolution', async () => {
    await awayFromEdge(60_000, 5_000);
    const send = (ip: string) => request(`${gw.url}/by-ip`, { headers: { 'X-Real-IP': ip } });
    expect([(await send('192.0.2.1')).status, (await send('192.0.2.1')).status, (await send('192.0.2.1')).status]).toEqual([200, 200, 429]);
    expect((await send('192.0.2.2')).status).toBe(200);
  });

  it('limit_by service: routes of one service share the counter', async () => {
    await awayFromEdge(60_000, 5_000);
    const statuses = [];
    for (const p of ['/svc-a', '/svc-b', '/svc-a', '/svc-b']) statuses.push((await request(`${gw.url}${p}`, { headers: { 'X-Real-IP': `198.51.100.${statuses.length}` } })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('policy cluster without a Redis counts in the data plane (Kong 2.1 configs keep working)', async () => {
    await awayFromEdge(60_000, 5_000);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(`${gw.url}/cluster-no-redis`)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('fixed window lets 2× the limit through across an edge; sliding does not', async () => {
    const edge = async (path: string) => {
      await at(1000, 550);
      const before = await burst(20, () => request(`${gw.url}${path}`));
      await at(1000, 60);
      const after = await burst(20, () => request(`${gw.url}${path}`));
      return { before: count(before, 200), after: count(after, 200), retry: after.find((r) => r.status === 429)?.headers['retry-after'] };
    };
    const fixed = await edge('/fixed');
    expect(fixed).toMatchObject({ before: 20, after: 20 });
    const sliding = await edge('/sliding');
    expect(sliding.before).toBe(20);
    // ~6 % of the previous window has passed when the second burst lands: the weighted count is ≈ 19
    expect(sliding.after).toBeLessThanOrEqual(8);
    expect(sliding.retry).toBe('1');
  });
});
