// Bodies are streamed both ways (never buffered), client aborts free the upstream, swaps under load lose nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { downloadByte, startUpstream, type Upstream } from '../helpers/upstream.js';
import { request, route, service, snapshot, startProxy } from './fixtures.js';
import type { Proxy } from '../../data-plane/proxy/index.js';

let up: Upstream;
let proxy: Proxy;
let url: string;
const MB = 1024 * 1024;

function snap(extraRoutes = 0) {
  const s = service({ name: 'echo', port: up.port });
  const routes = [route({ paths: ['/up'], service: { id: s.id } })];
  for (let i = 0; i < extraRoutes; i++) routes.push(route({ paths: [`/extra-${i}`], service: { id: s.id } }));
  return snapshot({ services: [s], routes });
}

beforeAll(async () => {
  up = await startUpstream();
  ({ proxy, url } = await startProxy(snap()));
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
});

describe('streaming', () => {
  it('64 MB download streams with backpressure: a paused client stalls the upstream, content intact', async () => {
    const size = 64 * MB;
    const sentBefore = up.downloadSent;
    const result = await new Promise<{ firstAt: number; endAt: number; bytes: number; ok: boolean; sentWhilePaused: number }>((resolve, reject) => {
      const t0 = Date.now();
      http.get(`${url}/up/download/${size}?chunked`, { agent: false }, (res) => {
        let bytes = 0;
        let firstAt = 0;
        let ok = true;
        let sentWhilePaused = 0;
        res.on('data', (c: Buffer) => {
          if (!firstAt) {
            firstAt = Date.now() - t0;
            res.pause();
            setTimeout(() => {
              sentWhilePaused = up.downloadSent - sentBefore;
              res.resume();
            }, 300);
          }
          if (c[0] !== downloadByte(bytes)) ok = false;
          bytes += c.length;
        });
        res.on('end', () => resolve({ firstAt, endAt: Date.now() - t0, bytes, ok, sentWhilePaused }));
        res.on('error', reject);
      }).on('error', reject);
    });
    expect(result.bytes).toBe(size);
    expect(result.ok).toBe(true);
    expect(result.firstAt).toBeLessThan(result.endAt);
    // buffering would let the upstream push all 64 MB while the client is paused; socket buffers hold a few MB
    expect(result.sentWhilePaused).toBeLessThan(16 * MB);
  });

  it('64 MB upload streams to the upstream (chunked, binary) with the same sha256, with backpressure', async () => {
    const size = 64 * MB;
    const chunk = Buffer.alloc(MB);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7) % 256;
    const hash = createHash('sha256');
    let sent = 0;
    let sentAfterPause = -1;
    const body = await new Promise<any>((resolve, reject) => {
      const req = http.request(`${url}/up/upload?pause=400`, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(JSON.parse(b)));
      });
      req.on('error', reject);
      setTimeout(() => (sentAfterPause = sent), 300);
      const pump = () => {
        while (sent < size) {
          sent += chunk.length;
          hash.update(chunk);
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(body.bytes).toBe(size);
    expect(body.sha256).toBe(hash.digest('hex'));
    expect(body.headers['transfer-encoding']).toBe('chunked');
    // while the upstream does not read, the proxy must not accept the whole body
    expect(sentAfterPause).toBeGreaterThan(0);
    expect(sentAfterPause).toBeLessThan(24 * MB);
  });

  it('chunked upstream responses arrive chunk by chunk', async () => {
    const times: number[] = [];
    await new Promise<void>((resolve, reject) => {
      http.get(`${url}/up/stream/10`, { agent: false }, (res) => {
        expect(res.headers['transfer-encoding']).toBe('chunked');
        res.on('data', () => times.push(Date.now()));
        res.on('end', () => resolve());
      }).on('error', reject);
    });
    expect(times.length).toBeGreaterThan(3);
    expect(times[times.length - 1] - times[0]).toBeGreaterThan(20);
  });

  it('client aborting a download releases the upstream connection', async () => {
    await new Promise<void>((resolve) => {
      const req = http.get(`${url}/up/download/${512 * MB}`, { agent: false }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 2 * MB) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', () => {});
    });
    // the upstream must not keep streaming 512 MB into a dead client: its socket gets closed
    const t0 = Date.now();
    while (up.openSockets() > 1 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect((await request(`${url}/up/request`)).status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('client aborting an upload mid-body does not crash the proxy', async () => {
    await new Promise<void>((resolve) => {
      const req = http.request(`${url}/up/upload`, { method: 'POST', agent: false, headers: { 'content-length': String(10 * MB) } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(MB));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    expect((await request(`${url}/up/request`)).status).toBe(200);
  });

  it('client aborting while waiting for headers aborts the upstream request', async () => {
    const before = up.openSockets();
    await new Promise<void>((resolve) => {
      const req = http.get(`${url}/up/delay/5000`, { agent: false });
      req.on('error', () => resolve());
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    const t0 = Date.now();
    while (up.openSockets() > before && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 20));
    expect(up.openSockets()).toBeLessThanOrEqual(before);
  });
});

describe('snapshot swap under load', () => {
  it('0 failed requests while applySnapshot runs repeatedly', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    let failures = 0;
    let done = 0;
    let swapping = true;
    const swaps = (async () => {
      let n = 0;
      while (swapping) {
        proxy.applySnapshot(snap(n++ % 2 ? 2000 : 10));
        await new Promise((r) => setTimeout(r, 5));
      }
      return n;
    })();
    const worker = async () => {
      for (let i = 0; i < 150; i++) {
        try {
          const res = await request(`${url}/up/request?i=${i}`, { agent });
          if (res.status !== 200) failures++;
        } catch {
          failures++;
        }
        done++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    swapping = false;
    const n = await swaps;
    agent.destroy();
    expect(done).toBe(16 * 150);
    expect(n).toBeGreaterThan(5);
    expect(failures).toBe(0);
  });
});
