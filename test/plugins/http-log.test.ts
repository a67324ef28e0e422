// http-log on a real DB-less data plane against a real collector: records, auth and headers,
// batching, retries with backoff, and — the point — a slow or dead endpoint never touching the
// requests being proxied (status and latency compared with a route without the plugin).
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startSilverback, waitFor, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { pluginRow, rejection } from './helpers.js';
import { scrape, value } from '../helpers/metrics.js';
import { LogQueue, type QueueConfig } from '../../data-plane/plugins/http-log/queue.js';
import { deliveryStats } from '../../data-plane/plugins/log-support.js';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let up: Upstream;
let node: SilverbackProcess;
let collector: http.Server;
const received: Received[] = [];
let flakyFailures = 2;
const slowOpen = new Set<http.ServerResponse>();

function got(path: string): Received[] {
  return received.filter((r) => r.url.split('?')[0] === path);
}

async function startCollector(): Promise<number> {
  collector = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method as string, url: req.url as string, headers: req.headers, body: Buffer.concat(chunks).toString() };
      received.push(r);
      const path = r.url.split('?')[0];
      if (path === '/flaky' && flakyFailures > 0) {
        flakyFailures--;
        res.writeHead(500).end('not now');
      } else if (path === '/slow') {
        slowOpen.add(res);
        setTimeout(() => {
          slowOpen.delete(res);
          if (!res.destroyed) res.writeHead(200).end('ok');
        }, 3000);
      } else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
  return (collector.address() as AddressInfo).port;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function timed(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    out.push(performance.now() - t);
  }
  return out;
}

beforeAll(async () => {
  up = await startUpstream();
  const c = await startCollector();
  const dead = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sb-http-log-'));
  const file = join(dir, 'kong.yml');
  const base = `http://127.0.0.1:${c}`;
  const route = (name: string, config?: Record<string, unknown>) => ({
    name,
    paths: [`/${name}`],
    plugins: config ? [{ name: 'http-log', config }] : [],
  });
  const conf = {
    _format_version: '3.0',
    services: [
      {
        name: 'echo',
        url: up.url,
        routes: [
          route('plain'),
          route('ok', { http_endpoint: `http://user:pa%20ss@127.0.0.1:${c}/ok?src=sb`, headers: { 'X-Api': 'k1' } }),
          route('batch', { http_endpoint: `${base}/batch`, method: 'PUT', queue: { max_batch_size: 3, max_coalescing_delay: 0.3 } }),
          route('flaky', { http_endpoint: `${base}/flaky`, queue: { initial_retry_delay: 0.05, max_retry_delay: 0.2, max_retry_time: 20 } }),
          route('slow', { http_endpoint: `${base}/slow`, queue: { max_coalescing_delay: 0 } }),
          route('dead', { http_endpoint: `http://127.0.0.1:${dead}/dead`, timeout: 500, queue: { max_entries: 5, max_retry_time: 1, initial_retry_delay: 0.05, max_coalescing_delay: 0 } }),
        ],
      },
    ],
  };
  writeFileSync(file, JSON.stringify(conf));
  node = await startSilverback({ env: { SILVERBACK_DATABASE: 'off', SILVERBACK_DECLARATIVE_CONFIG: file }, waitFor: ['proxy', 'status'] });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  for (const r of slowOpen) r.destroy();
  await new Promise<void>((r) => (collector ? collector.close(() => r()) : r()));
  await up?.close();
});

describe('http-log schema', () => {
  it("fills Kong's defaults, queue included", () => {
    expect(pluginRow('http-log', { http_endpoint: 'http://example.com/logs' }).config).toEqual({
      http_endpoint: 'http://example.com/logs',
      method: 'POST',
      content_type: 'application/json',
      timeout: 10000,
      keepalive: 60000,
      retry_count: null,
      queue_size: null,
      flush_timeout: null,
      headers: null,
      custom_fields_by_lua: null,
      queue: {
        max_batch_size: 1,
        max_coalescing_delay: 1,
        max_entries: 10000,
        max_bytes: null,
        max_retry_time: 60,
        initial_retry_delay: 0.01,
        max_retry_delay: 60,
        concurrency_limit: 1,
      },
    });
  });
  it("refuses what Kong refuses", () => {
    expect(rejection('http-log', {}).fields).toEqual({ config: { http_endpoint: 'required field missing' } });
    expect(rejection('http-log', { http_endpoint: 'http://x/', method: 'GET' }).fields).toEqual({ config: { method: 'expected one of: POST, PUT, PATCH' } });
    expect(rejection('http-log', { http_endpoint: 'http://x/', headers: { Host: 'y' } }).fields).toEqual({ config: { headers: { Host: "cannot contain 'Host' header" } } });
    expect(rejection('http-log', { http_endpoint: 'http://x/', headers: { 'content-type': 'y' } }).fields).toEqual({
      config: { headers: { 'content-type': "cannot contain 'Content-Type' header" } },
    });
    expect(rejection('http-log', { http_endpoint: 'http://u:p@x/', headers: { Authorization: 'y' } }).fields).toEqual({
      config: "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed",
    });
    expect(rejection('http-log', { http_endpoint: 'http://x/', queue: { max_batch_size: 0 } }).fields).toEqual({
      config: { queue: { max_batch_size: 'value should be between 1 and 1000000' } },
    });
  });
});

describe('http-log delivery', () => {
  it('posts one JSON record per request, with Basic auth from the userinfo and the configured headers', async () => {
    const res = await fetch(`${node.proxyUrl}/ok/request?q=1`, { headers: { authorization: 'Bearer secret-token' } });
    expect(res.status).toBe(200);
    const [r] = await waitFor(() => (got('/ok').length ? got('/ok') : null), 10_000);
    expect(r.method).toBe('POST');
    expect(r.url).toBe('/ok?src=sb');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers.authorization).toBe('Basic ' + Buffer.from('user:pa ss').toString('base64'));
    expect(r.headers['x-api']).toBe('k1');
    const rec = JSON.parse(r.body);
    expect(Array.isArray(rec)).toBe(false);
    expect(rec.request.uri).toBe('/ok/request?q=1');
    expect(rec.request.querystring).toEqual({ q: '1' });
    expect(rec.request.headers.authorization).toBe('REDACTED');
    expect(rec.response.status).toBe(200);
    expect(rec.route.name).toBe('ok');
    expect(rec.service.name).toBe('echo');
    expect(rec.upstream_uri).toBe('/request?q=1');
    expect(r.body).not.toContain('secret-token');
  });

  it('batches: a full batch goes at once as a JSON array, the rest after the coalescing delay', async () => {
    for (let i = 0; i < 4; i++) expect((await fetch(`${node.proxyUrl}/batch/request?n=${i}`)).status).toBe(200);
    const batches = await waitFor(() => (got('/batch').length >= 2 ? got('/batch') : null), 10_000);
    expect(batches.map((b) => b.method)).toEqual(['PUT', 'PUT']);
    const bodies = batches.map((b) => JSON.parse(b.body));
    expect(bodies.map((b) => b.length)).toEqual([3, 1]);
    expect(bodies.flat().map((r: any) => r.request.querystring.n)).toEqual(['0', '1', '2', '3']);
  });

  it('retries a failed batch with backoff until the endpoint takes it', async () => {
    expect((await fetch(`${node.proxyUrl}/flaky/request`)).status).toBe(200);
    const tries = await waitFor(() => (got('/flaky').length >= 3 ? got('/flaky') : null), 10_000);
    expect(tries).toHaveLength(3);
    expect(new Set(tries.map((t) => t.body)).size).toBe(1);
    expect(JSON.parse(tries[2].body).route.name).toBe('flaky');
  });
});

describe('http-log never affects proxying', () => {
  it('a slow and a dead endpoint add no latency and no failures', async () => {
    await timed(`${node.proxyUrl}/plain/request`, 5); // warm up
    const plain = await timed(`${node.proxyUrl}/plain/request`, 30);
    const slow = await timed(`${node.proxyUrl}/slow/request`, 30);
    const dead = await timed(`${node.proxyUrl}/dead/request`, 30);
    const limit = Math.max(pct(plain, 95) * 3, pct(plain, 95) + 50);
    expect(pct(slow, 95)).toBeLessThan(limit);
    expect(pct(dead, 95)).toBeLessThan(limit);
    // the slow endpoint holds each batch 3 s: requests did not wait for it
    expect(Math.max(...slow)).toBeLessThan(1000);
    expect(got('/slow').length).toBeGreaterThan(0);
  });

  it('many concurrent requests to a dead endpoint all succeed; the bounded queue drops and says so', async () => {
    const all = await Promise.all(Array.from({ length: 60 }, () => fetch(`${node.proxyUrl}/dead/request`).then((r) => r.status)));
    expect(all.every((s) => s === 200)).toBe(true);
    await waitFor(() => node.logs().includes('http-log: dropping log entries (queue full)'), 10_000);
    expect(node.exited()).toBe(false);
    // what was given up is counted, and the waiting entries stay bounded
    const { families } = await scrape(`${node.statusUrl}/metrics`);
    expect(value(families, 'silverback_log_entries_total', { plugin: 'http-log', outcome: 'dropped' })).toBeGreaterThanOrEqual(50);
    expect(value(families, 'silverback_log_entries_total', { plugin: 'http-log', outcome: 'sent' })).toBeGreaterThanOrEqual(6); // ok 1, batch 4, flaky 1
    expect(value(families, 'silverback_log_entries_total', { plugin: 'http-log', outcome: 'retried' })).toBeGreaterThanOrEqual(2);
    expect(value(families, 'silverback_log_queue_entries', { plugin: 'http-log' })).toBeLessThanOrEqual(30 + 6); // slow: its 30, dead: 5 waiting + 1 in flight
  });
});

describe('http-log queue bounds (the real queue, a recording sender)', () => {
  const conf = (q: Partial<QueueConfig>): QueueConfig => ({
    max_batch_size: 10,
    max_coalescing_delay: 0.05,
    max_entries: 10000,
    max_bytes: null,
    max_retry_time: 60,
    initial_retry_delay: 0.01,
    max_retry_delay: 60,
    concurrency_limit: 1,
    ...q,
  });
  const recorder = () => {
    const batches: string[][] = [];
    return { batches, send: async (b: string[]) => void batches.push(b) };
  };
  const stats = deliveryStats('queue-test');

  it('max_entries: the oldest entries are dropped and counted', async () => {
    const r = recorder();
    const q = new LogQueue('t1', conf({ max_entries: 3 }), r.send, 'queue-test');
    const dropped = stats.dropped;
    for (const e of ['a', 'b', 'c', 'd', 'e']) q.add(e);
    expect(q.length).toBe(3);
    await waitFor(() => r.batches.length === 1, 5_000);
    expect(r.batches).toEqual([['c', 'd', 'e']]);
    expect(stats.dropped - dropped).toBe(2);
  });

  it('max_bytes: the oldest entries make room, an entry larger than the bound is dropped', async () => {
    const r = recorder();
    const q = new LogQueue('t2', conf({ max_bytes: 5 }), r.send, 'queue-test');
    const dropped = stats.dropped;
    for (const e of ['aa', 'bb', 'cc', 'too-long']) q.add(e);
    await waitFor(() => r.batches.length === 1, 5_000);
    expect(r.batches).toEqual([['bb', 'cc']]);
    expect(stats.dropped - dropped).toBe(2);
  });

  it('retries with exponential backoff, gives up after max_retry_time', async () => {
    const at: number[] = [];
    const q = new LogQueue('t3', conf({ max_retry_time: 0.5, initial_retry_delay: 0.05, max_retry_delay: 10 }), async () => {
      at.push(Date.now());
      throw new Error('down');
    }, 'queue-test');
    const dropped = stats.dropped;
    q.add('x');
    await waitFor(() => stats.dropped - dropped === 1, 5_000);
    // attempts at ~0, 50, 150, 350 ms (the next, at 750, would pass max_retry_time): the gaps double
    expect(at.length).toBeGreaterThanOrEqual(3);
    expect(at.length).toBeLessThanOrEqual(4);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(at[at.length - 1] - at[0]).toBeLessThan(500);
  });

  it('concurrency_limit -1 sends every entry at once, without waiting for the previous', async () => {
    let open = 0;
    let most = 0;
    const q = new LogQueue('t4', conf({ concurrency_limit: -1 }), async () => {
      open++;
      most = Math.max(most, open);
      await new Promise((r) => setTimeout(r, 100));
      open--;
    }, 'queue-test');
    const sent = stats.sent;
    for (let i = 0; i < 3; i++) q.add(String(i));
    await waitFor(() => stats.sent - sent === 3, 5_000);
    expect(most).toBe(3);
  });
});
