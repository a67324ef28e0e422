// A request with a small Content-Length body (≤ 64 KiB) is buffered by the proxy, so a connection
// failure on one target is retried on the next like a body-less request, with the body intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { request, route, service, snapshot, startProxy } from './fixtures.js';

let up: Upstream;
let proxy: Proxy;
let url: string;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const upstreamId = '44444444-4444-4444-8444-444444444444';
const counters = { http_failures: 0, tcp_failures: 0, timeouts: 0 };

beforeAll(async () => {
  up = await startUpstream();
  const refusing = await freePort();
  const svc = service({ host: 'body-upstream', port: 80, retries: 3 });
  ({ proxy, url } = await startProxy(
    snapshot({
      services: [svc],
      routes: [route({ paths: ['/lb'], service: { id: svc.id } })],
      upstreams: [{
        id: upstreamId, name: 'body-upstream', algorithm: 'round-robin', slots: 10000, hash_on: 'none', hash_fallback: 'none',
        hash_on_cookie_path: '/', host_header: null, client_certificate: null, use_srv_name: false, tags: null,
        healthchecks: {
          active: { type: 'http', healthy: { interval: 0, successes: 0, http_statuses: [200] }, unhealthy: { interval: 0, ...counters, http_statuses: [500] }, http_path: '/', timeout: 1, concurrency: 10, https_verify_certificate: true, headers: null },
          passive: { type: 'http', healthy: { successes: 0, http_statuses: [200] }, unhealthy: { ...counters, http_statuses: [500] } },
          threshold: 0,
        },
      }],
      targets: [
        { id: '55555555-5555-4555-8555-555555555555', target: `127.0.0.1:${refusing}`, weight: 100, upstream: { id: upstreamId }, tags: null },
        { id: '66666666-6666-4666-8666-666666666666', target: `127.0.0.1:${up.port}`, weight: 100, upstream: { id: upstreamId }, tags: null },
      ],
    }),
  ));
});

afterAll(async () => {
  await proxy.close();
  await up.close();
});

describe('retries with a small request body', () => {
  it('a POST whose first target refuses the connection reaches the next target with its body', async () => {
    // round-robin: of four requests, some try the refusing target first
    for (let i = 0; i < 4; i++) {
      const body = JSON.stringify({ n: i, text: 'x'.repeat(1000) });
      const res = await request(`${url}/lb/request`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(200);
      const echo = res.json();
      expect(echo.method).toBe('POST');
      expect(echo.body).toBe(body);
      expect(echo.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    }
  });

  it('a body of exactly 64 KiB is retried too', async () => {
    const body = Buffer.alloc(64 * 1024, 'a');
    for (let i = 0; i < 2; i++) {
      const res = await request(`${url}/lb/request`, { method: 'PUT', body });
      expect(res.status).toBe(200);
      expect(res.json().bodyLength).toBe(body.length);
    }
  });
});
