// End-to-end proxy behaviour over real sockets: headers, errors, timeouts, retries, redirects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import http from 'node:http';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { request, route, service, snapshot, startProxy } from './fixtures.js';
import type { Proxy } from '../../data-plane/proxy/index.js';

let up: Upstream;
let proxy: Proxy;
let url: string;
let proxyPort: number;
let deadPort: number;
let silent: net.Server;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  up = await startUpstream();
  deadPort = await freePort();
  const echo = service({ name: 'echo', port: up.port });
  const echoPath = service({ name: 'echo-path', port: up.port, path: '/anything/base' });
  const slow = service({ name: 'slow', port: up.port, read_timeout: 200 });
  const dead = service({ name: 'dead', port: deadPort, retries: 2 });
  // a TCP server that accepts and never speaks: an https service's TLS handshake there never completes
  silent = net.createServer((sock) => sock.on('error', () => {}));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const blackhole = service({ name: 'blackhole', protocol: 'https', port: (silent.address() as net.AddressInfo).port, connect_timeout: 150, retries: 0 });
  const off = service({ name: 'off', port: up.port, enabled: false });
  const snap = snapshot({
    services: [echo, echoPath, slow, dead, blackhole, off],
    routes: [
      route({ name: 'echo', paths: ['/echo'], service: { id: echo.id } }),
      route({ name: 'keep', paths: ['/keep'], strip_path: false, service: { id: echoPath.id } }),
      route({ name: 'preserve', paths: ['/preserve'], preserve_host: true, service: { id: echo.id } }),
      route({ name: 'slow', paths: ['/slow'], service: { id: slow.id } }),
      route({ name: 'dead', paths: ['/dead'], service: { id: dead.id } }),
      route({ name: 'blackhole', paths: ['/blackhole'], service: { id: blackhole.id } }),
      route({ name: 'off', paths: ['/off'], service: { id: off.id } }),
      route({ name: 'noservice', paths: ['/noservice'] }),
      route({ name: 'tls426', paths: ['/secure'], protocols: ['https'], service: { id: echo.id } }),
      route({ name: 'tls301', paths: ['/moved'], protocols: ['https'], https_redirect_status_code: 301, service: { id: echo.id } }),
      route({ name: 'regex', paths: ['~/users/(?<id>\\d+)$'], service: { id: echo.id } }),
      route({ name: 'host', hosts: ['api.example.com'], service: { id: echo.id } }),
    ],
  });
  ({ proxy, url, port: proxyPort } = await startProxy(snap));
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
  silent?.close();
});

describe('forwarding', () => {
  it('strips the route path, keeps the query, sets X-Forwarded-*, X-Real-IP, Via, X-Kong-Request-Id', async () => {
    const res = await request(`${url}/echo/request?a=1&b=two`, { headers: { host: 'gw.test:8000' } });
    expect(res.status).toBe(200);
    const e = res.json();
    expect(e.url).toBe('/request?a=1&b=two');
    expect(e.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(e.headers['x-forwarded-proto']).toBe('http');
    expect(e.headers['x-forwarded-host']).toBe('gw.test');
    expect(e.headers['x-forwarded-port']).toBe(String(proxyPort));
    expect(e.headers['x-forwarded-path']).toBe('/echo/request');
    expect(e.headers['x-forwarded-prefix']).toBe('/echo');
    expect(e.headers['x-real-ip']).toBe('127.0.0.1');
    expect(e.headers['via']).toMatch(/^1\.1 silverback\/\d+\.\d+\.\d+/);
    expect(e.headers['x-kong-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(e.headers.host).toBe(`127.0.0.1:${up.port}`);
    expect(res.headers['via']).toMatch(/^1\.1 silverback\//);
    expect(res.headers['x-kong-upstream-latency']).toMatch(/^\d+$/);
    expect(res.headers['x-kong-proxy-latency']).toMatch(/^\d+$/);
    expect(res.headers['x-kong-request-id']).toBe(e.headers['x-kong-request-id']);
    expect(res.headers['x-upstream']).toBe('echo');
  });

  it('empty query string is not appended', async () => {
    const e = (await request(`${url}/echo/request?`)).json();
    expect(e.url).toBe('/request');
  });

  it('untrusted clients cannot spoof X-Forwarded-*; X-Forwarded-For is appended to', async () => {
    const e = (
      await request(`${url}/echo/request`, {
        headers: { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil', 'x-real-ip': '9.9.9.9' },
      })
    ).json();
    expect(e.headers['x-forwarded-for']).toBe('1.2.3.4, 127.0.0.1');
    expect(e.headers['x-forwarded-proto']).toBe('http');
    expect(e.headers['x-forwarded-host']).toBe('127.0.0.1');
    expect(e.headers['x-real-ip']).toBe('127.0.0.1');
  });

  it('hop-by-hop headers are removed, end-to-end ones kept', async () => {
    const e = (await request(`${url}/echo/request`, { headers: { 'x-custom': 'yes', te: 'trailers', 'proxy-authorization': 'secret', connection: 'keep-alive, x-drop-me', 'x-drop-me': '1' } })).json();
    expect(e.headers['x-custom']).toBe('yes');
    expect(e.headers['te']).toBeUndefined();
    expect(e.headers['proxy-authorization']).toBeUndefined();
    expect(e.headers['x-drop-me']).toBeUndefined();
  });

  it('strip_path=false with a service path (v0)', async () => {
    const e = (await request(`${url}/keep/x`)).json();
    expect(e.path).toBe('/anything/base/keep/x');
    expect(e.headers['x-forwarded-prefix']).toBeUndefined();
  });

  it('preserve_host sends the client Host', async () => {
    const e = (await request(`${url}/preserve/request`, { headers: { host: 'client.example:1234' } })).json();
    expect(e.headers.host).toBe('client.example:1234');
  });

  it('regex route with captures strips the whole match', async () => {
    const res = await request(`${url}/users/42`, { headers: { 'kong-debug': '1' } });
    expect(res.status).toBe(200);
    expect(res.headers['kong-route-name']).toBe('regex');
    expect(res.json().path).toBe('/');
  });

  it('routes by host; Kong-Debug exposes route and service', async () => {
    const res = await request(`${url}/whatever`, { headers: { host: 'API.example.com', 'kong-debug': '1' } });
    expect(res.status).toBe(200);
    expect(res.headers['kong-route-name']).toBe('host');
    expect(res.headers['kong-service-name']).toBe('echo');
    expect(res.headers['kong-route-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['kong-service-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('path normalization before routing', async () => {
    const res = await request(`${url}/x/../echo/./request`);
    expect(res.status).toBe(200);
    expect(res.json().path).toBe('/request');
  });

  it('request body forwarded (POST, content-length and chunked)', async () => {
    const e = (await request(`${url}/echo/request`, { method: 'POST', body: 'hello body', headers: { 'content-type': 'text/plain' } })).json();
    expect(e.body).toBe('hello body');
    expect(e.method).toBe('POST');
    const chunked = await new Promise<any>((resolve, reject) => {
      const req = http.request(`${url}/echo/request`, { method: 'PUT', agent: false }, (res: any) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c));
        res.on('end', () => resolve(JSON.parse(b)));
      });
      req.on('error', reject);
      req.write('part1-');
      setTimeout(() => req.end('part2'), 20);
    });
    expect(chunked.body).toBe('part1-part2');
    expect(chunked.method).toBe('PUT');
  });

  it('upstream status codes pass through', async () => {
    const res = await request(`${url}/echo/status/418`);
    expect(res.status).toBe(418);
    expect(res.json()).toEqual({ status: 418 });
  });
});

describe('gateway answers (Kong bodies)', () => {
  it('404 no route, with request_id, Server and X-Kong-Response-Latency', async () => {
    const res = await request(`${url}/nope`);
    expect(res.status).toBe(404);
    const body = res.json();
    expect(body).toEqual({ message: 'no Route matched with those values', request_id: res.headers['x-kong-request-id'] });
    expect(res.headers['server']).toMatch(/^silverback\//);
    expect(res.headers['x-kong-response-latency']).toMatch(/^\d+$/);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('routes of a disabled service are not routed (404)', async () => {
    expect((await request(`${url}/off`)).status).toBe(404);
  });

  it('503 route without service', async () => {
    const res = await request(`${url}/noservice`);
    expect(res.status).toBe(503);
    expect(res.json()).toEqual({ message: 'no Service found with those values' });
  });

  it('426 https-only route over http', async () => {
    const res = await request(`${url}/secure`);
    expect(res.status).toBe(426);
    expect(res.json()).toEqual({ message: 'Please use HTTPS protocol' });
    expect(res.headers['connection']).toBe('Upgrade');
    expect(res.headers['upgrade']).toBe('TLS/1.2, HTTP/1.1');
  });

  it('301 redirect when https_redirect_status_code is 301', async () => {
    const res = await request(`${url}/moved/x?y=1`, { headers: { host: 'shop.example:8000' } });
    expect(res.status).toBe(301);
    expect(res.headers['location']).toBe('https://shop.example/moved/x?y=1');
  });

  it('504 on upstream read timeout', async () => {
    const res = await request(`${url}/slow/delay/2000`);
    expect(res.status).toBe(504);
    expect(res.json().message).toBe('The upstream server is timing out');
  });

  it('504 on connect timeout (TLS handshake never completes)', async () => {
    const t0 = Date.now();
    const res = await request(`${url}/blackhole`);
    expect(res.status).toBe(504);
    expect(res.json().message).toBe('The upstream server is timing out');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('502 on connection refused, after the configured retries', async () => {
    const res = await request(`${url}/dead`);
    expect(res.status).toBe(502);
    expect(res.json()).toEqual({ message: 'An invalid response was received from the upstream server', request_id: res.headers['x-kong-request-id'] });
  });

  it('upstream reset mid-body cuts the client response without crashing', async () => {
    await expect(request(`${url}/echo/reset`)).rejects.toThrow();
    const ok = await request(`${url}/echo/request`);
    expect(ok.status).toBe(200);
  });

  it('malformed request gets 400 and the server keeps serving', async () => {
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(proxyPort, '127.0.0.1', () => s.write('GARBAGE / HTTP/1.1\r\n\r\n'));
      let b = '';
      s.on('data', (c) => (b += c));
      s.on('close', () => resolve(b));
      s.on('error', () => resolve(b));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect((await request(`${url}/echo/request`)).status).toBe(200);
  });

  it('huge headers get 431 and the server keeps serving', async () => {
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(proxyPort, '127.0.0.1', () => s.write(`GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\n\r\n`));
      let b = '';
      s.on('data', (c) => (b += c));
      s.on('close', () => resolve(b));
      s.on('error', () => resolve(b));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 431/);
    expect((await request(`${url}/echo/request`)).status).toBe(200);
  });
});

describe('retries', () => {
  it('a connection failure on a balanced upstream moves to the next target', async () => {
    const up2 = await startUpstream();
    const port = await freePort();
    const svc = service({ name: 'lb', host: 'my-upstream', port: 80, retries: 3 });
    const upstreamId = '11111111-1111-4111-8111-111111111111';
    const snap = snapshot({
      services: [svc],
      routes: [route({ paths: ['/lb'], service: { id: svc.id } })],
      upstreams: [{ id: upstreamId, name: 'my-upstream', algorithm: 'round-robin', slots: 10000, hash_on: 'none', hash_fallback: 'none', hash_on_cookie_path: '/', healthchecks: { active: { type: 'http', healthy: { interval: 0, successes: 0, http_statuses: [200] }, unhealthy: { interval: 0, http_failures: 0, tcp_failures: 0, timeouts: 0, http_statuses: [500] }, http_path: '/', timeout: 1, concurrency: 10, https_verify_certificate: true, headers: null }, passive: { type: 'http', healthy: { successes: 0, http_statuses: [200] }, unhealthy: { http_failures: 0, tcp_failures: 0, timeouts: 0, http_statuses: [500] } }, threshold: 0 }, host_header: null, client_certificate: null, use_srv_name: false, tags: null }],
      targets: [
        { id: '22222222-2222-4222-8222-222222222222', target: `127.0.0.1:${port}`, weight: 100, upstream: { id: upstreamId }, tags: null },
        { id: '33333333-3333-4333-8333-333333333333', target: `127.0.0.1:${up2.port}`, weight: 100, upstream: { id: upstreamId }, tags: null },
      ],
    });
    const p = await startProxy(snap);
    try {
      for (let i = 0; i < 4; i++) {
        const res = await request(`${p.url}/lb/request`);
        expect(res.status).toBe(200);
      }
    } finally {
      await p.proxy.close();
      await up2.close();
    }
  });
});
