// SIGTERM on a data plane with no grace period configured: listeners and idle keep-alive
// connections close at once, a request in flight finishes (up to drain_timeout), then the process
// exits and a new node can bind the same ports right away.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilverback, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream } from '../helpers/upstream.js';

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let file: string;
const nodes: SilverbackProcess[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  file = join(mkdtempSync(join(tmpdir(), 'sb-graceful-')), 'kong.yml');
  writeFileSync(file, `_format_version: "3.0"\nservices:\n- name: s\n  url: ${upstream.url}\n  routes:\n  - paths: ["/"]\n`);
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.kill()));
  await upstream?.close();
});

async function dataPlane(env: Record<string, string> = {}): Promise<SilverbackProcess> {
  const node = await startSilverback({
    env: { SILVERBACK_DATABASE: 'off', SILVERBACK_DECLARATIVE_CONFIG: file, ...env },
    waitFor: ['proxy', 'status'],
  });
  nodes.push(node);
  return node;
}

function get(url: string, agent?: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const samePorts = (n: SilverbackProcess) => ({
  SILVERBACK_PROXY_LISTEN: `127.0.0.1:${n.ports.proxy}`,
  SILVERBACK_STATUS_LISTEN: `127.0.0.1:${n.ports.status}`,
});

describe('graceful stop', () => {
  it('an idle node (keep-alive connections open) exits well under a second; a new one binds its ports at once', async () => {
    const node = await dataPlane();
    const agent = new Agent({ keepAlive: true });
    expect((await get(`${node.proxyUrl}/request`, agent)).status).toBe(200);
    expect((await get(`${node.statusUrl}/status/ready`, agent)).status).toBe(200);
    const t0 = Date.now();
    expect(await node.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
    agent.destroy();

    const next = await dataPlane(samePorts(node));
    expect((await get(`${next.proxyUrl}/request`)).status).toBe(200);
    expect(await next.stop()).toBe(0);
  }, 60_000);

  it('a request in flight finishes, then the node exits; new connections are refused meanwhile', async () => {
    const node = await dataPlane();
    const slow = get(`${node.proxyUrl}/delay/1200`);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const exit = node.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    await expect(get(`${node.proxyUrl}/request`)).rejects.toThrow(/ECONNREFUSED/);
    const answered = await slow;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toEqual({ delayed: 1200 });
    expect(await exit).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);

    const next = await dataPlane(samePorts(node));
    expect((await get(`${next.proxyUrl}/request`)).status).toBe(200);
    expect(await next.stop()).toBe(0);
  }, 60_000);

  it('drain_timeout cuts a request that takes longer', async () => {
    const node = await dataPlane({ SILVERBACK_DRAIN_TIMEOUT: '300' });
    const slow = get(`${node.proxyUrl}/delay/10000`).then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    expect(await node.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await slow).toBe('cut');
  }, 60_000);
});
