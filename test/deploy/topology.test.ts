// The docker-compose.yml topology as processes: a control plane on PostgreSQL, data planes with the
// containers' settings (shared-cert mTLS, DB-less), and a real HAProxy running deploy/haproxy.cfg,
// where only what Docker provides is replaced: loopback addresses instead of the Docker DNS
// lookup of `data-plane`.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createClusterCerts, freePort, startSilverback, waitFor, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { DOT_ENV, environmentOf, haproxyCfg, services } from './compose-file.js';

const TOKEN = DOT_ENV.SILVERBACK_ADMIN_TOKENS!.replace(/^rw:/, '');

/** The compose environment of a service, minus what the test environment decides. */
function serviceEnv(name: string, drop: string[]): Record<string, string> {
  const env = environmentOf(services[name]!);
  for (const k of drop) delete env[k];
  return env;
}

interface Backend {
  name: string;
  proxyPort: number;
  statusPort: number;
}

/** deploy/haproxy.cfg with loopback listeners and one `server` line per data plane instead of the DNS template. */
function loopbackHaproxyCfg(proxyPort: number, statsPort: number, backends: Backend[]): string {
  const template = /^(\s*)server-template dp 1-\d+ data-plane:8000 (.*)$/m;
  const m = template.exec(haproxyCfg);
  if (!m) throw new Error('server-template line not found in deploy/haproxy.cfg');
  const options = m[2]!
    .replace(/\bresolvers docker\b|\bresolve-prefer ipv4\b|\binit-addr none\b/g, '')
    .replace(/\bport 8100\b/, 'port STATUS')
    .replace(/\s+/g, ' ')
    .trim();
  const servers = backends.map((b) => `${m[1]}server ${b.name} 127.0.0.1:${b.proxyPort} ${options.replace('STATUS', String(b.statusPort))}`).join('\n');
  const cfg = haproxyCfg
    .replace(template, servers)
    .replace(/^(\s*)bind :8000$/m, `$1bind 127.0.0.1:${proxyPort}`)
    .replace(/^(\s*)bind :8404$/m, `$1bind 127.0.0.1:${statsPort}`);
  if (cfg.includes('bind :')) throw new Error('a bind of deploy/haproxy.cfg was not moved to loopback');
  return cfg;
}

/** Server name → status (UP, DOWN, ...) from HAProxy's CSV statistics. */
async function serverStates(statsPort: number): Promise<Record<string, string>> {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/;csv`)).text();
  const [header, ...rows] = csv.trim().split('\n');
  const cols = header!.replace(/^# /, '').split(',');
  const states: Record<string, string> = {};
  for (const row of rows) {
    const f = row.split(',');
    if (f[cols.indexOf('pxname')] === 'data_planes' && !['FRONTEND', 'BACKEND'].includes(f[cols.indexOf('svname')]!)) {
      states[f[cols.indexOf('svname')]!] = f[cols.indexOf('status')]!.split(' ')[0]!;
    }
  }
  return states;
}

let db: TestDatabase;
let upstream: Upstream;
let cp: SilverbackProcess;
const dps: SilverbackProcess[] = [];
let haproxy: ChildProcess;
let haproxyLog = '';
let workDir: string;
let lbUrl: string;
let statsPort: number;

beforeAll(async () => {
  db = await createTestDatabase('deploy');
  upstream = await startUpstream();
  const certs = createClusterCerts();
  cp = await startSilverback({
    env: { ...serviceEnv('control-plane', ['SILVERBACK_ADMIN_LISTEN', 'SILVERBACK_CLUSTER_LISTEN']), ...db.env, ...certs.env },
  });
  const dpEnv = {
    ...serviceEnv('data-plane', ['SILVERBACK_PROXY_LISTEN', 'SILVERBACK_STATUS_LISTEN']),
    ...certs.env,
    SILVERBACK_CLUSTER_CONTROL_PLANE: cp.clusterAddr,
    SILVERBACK_TRUSTED_IPS: '127.0.0.1',
  };
  for (let i = 0; i < 2; i++) dps.push(await startSilverback({ env: dpEnv }));
  // A third data plane that never gets a configuration (its control plane does not exist): its proxy
  // port accepts connections, but /status/ready says 503, so the load balancer must leave it out.
  dps.push(await startSilverback({ env: { ...dpEnv, SILVERBACK_CLUSTER_CONTROL_PLANE: `127.0.0.1:${await freePort()}` } }));

  workDir = mkdtempSync(join(tmpdir(), 'sb-haproxy-'));
  const proxyPort = await freePort();
  statsPort = await freePort();
  const cfgFile = join(workDir, 'haproxy.cfg');
  writeFileSync(
    cfgFile,
    loopbackHaproxyCfg(
      proxyPort,
      statsPort,
      dps.map((dp, i) => ({ name: `dp${i + 1}`, proxyPort: dp.ports.proxy, statusPort: dp.ports.status })),
    ),
  );
  const check = spawnSync('haproxy', ['-c', '-f', cfgFile], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy -c failed:\n${check.stdout}${check.stderr}`);
  haproxy = spawn('haproxy', ['-db', '-f', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  haproxy.stdout!.on('data', (d) => (haproxyLog += d));
  haproxy.stderr!.on('data', (d) => (haproxyLog += d));
  lbUrl = `http://127.0.0.1:${proxyPort}`;
  await waitFor(async () => {
    try {
      const s = await serverStates(statsPort);
      return s.dp1 === 'UP' && s.dp2 === 'UP' && s.dp3 === 'DOWN';
    } catch {
      return false;
    }
  }, 30_000, 200).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- haproxy ---\n${haproxyLog.slice(-4000)}`);
  });
});

afterAll(async () => {
  if (haproxy && haproxy.exitCode === null) {
    const exited = new Promise((r) => haproxy.once('exit', r));
    haproxy.kill('SIGTERM');
    await exited;
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  for (const p of [...dps, cp]) if (p && !p.exited()) await p.stop();
  await upstream?.close();
  await db?.drop();
});

const admin = (path: string, body?: Record<string, string>) =>
  fetch(`${cp.adminUrl}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: body ? new URLSearchParams(body) : undefined,
  });

describe('the docker-compose topology as processes', () => {
  it("passes the control plane's compose health check (GET /status with the first admin token)", () => {
    const script = services['control-plane']!.healthcheck.test[3] as string;
    const run = (tokens: string) =>
      spawnSync(process.execPath, ['-e', script.replace('127.0.0.1:8001', `127.0.0.1:${cp.ports.admin}`)], {
        env: { PATH: process.env.PATH, SILVERBACK_ADMIN_TOKENS: tokens },
        timeout: 10_000,
      }).status;
    expect(run(DOT_ENV.SILVERBACK_ADMIN_TOKENS!)).toBe(0);
    expect(run(`rw:${'x'.repeat(32)}`)).toBe(1);
  });

  it('health-checks /status/ready: only configured data planes are in rotation', async () => {
    for (const dp of dps.slice(0, 2)) expect((await fetch(`${dp.statusUrl}/status/ready`)).status).toBe(200);
    expect((await fetch(`${dps[2]!.statusUrl}/status/ready`)).status).toBe(503);
    expect(await serverStates(statsPort)).toEqual({ dp1: 'UP', dp2: 'UP', dp3: 'DOWN' });
  });

  it('serves a service created through the Admin API on every request through the load balancer', async () => {
    expect((await admin('/services', { name: 'echo', url: upstream.url })).status).toBe(201);
    expect((await admin('/services/echo/routes', { 'paths[1]': '/echo' })).status).toBe(201);
    await waitFor(async () => {
      const statuses = await Promise.all(dps.slice(0, 2).map(async (dp) => (await fetch(`${dp.proxyUrl}/echo/request`)).status));
      return statuses.every((s) => s === 200);
    }, 15_000, 100);
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${lbUrl}/echo/request`);
      expect(res.status).toBe(200);
      const echoed = (await res.json()) as { headers: Record<string, string> };
      // The data planes trust the load balancer's X-Real-IP (trusted_ips) and pass the client on.
      expect(echoed.headers['x-real-ip']).toBe('127.0.0.1');
      expect(echoed.headers['x-forwarded-for']).toBe('127.0.0.1, 127.0.0.1'); // client, load balancer
    }
  });

  it('keeps serving while a data plane stops (SIGTERM), and takes it out of rotation', async () => {
    const statuses: number[] = [];
    const errs: string[] = [];
    let stopped = false;
    const load = (async () => {
      while (!stopped) {
        const status = await fetch(`${lbUrl}/echo/request`).then(
          (r) => r.status,
          (err: Error & { cause?: Error }) => {
            errs.push(err.cause?.message ?? err.message);
            return -1;
          },
        );
        statuses.push(status);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    expect(await dps[0]!.stop()).toBe(0);
    await waitFor(async () => (await serverStates(statsPort)).dp1 === 'DOWN', 15_000, 200);
    await new Promise((r) => setTimeout(r, 300));
    stopped = true;
    await load;
    expect(statuses.length).toBeGreaterThan(10);
    const failed = statuses.filter((s) => s !== 200);
    const why = `${failed.length} of ${statuses.length} failed (${errs.join('; ')}); haproxy:\n${haproxyLog.slice(-3000)}`;
    expect(failed, why).toEqual([]);
    expect(await serverStates(statsPort)).toEqual({ dp1: 'DOWN', dp2: 'UP', dp3: 'DOWN' });
  });
});
