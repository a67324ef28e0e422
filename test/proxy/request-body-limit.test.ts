// ctx.requestBodyLimit (request-size-limiting without Content-Length): the proxy counts the body as it
// streams; past the limit it stops forwarding, aborts the upstream request and answers the limit's
// response, or cuts the connection when the response had already begun.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { pluginRow } from '../plugins/helpers.js';
import { route, service, snapshot, startProxy, type Res } from './fixtures.js';

/** What the upstream saw of each request body. */
interface Seen {
  path: string;
  te?: string;
  bytes: number;
  complete: boolean;
  aborted: boolean;
}

let upstream: http.Server;
const upSockets = new Set<Socket>();
const seen: Seen[] = [];
let proxy: Proxy;
let url: string;
let port: number;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const rec: Seen = { path: req.url ?? '', te: req.headers['transfer-encoding'], bytes: 0, complete: false, aborted: false };
    seen.push(rec);
    if (req.url?.startsWith('/early')) {
      // answers before reading the body, then keeps streaming the response
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('started\n');
    }
    req.on('data', (c: Buffer) => (rec.bytes += c.length));
    req.on('aborted', () => (rec.aborted = true));
    req.on('error', () => (rec.aborted = true));
    req.on('end', () => {
      rec.complete = true;
      if (res.headersSent) return void res.end('done\n');
      const payload = JSON.stringify({ bytes: rec.bytes, te: rec.te ?? null });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    });
  });
  upstream.on('connection', (s: Socket) => {
    upSockets.add(s);
    s.on('close', () => upSockets.delete(s));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const svc = service({ port: (upstream.address() as AddressInfo).port });
  const limited = route({ paths: ['/kb'], service: { id: svc.id } });
  ({ proxy, url, port } = await startProxy(
    snapshot({
      services: [svc],
      routes: [limited],
      plugins: [pluginRow('request-size-limiting', { allowed_payload_size: 1, size_unit: 'kilobytes' }, { route: limited })],
    }),
    { registry: handlers },
  ));
});

afterAll(async () => {
  await proxy?.close();
  for (const s of upSockets) s.destroy();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

/** POST a chunked body (no Content-Length) piece by piece, optionally holding piece N until the response began. */
function chunkedPost(
  path: string,
  pieces: Buffer[],
  opts: { gap?: number; waitForResponseBefore?: number } = {},
): Promise<Res & { error?: Error }> {
  return new Promise((resolve) => {
    let response: http.IncomingMessage | null = null;
    let onResponse: (() => void) | null = null;
    const req = http.request(`${url}${path}`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      response = res;
      onResponse?.();
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (error) => resolve(result(res, chunks, error)));
      res.on('aborted', () => resolve(result(res, chunks, new Error('aborted'))));
      res.on('end', () => resolve(result(res, chunks)));
    });
    req.on('error', (error) => resolve({ status: 0, headers: {}, body: '', json: () => null, error }));
    let i = 0;
    const next = () => {
      if (req.destroyed) return;
      if (i >= pieces.length) return void req.end();
      if (i === opts.waitForResponseBefore && response === null) {
        onResponse = next;
        return;
      }
      req.write(pieces[i++]);
      setTimeout(next, opts.gap ?? 5);
    };
    next();
  });
}

function result(res: http.IncomingMessage, chunks: Buffer[], error?: Error): Res & { error?: Error } {
  const body = Buffer.concat(chunks).toString('utf8');
  return { status: res.statusCode as number, headers: res.headers, body, json: () => JSON.parse(body), error };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 10));
}

describe('streamed request body limit', () => {
  it('chunked upload over the limit: 413, the upstream request is aborted, never completed', async () => {
    const from = seen.length;
    const res = await chunkedPost('/kb/over', [Buffer.alloc(800, 97), Buffer.alloc(800, 98)], { gap: 50 });
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({ message: 'Request size limit exceeded', request_id: res.headers['x-kong-request-id'] });
    const mine = () => seen.slice(from).filter((s) => s.path === '/over');
    // the first 800 bytes were streamed upstream before the limit was reached
    await until(() => mine().length > 0 && mine().every((s) => s.aborted));
    expect(mine().length).toBe(1);
    expect(mine()[0].aborted).toBe(true);
    expect(mine()[0].complete).toBe(false);
    expect(mine()[0].bytes).toBeLessThanOrEqual(1024);
  });

  it('a single oversized write is refused the same way', async () => {
    const from = seen.length;
    const res = await chunkedPost('/kb/big', [Buffer.alloc(1600, 97)]);
    expect(res.status).toBe(413);
    expect(res.json().message).toBe('Request size limit exceeded');
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.slice(from).some((s) => s.complete)).toBe(false);
  });

  it('under the limit the body streams through (chunked) and completes', async () => {
    const res = await chunkedPost('/kb/under', [Buffer.alloc(500, 97), Buffer.alloc(524, 98)]);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ bytes: 1024, te: 'chunked' });
  });

  it('the connection stays usable after a refused body (the rest is read and dropped)', async () => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d));
    socket.write('POST /kb/over-ka HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n');
    const piece = 'x'.repeat(1000);
    for (let i = 0; i < 3; i++) {
      socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
      await new Promise((r) => setTimeout(r, 10));
    }
    socket.write('0\r\n\r\nPOST /kb/after HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc');
    await until(() => received.includes('"bytes":3'));
    socket.destroy();
    const statuses = received.match(/HTTP\/1\.1 \d{3}/g);
    expect(statuses).toEqual(['HTTP/1.1 413', 'HTTP/1.1 200']);
  });

  it('a client aborting a counted upload aborts the upstream request', async () => {
    const from = seen.length;
    await new Promise<void>((resolve) => {
      const req = http.request(`${url}/kb/gone`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(500, 97));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    await until(() => seen.slice(from).length > 0 && seen.slice(from).every((s) => s.aborted));
    expect(seen.slice(from).map((s) => [s.path, s.aborted, s.complete])).toEqual([['/gone', true, false]]);
  });

  it('when the upstream already answered, passing the limit cuts the connection', async () => {
    const from = seen.length;
    const res = await chunkedPost('/kb/early', [Buffer.alloc(800, 97), Buffer.alloc(800, 98), Buffer.alloc(800, 99)], { waitForResponseBefore: 1 });
    expect(res.status).toBe(200);
    expect(res.body.startsWith('started\n')).toBe(true);
    expect(res.body).not.toContain('done');
    expect(res.error).toBeDefined();
    await until(() => seen.slice(from).every((s) => s.aborted));
    expect(seen.slice(from).map((s) => s.complete)).toEqual([false]);
  });
});
