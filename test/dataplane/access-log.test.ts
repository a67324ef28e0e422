// The data plane's structured access log: off by default, one JSON line per request on stdout
// when proxy_access_log = stdout, written after the response (also for requests no plugin saw).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { startSilverback, waitFor, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let node: SilverbackProcess;

const access = () => node.logLines().filter((l) => l.type === 'access');

beforeAll(async () => {
  up = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'sb-access-'));
  const file = join(dir, 'kong.yml');
  writeFileSync(
    file,
    JSON.stringify({
      _format_version: '3.0',
      services: [{ name: 'echo', url: up.url, routes: [{ name: 'main', paths: ['/main'] }] }],
    }),
  );
  node = await startSilverback({
    env: { SILVERBACK_DATABASE: 'off', SILVERBACK_DECLARATIVE_CONFIG: file, SILVERBACK_PROXY_ACCESS_LOG: 'stdout' },
    waitFor: ['proxy', 'status'],
  });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await up?.close();
});

describe('access log', () => {
  it('is off by default; "on" and /dev/stdout mean stdout', () => {
    expect(loadConfig({ env: {} }).proxy_access_log).toBe('off');
    expect(loadConfig({ env: { SILVERBACK_PROXY_ACCESS_LOG: 'on' } }).proxy_access_log).toBe('stdout');
    expect(loadConfig({ env: { SILVERBACK_PROXY_ACCESS_LOG: '/dev/stdout' } }).proxy_access_log).toBe('stdout');
  });

  it('writes one line per request, proxied or answered by the gateway', async () => {
    const res = await fetch(`${node.proxyUrl}/main/request?x=1`, { headers: { 'user-agent': 'access-test/1' } });
    const body = await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect((await fetch(`${node.proxyUrl}/nowhere`)).status).toBe(404);
    // the readiness probe of the test helper is logged too
    const ours = () => access().filter((l) => l.uri === '/main/request?x=1' || l.uri === '/nowhere');
    const lines = await waitFor(() => (ours().length >= 2 ? ours() : null), 10_000);
    expect(lines).toHaveLength(2);
    const [ok, miss] = lines as any[];
    expect(ok).toMatchObject({
      level: 'info',
      method: 'GET',
      uri: '/main/request?x=1',
      status: 200,
      client_ip: '127.0.0.1',
      source: 'service',
      upstream: `127.0.0.1:${up.port}`,
      upstream_status: 200,
      tries: 1,
      user_agent: 'access-test/1',
      request_id: res.headers.get('x-kong-request-id'),
    });
    expect(ok.route).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.service).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.response_size).toBeGreaterThan(body.byteLength);
    expect(ok.request_size).toBeGreaterThan(0);
    expect(ok.latency_request).toBeGreaterThanOrEqual(ok.latency_proxy);
    expect(typeof ok.time).toBe('string');
    expect(miss).toMatchObject({ status: 404, uri: '/nowhere', source: 'exit', route: null, service: null, upstream: null, tries: 0 });
  });
});
