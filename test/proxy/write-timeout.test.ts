// service.write_timeout (nginx proxy_send_timeout): an upstream that stops taking the request body
// for that long gets the request aborted and the client a 504; uploads that keep moving, or a client
// that is itself slow, are not affected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { request, route, service, snapshot, startProxy } from './fixtures.js';

let stall: net.Server;
const stallSockets = new Set<Socket>();
let up: Upstream;
let proxy: Proxy;
let url: string;

beforeAll(async () => {
  // accepts the connection, reads the request head, then never reads again
  stall = net.createServer((s) => {
    stallSockets.add(s);
    s.on('close', () => stallSockets.delete(s));
    s.on('error', () => {});
    s.once('data', () => s.pause());
  });
  await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r));
  up = await startUpstream();
  const stalled = service({ port: (stall.address() as AddressInfo).port, write_timeout: 300 });
  const normal = service({ port: up.port, write_timeout: 300 });
  ({ proxy, url } = await startProxy(
    snapshot({
      services: [stalled, normal],
      routes: [
        route({ paths: ['/stall'], service: { id: stalled.id } }),
        route({ paths: ['/up'], service: { id: normal.id } }),
      ],
    }),
  ));
});

afterAll(async () => {
  await proxy.close();
  for (const s of stallSockets) s.destroy();
  await new Promise<void>((r) => stall.close(() => r()));
  await up.close();
});

describe('write_timeout', () => {
  it('answers 504 when the upstream stops accepting the body for write_timeout ms', async () => {
    const started = Date.now();
    const res = await request(`${url}/stall`, { method: 'POST', body: Buffer.alloc(32 * 1024 * 1024, 7) });
    const took = Date.now() - started;
    expect(res.status).toBe(504);
    expect(res.json()).toEqual({ message: 'The upstream server is timing out', request_id: res.headers['x-kong-request-id'] });
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(3000);
  });

  it('a normal upload, and one the upstream pauses for less than write_timeout, go through', async () => {
    const body = Buffer.alloc(4 * 1024 * 1024, 3);
    for (const path of ['/up/upload', '/up/upload?pause=150']) {
      const res = await request(`${url}${path}`, { method: 'POST', body });
      expect(res.status).toBe(200);
      expect(res.json().bytes).toBe(body.length);
    }
  });

  it('a client slower than write_timeout is not a write timeout', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${url}/up/upload`, { method: 'POST', agent: false, headers: { 'content-length': '200000' } }, (r) => {
        let b = '';
        r.on('data', (c) => (b += c));
        r.on('end', () => resolve({ status: r.statusCode as number, body: b }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(100_000, 1));
      setTimeout(() => req.end(Buffer.alloc(100_000, 2)), 800);
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).bytes).toBe(200_000);
  });
});
