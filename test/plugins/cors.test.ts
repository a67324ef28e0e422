// cors: preflights answered in access before auth-like plugins; headers added to normal responses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, pluginRow, rejection, request, route, type Gateway } from './helpers.js';

const preflight = (origin: string, extra: Record<string, string> = {}) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'POST', ...extra },
});

describe('cors schema', () => {
  it('fills Kong defaults (all nine methods)', () => {
    expect(pluginRow('cors').config).toEqual({
      origins: null, headers: null, exposed_headers: null,
      methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'],
      max_age: null, credentials: false, private_network: false, preflight_continue: false, allow_origin_absent: true,
    });
  });
  it('rejects bad origins regexes and unknown methods', () => {
    expect(rejection('cors', { origins: ['*', '(bad'], methods: ['GET', 'FETCH'] }).fields).toEqual({
      config: {
        origins: [null, "'(bad' is not a valid regex"],
        methods: [null, 'expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT'],
      },
    });
  });
  it('cannot be scoped to a consumer', () => {
    expect(rejection('cors', {}, { consumer: { id: '6a1d1f3c-3b1e-4a8e-9a3f-6a1d1f3c3b1e' } }).fields).toEqual({ consumer: 'value must be null' });
  });
});

describe('cors behaviour', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway(() => {
      const star = route({ paths: ['/star'] });
      const single = route({ paths: ['/single'] });
      const list = route({ paths: ['/list'] });
      const creds = route({ paths: ['/creds'] });
      const cont = route({ paths: ['/continue'] });
      const absent = route({ paths: ['/absent'] });
      return {
        routes: [star, single, list, creds, cont, absent],
        plugins: [
          // An auth-like plugin that refuses everything: preflights must still be answered (cors runs first).
          pluginRow('request-termination', { status_code: 401, message: 'Unauthorized' }, { route: star }),
          pluginRow('cors', { exposed_headers: ['X-Total'], max_age: 3600 }, { route: star }),
          pluginRow('cors', { origins: ['https://app.example.com'], headers: ['X-A', 'X-B'], methods: ['GET', 'POST'] }, { route: single }),
          pluginRow('cors', { origins: ['http://one.test:8080', 'https://(.*)\\.example\\.org', 'trusted\\.io'] }, { route: list }),
          pluginRow('cors', { credentials: true, private_network: true }, { route: creds }),
          pluginRow('cors', { preflight_continue: true }, { route: cont }),
          pluginRow('cors', { origins: ['http://a.test', 'http://b.test'], allow_origin_absent: false }, { route: absent }),
        ],
      };
    });
  });
  afterAll(() => gw?.close());

  it('answers a preflight with 200 before an auth plugin runs, echoing requested headers', async () => {
    const before = gw.up.requests;
    const res = await request(`${gw.url}/star`, preflight('http://x.test', { 'access-control-request-headers': 'X-Foo, Authorization' }));
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toBe('GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT');
    expect(res.headers['access-control-allow-headers']).toBe('X-Foo, Authorization');
    expect(res.headers['access-control-max-age']).toBe('3600');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers.vary).toBeUndefined();
    expect(gw.up.requests).toBe(before);
  });

  it('adds CORS headers to responses other plugins produced (the 401)', async () => {
    const res = await request(`${gw.url}/star`, { headers: { origin: 'http://x.test' } });
    expect(res.status).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-expose-headers']).toBe('X-Total');
  });

  it('a single literal origin is sent as is, with Vary: Origin and the configured headers/methods', async () => {
    const res = await request(`${gw.url}/single`, preflight('https://evil.test'));
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers.vary).toBe('Origin');
    expect(res.headers['access-control-allow-headers']).toBe('X-A,X-B');
    expect(res.headers['access-control-allow-methods']).toBe('GET,POST');
    const normal = await request(`${gw.url}/single/request`, { headers: { origin: 'https://app.example.com' } });
    expect(normal.status).toBe(200);
    expect(normal.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(normal.headers.vary).toBe('Origin');
  });

  it('origin lists: literal (default ports normalized), regex on the whole origin, regex on the host', async () => {
    const lit = await request(`${gw.url}/list/request`, { headers: { origin: 'http://one.test:8080' } });
    expect(lit.headers['access-control-allow-origin']).toBe('http://one.test:8080');
    const rx = await request(`${gw.url}/list/request`, { headers: { origin: 'https://api.example.org' } });
    expect(rx.headers['access-control-allow-origin']).toBe('https://api.example.org');
    const host = await request(`${gw.url}/list/request`, { headers: { origin: 'https://trusted.io:443' } });
    expect(host.headers['access-control-allow-origin']).toBe('https://trusted.io');
    const no = await request(`${gw.url}/list/request`, { headers: { origin: 'https://api.example.org.evil.com' } });
    expect(no.status).toBe(200);
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
    expect(no.headers.vary).toBe('Origin');
  });

  it('credentials with "*" answer the request origin; private network access on request', async () => {
    const res = await request(`${gw.url}/creds`, preflight('http://site.test', { 'access-control-request-private-network': 'true' }));
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('http://site.test');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-private-network']).toBe('true');
    expect(res.headers.vary).toBe('Origin');
  });

  it('preflight_continue hands the preflight to the upstream without CORS headers', async () => {
    const res = await request(`${gw.url}/continue/request`, preflight('http://site.test'));
    expect(res.status).toBe(200);
    expect(res.json().method).toBe('OPTIONS');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allow_origin_absent=false adds nothing when the request has no Origin', async () => {
    const res = await request(`${gw.url}/absent/request`);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers.vary).toBeUndefined();
  });

  it('an origin from a list of literals is answered with Vary: Origin', async () => {
    const res = await request(`${gw.url}/absent/request`, { headers: { origin: 'http://b.test' } });
    expect(res.headers['access-control-allow-origin']).toBe('http://b.test');
    expect(res.headers.vary).toBe('Origin');
  });
});
