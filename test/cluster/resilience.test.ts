// Control plane and data plane failures with real processes: traffic keeps flowing when the
// control plane is killed, changes made while a data plane was cut off reach it on reconnect, a
// restarted data plane serves its cache at once, a corrupt cache is ignored, a fresh data plane
// without a control plane is not ready, and SIGTERM drains in-flight requests.
import { Agent } from 'node:http';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createClusterCerts, freePort, waitFor, type ClusterCerts, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { admin, call, dpStatus, logsWith, readyStatus, startControlPlane, startDataPlane, waitServed } from './cluster-helpers.js';

let db: TestDatabase;
let certs: ClusterCerts;
let up: Upstream;
let clusterPort: number;
const procs: SilverbackProcess[] = [];
const prefixes: string[] = [];
let cp: SilverbackProcess;
let dp1: SilverbackProcess;
let dp2: SilverbackProcess;

function ownPrefix(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-dp-'));
  chmodSync(dir, 0o755);
  prefixes.push(dir);
  return dir;
}

async function track<T extends SilverbackProcess>(p: Promise<T>): Promise<T> {
  const proc = await p;
  procs.push(proc);
  return proc;
}

function cpOnClusterPort(port: number): Promise<SilverbackProcess> {
  return track(startControlPlane(db, certs, { env: { SILVERBACK_CLUSTER_LISTEN: `127.0.0.1:${port}` } }));
}

function dpAt(prefix: string, port = clusterPort): Promise<SilverbackProcess> {
  return track(startDataPlane(`127.0.0.1:${port}`, certs, { prefix }));
}

beforeAll(async () => {
  [db, up, clusterPort] = await Promise.all([createTestDatabase('cluster_resilience'), startUpstream(), freePort()]);
  certs = createClusterCerts();
  cp = await cpOnClusterPort(clusterPort);
  [dp1, dp2] = await Promise.all([dpAt(ownPrefix()), dpAt(ownPrefix())]);
  await admin(cp, 'POST', '/services', { name: 'svc', url: up.url });
  await admin(cp, 'POST', '/services/svc/routes', { name: 'r', paths: ['/r'] });
  await admin(cp, 'POST', '/services/svc/routes', { name: 'slow', paths: ['/slow'] });
  for (const dp of [dp1, dp2]) await waitServed(dp, '/r/hello', (a) => a.status === 200);
});

afterAll(async () => {
  await Promise.all(procs.map((p) => (p.exited() ? undefined : p.stop().catch(() => p.kill()))));
  await up?.close();
  await db?.drop();
  for (const dir of prefixes) rmSync(dir, { recursive: true, force: true });
});

describe('control plane down, data plane restarts', () => {
  it('20 keep-alive clients see no failed request while the control plane is SIGKILLed', async () => {
    const agents = [new Agent({ keepAlive: true, maxSockets: 10 }), new Agent({ keepAlive: true, maxSockets: 10 })];
    const targets = [dp1, dp2];
    const deadline = Date.now() + 4000;
    let ok = 0;
    const failures: string[] = [];
    const client = async (i: number) => {
      const dp = targets[i % 2]!;
      while (Date.now() < deadline) {
        try {
          const a = await call(`${dp.proxyUrl}/r/load?i=${i}`, { agent: agents[i % 2] });
          if (a.status === 200) ok++;
          else failures.push(`${a.status} ${a.body.slice(0, 100)}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const killer = (async () => {
      await new Promise((r) => setTimeout(r, 1200));
      await cp.kill();
    })();
    await Promise.all([...Array.from({ length: 20 }, (_, i) => client(i)), killer]);
    for (const a of agents) a.destroy();
    expect(cp.exited()).toBe(true);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(200);
    const s = await dpStatus(dp1);
    expect(s.control_plane?.connected).toBe(false);
    expect(s.ready).toBe(true);
  });

  it('keeps the config cache with mode 0600', () => {
    const mode = statSync(join(dp1.prefix, 'config.cache.json.gz')).mode & 0o777;
    expect(mode.toString(8)).toBe('600');
  });

  it('a data plane restarted while the control plane is down serves its cache at once', async () => {
    const prefix = dp1.prefix;
    expect(await dp1.stop()).toBe(0);
    dp1 = await dpAt(prefix);
    // no waiting: the first answers already come from the cached config
    expect(await readyStatus(dp1)).toBe(200);
    const a = await call(`${dp1.proxyUrl}/r/after-restart`);
    expect(a.status).toBe(200);
    expect(a.json().path).toBe('/after-restart');
    expect(logsWith(dp1, 'serving the cached configuration').length).toBe(1);
    expect((await dpStatus(dp1)).control_plane?.connected).toBe(false);
  });

  it('changes written while the data planes were cut off reach them when the control plane is back', async () => {
    // a second control plane on the same database, on another cluster port the DPs do not know
    const other = await track(startControlPlane(db, certs));
    await admin(other, 'POST', '/services/svc/routes', { name: 'while-down', paths: ['/while-down'] });
    await admin(other, 'PATCH', '/routes/r', { paths: ['/r', '/r2'] });
    await new Promise((r) => setTimeout(r, 300));
    for (const dp of [dp1, dp2]) expect((await call(`${dp.proxyUrl}/while-down`)).status).toBe(404);
    expect(await other.stop()).toBe(0);

    cp = await cpOnClusterPort(clusterPort);
    for (const dp of [dp1, dp2]) {
      await waitServed(dp, '/while-down/x', (a) => a.status === 200, 15_000);
      expect((await call(`${dp.proxyUrl}/r2/y`)).status).toBe(200);
      await waitFor(async () => (await dpStatus(dp)).control_plane?.connected === true);
    }
  });

  it('a corrupt cache file is reported and ignored; the data plane syncs afresh', async () => {
    const prefix = dp2.prefix;
    expect(await dp2.stop()).toBe(0);
    const cache = join(prefix, 'config.cache.json.gz');
    writeFileSync(cache, 'this is not gzip');
    dp2 = await dpAt(prefix);
    await waitServed(dp2, '/while-down/z', (a) => a.status === 200);
    const lines = logsWith(dp2, 'config cache is corrupt; ignoring it');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]!.file).toBe(cache);
    expect(dp2.exited()).toBe(false);
    // a good cache is written again
    await waitFor(() => statSync(cache).size > 100);
    expect((statSync(cache).mode & 0o777).toString(8)).toBe('600');
  });

  it('a fresh data plane without cache or control plane is not ready and routes nothing, until a control plane starts', async () => {
    const port = await freePort();
    const fresh = await dpAt(ownPrefix(), port);
    await new Promise((r) => setTimeout(r, 300));
    const ready = await call(`${fresh.statusUrl}/status/ready`);
    expect(ready.status).toBe(503);
    const a = await call(`${fresh.proxyUrl}/r/x`);
    expect(a.status).toBe(404);
    expect(a.json()).toMatchObject({ message: 'no Route matched with those values' });

    const second = await cpOnClusterPort(port);
    await waitFor(async () => (await readyStatus(fresh)) === 200, 15_000);
    expect((await call(`${fresh.proxyUrl}/r/x`)).status).toBe(200);
    expect(await fresh.stop()).toBe(0);
    expect(await second.stop()).toBe(0);
  });

  it('SIGTERM on a data plane: /status/ready 503 draining while in-flight requests finish, then exit 0', async () => {
    const exit = new Promise<number | null>((r) => dp1.proc.once('exit', (code) => r(code)));
    const inflight = call(`${dp1.proxyUrl}/slow/delay/1500`, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    dp1.proc.kill('SIGTERM');
    const draining = await waitFor(async () => {
      const a = await call(`${dp1.statusUrl}/status/ready`);
      return a.status === 503 ? a : null;
    }, 2000, 20);
    expect(draining.json()).toEqual({ message: 'draining' });
    expect(dp1.exited()).toBe(false);
    const a = await inflight;
    expect(a.status).toBe(200);
    expect(a.json()).toEqual({ delayed: 1500 });
    expect(await exit).toBe(0);
    expect(await dp1.stop()).toBe(0);
  });
});
