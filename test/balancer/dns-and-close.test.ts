import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Balancers } from '../../data-plane/balancer/index.js';
import { ctx, recordingLog, sleep, snapshot, target, targetServer, upstream, waitFor, type TargetServer } from './fixtures.js';

const servers: TargetServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

function get(host: string, port: number, hostHeader: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host, port, path: '/', headers: { host: hostHeader }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    r.on('error', reject);
    r.end();
  });
}

describe('DNS targets', () => {
  it('resolves a name to its addresses and proxies to them with the name as Host', async () => {
    const s = await targetServer(200);
    servers.push(s);
    const u = upstream({ name: 'dns.test' });
    const b = new Balancers(snapshot([u], [target(u, `localhost:${s.port}`)]), recordingLog());
    try {
      await b.ready();
      const p = b.get('dns.test')!.pick(ctx())!;
      expect(p).toMatchObject({ host: '127.0.0.1', port: s.port, hostHeader: 'localhost' });
      expect(await get(p.host, p.port, `${p.hostHeader}:${p.port}`)).toBe(200);
      expect(s.hosts.at(-1)).toBe(`localhost:${s.port}`);
      expect(b.health('dns.test')).toEqual([
        { id: expect.any(String), target: `localhost:${s.port}`, address: `127.0.0.1:${s.port}`, weight: 100, health: 'HEALTHCHECKS_OFF' },
      ]);
    } finally {
      b.close();
    }
  });

  it('a name that does not resolve makes its target unavailable (DNS_ERROR), logged once across refreshes', async () => {
    const log = recordingLog();
    const u = upstream({ name: 'nxdomain.test' });
    const u2 = upstream({ name: 'mixed.test' });
    const b = new Balancers(
      snapshot([u, u2], [target(u, 'does-not-exist.invalid:80'), target(u2, 'does-not-exist.invalid:80'), target(u2, '127.0.0.1:9')]),
      log,
      { dnsRefreshMs: 30 },
    );
    try {
      await b.ready();
      expect(b.get('nxdomain.test')!.pick(ctx())).toBeNull();
      expect(b.health('nxdomain.test')).toEqual([{ id: expect.any(String), target: 'does-not-exist.invalid:80', address: null, weight: 100, health: 'DNS_ERROR' }]);
      for (let i = 0; i < 5; i++) expect(b.get('mixed.test')!.pick(ctx())).toMatchObject({ host: '127.0.0.1', port: 9 });
      await sleep(200); // several refresh rounds
      const errors = log.entries.filter((e) => e.level === 'error' && /name resolution failed/.test(e.msg));
      expect(errors).toHaveLength(2); // once per upstream target, not once per refresh
    } finally {
      b.close();
    }
  });

  it('DNS refreshes keep the health state of addresses that stay', async () => {
    const s = await targetServer(200);
    servers.push(s);
    const log = recordingLog();
    const u = upstream({ name: 'refresh.test', healthchecks: { passive: { unhealthy: { http_failures: 1 } } } });
    const b = new Balancers(snapshot([u], [target(u, `localhost:${s.port}`)]), log, { dnsRefreshMs: 20 });
    try {
      await b.ready();
      const bal = b.get('refresh.test')!;
      const p = bal.pick(ctx())!;
      bal.report(p.id, { status: 500 });
      await sleep(150);
      expect(b.health('refresh.test')![0]!.health).toBe('UNHEALTHY');
      expect(bal.pick(ctx())).toBeNull();
    } finally {
      b.close();
    }
  });
});

describe('close()', () => {
  it('stops health-check probes and DNS refreshes and leaves no open handles', async () => {
    const s = await targetServer(200);
    servers.push(s);
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').length;
    const log = recordingLog();
    const u = upstream({
      name: 'close.test',
      healthchecks: { active: { healthy: { interval: 0.02 }, unhealthy: { interval: 0.02 } } },
    });
    const u2 = upstream({ name: 'close2.test' });
    const b = new Balancers(snapshot([u, u2], [target(u, `localhost:${s.port}`), target(u, `127.0.0.1:${s.port}`), target(u2, 'does-not-exist.invalid:1')]), log, {
      dnsRefreshMs: 10,
    });
    await b.ready();
    await waitFor(() => s.hits >= 6);
    b.close();
    await sleep(50); // let probes in flight at close() be torn down
    const hits = s.hits;
    const logged = log.entries.length;
    await sleep(200);
    expect(s.hits).toBe(hits);
    expect(log.entries.length).toBe(logged);
    expect(process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').length).toBeLessThanOrEqual(before);
    expect(b.get('close.test')).toBeUndefined();
  });

  it('timers never keep the process alive (unref)', async () => {
    // A child process builds balancers with active checks and DNS refresh, never calls close(),
    // and must still exit on its own.
    const dir = mkdtempSync(join(tmpdir(), 'sb-balancer-'));
    const script = join(dir, 'child.ts');
    const index = fileURLToPath(new URL('../../data-plane/balancer/index.ts', import.meta.url));
    writeFileSync(
      script,
      `import { Balancers } from ${JSON.stringify(index)};
new Balancers({ version: 0, hash: '', upstreams: [{ id: 'u', name: 'x', healthchecks: { active: { healthy: { interval: 1 }, unhealthy: { interval: 1 } } } }],
  targets: [{ id: 't', upstream: { id: 'u' }, target: 'localhost:1', weight: 100, created_at: 1 }] } as any,
  { info() {}, warn() {}, error() {}, debug() {} }, { dnsRefreshMs: 1000 });
`,
    );
    const bin = fileURLToPath(new URL('../../node_modules/vite-node/vite-node.mjs', import.meta.url));
    const child = spawn(process.execPath, [bin, script], { stdio: 'pipe' });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const started = Date.now();
    const exit = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => {
        child.kill();
        resolve(-1);
      }, 15_000);
      child.on('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    rmSync(dir, { recursive: true, force: true });
    expect(err).toBe('');
    expect(exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
