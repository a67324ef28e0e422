// SIGTERM on a data plane: /status/ready turns 503 "draining" at once, requests keep being served
// (each with Connection: close) during the grace period, in-flight ones finish, then exit 0.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilverback, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream } from '../helpers/upstream.js';

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let node: SilverbackProcess;

beforeAll(async () => {
  upstream = await startUpstream();
  const file = join(mkdtempSync(join(tmpdir(), 'sb-drain-')), 'kong.yml');
  writeFileSync(file, `_format_version: "3.0"\nservices:\n- name: s\n  url: ${upstream.url}\n  routes:\n  - paths: ["/"]\n`);
  node = await startSilverback({
    env: { SILVERBACK_DATABASE: 'off', SILVERBACK_DECLARATIVE_CONFIG: file, SILVERBACK_DRAIN_GRACE_PERIOD: '1500' },
    waitFor: ['proxy', 'status'],
  });
});

afterAll(async () => {
  if (!node.exited()) await node.kill();
  await upstream?.close();
});

function get(url: string): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('draining data plane', () => {
  it('reports draining, keeps serving with Connection: close, finishes in-flight requests, exits 0', async () => {
    expect((await get(`${node.statusUrl}/status/ready`)).status).toBe(200);
    const slow = get(`${node.proxyUrl}/delay/800`);
    await new Promise((r) => setTimeout(r, 100));
    const exit = node.stop('SIGTERM', 20_000);
    await new Promise((r) => setTimeout(r, 200));

    const ready = await get(`${node.statusUrl}/status/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ message: 'draining' });

    const during = await get(`${node.proxyUrl}/request`);
    expect(during.status).toBe(200);
    expect(during.connection).toBe('close');

    expect((await slow).status).toBe(200);
    expect(await exit).toBe(0);
  });
});
