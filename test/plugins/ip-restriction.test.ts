// ip-restriction: allow/deny lists (IPs and CIDRs), deny first, Kong's messages; client IP as the proxy resolved it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, pluginRow, rejection, request, route, type Gateway } from './helpers.js';

describe('ip-restriction schema', () => {
  it('needs allow or deny', () => {
    expect(rejection('ip-restriction', {})).toMatchObject({
      message: "schema violation (at least one of these fields must be non-empty: 'config.allow', 'config.deny')",
      fields: { '@entity': ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"] },
    });
    expect(rejection('ip-restriction', { allow: [] }).fields['@entity']).toHaveLength(1);
  });
  it('validates IPs and CIDRs', () => {
    expect(rejection('ip-restriction', { allow: ['10.0.0.0/8', '1.2.3.4/33', 'nope'] }).fields).toEqual({
      config: { allow: [null, "invalid ip or cidr range: '1.2.3.4/33'", "invalid ip or cidr range: 'nope'"] },
    });
  });
  it('keeps status and message null by default', () => {
    expect(pluginRow('ip-restriction', { deny: ['::1'] }).config).toEqual({ allow: null, deny: ['::1'], status: null, message: null });
  });
});

describe('ip-restriction behaviour', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway(
      () => {
        const denyMe = route({ paths: ['/deny'] });
        const allowOther = route({ paths: ['/allow-other'] });
        const allowMe = route({ paths: ['/allow-me'] });
        const both = route({ paths: ['/both'] });
        const custom = route({ paths: ['/custom'] });
        return {
          routes: [denyMe, allowOther, allowMe, both, custom],
          plugins: [
            pluginRow('ip-restriction', { deny: ['127.0.0.0/8'] }, { route: denyMe }),
            pluginRow('ip-restriction', { allow: ['10.0.0.1', '192.168.0.0/16'] }, { route: allowOther }),
            pluginRow('ip-restriction', { allow: ['127.0.0.1'] }, { route: allowMe }),
            pluginRow('ip-restriction', { allow: ['127.0.0.0/8'], deny: ['127.0.0.1'] }, { route: both }),
            pluginRow('ip-restriction', { deny: ['203.0.113.0/24'], status: 401, message: 'Go away' }, { route: custom }),
          ],
        };
      },
      { trusted_ips: ['127.0.0.1'], real_ip_header: 'X-Forwarded-For' },
    );
  });
  afterAll(() => gw?.close());

  it('denies a listed client with 403 and the IP in the message', async () => {
    const res = await request(`${gw.url}/deny`);
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ message: 'IP address not allowed: 127.0.0.1', request_id: res.headers['x-kong-request-id'] });
  });

  it('allow list: others are refused, listed clients pass', async () => {
    expect((await request(`${gw.url}/allow-other`)).status).toBe(403);
    const ok = await request(`${gw.url}/allow-me/request`);
    expect(ok.status).toBe(200);
    expect(ok.json().path).toBe('/request');
  });

  it('deny wins over allow', async () => {
    expect((await request(`${gw.url}/both`)).status).toBe(403);
  });

  it('uses the client IP resolved from a trusted proxy header', async () => {
    const denied = await request(`${gw.url}/custom`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(denied.status).toBe(401);
    expect(denied.json().message).toBe('Go away');
    expect((await request(`${gw.url}/custom/request`, { headers: { 'x-forwarded-for': '198.51.100.1' } })).status).toBe(200);
    const allowed = await request(`${gw.url}/allow-other/request`, { headers: { 'x-forwarded-for': '192.168.4.5' } });
    expect(allowed.status).toBe(200);
  });
});
