// Priority order and scope resolution across these plugins, through the real proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, pluginRow, request, route, service, type Gateway } from './helpers.js';

describe('plugin order and scope', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway((svc) => {
      const locked = route({ paths: ['/locked'] });
      const open = route({ paths: ['/open'] });
      const guarded = route({ paths: ['/guarded'] });
      const plain = service({ name: 'plain', port: svc.port });
      const edited = route({ paths: ['/edited'], service: { id: plain.id } });
      return {
        services: [plain],
        routes: [locked, open, guarded, edited],
        plugins: [
          // Global: cors for everything, and a service-wide termination that one route overrides.
          pluginRow('cors', { origins: ['http://app.test'] }),
          pluginRow('request-termination', { status_code: 401, message: 'Unauthorized' }, { service: svc }),
          pluginRow('request-termination', { status_code: 200, message: 'route wins' }, { route: open }),
          // 990 runs before 951: a refused client is refused before its body size matters.
          pluginRow('ip-restriction', { deny: ['127.0.0.1'] }, { route: guarded }),
          pluginRow('request-size-limiting', { allowed_payload_size: 1, size_unit: 'bytes' }, { route: guarded }),
          // 951 refuses the body before 801 would rewrite it.
          pluginRow('request-size-limiting', { allowed_payload_size: 5, size_unit: 'bytes' }, { route: edited }),
          pluginRow('request-transformer', { add: { body: ['x:1'] } }, { route: edited }),
        ],
      };
    });
  });
  afterAll(() => gw?.close());

  it('a global cors answers the preflight before the service-level 401', async () => {
    const pre = await request(`${gw.url}/locked`, { method: 'OPTIONS', headers: { origin: 'http://app.test', 'access-control-request-method': 'GET' } });
    expect(pre.status).toBe(200);
    expect(pre.headers['access-control-allow-origin']).toBe('http://app.test');
    const res = await request(`${gw.url}/locked`, { headers: { origin: 'http://app.test' } });
    expect(res.status).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe('http://app.test');
  });

  it('a route-scoped config replaces the service-scoped one', async () => {
    const res = await request(`${gw.url}/open`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ message: 'route wins' });
  });

  it('ip-restriction (990) answers before request-size-limiting (951)', async () => {
    const res = await request(`${gw.url}/guarded`, { method: 'POST', body: 'way too large' });
    expect(res.status).toBe(403);
    expect(res.json().message).toBe('IP address not allowed: 127.0.0.1');
  });

  it('request-size-limiting (951) refuses a body before request-transformer (801) edits it', async () => {
    const before = gw.up.requests;
    const big = await request(`${gw.url}/edited/request`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":"long"}' });
    expect(big.status).toBe(413);
    expect(gw.up.requests).toBe(before);
    const small = await request(`${gw.url}/edited/request`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(small.status).toBe(200);
    expect(JSON.parse(small.json().body)).toEqual({ x: '1' });
  });
});
