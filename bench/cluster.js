#!/usr/bin/env node
// Cluster benchmark over real processes (run `npm run build` first): one control-plane process on
// PostgreSQL and DPS data-plane processes (`silverback start`), synced over gRPC with shared-mode
// mTLS, a real upstream.
//   1. propagation: CHANGES sequential Admin API changes (PATCH a route path); for each, the time
//      from the write to the moment every DP has applied it (the DP's "configuration applied" log
//      line for that version, read from its stdout: no polling load), then one proxy request per DP
//      checks the new path is served. p50/p99/max.
//   2. scale: SCALE services + routes + consumers inserted through the DAO (the CP process learns of
//      them through PostgreSQL notifications, as with a second control plane) while the DPs are
//      stopped; then DPS fresh DPs start: connect → full snapshot applied (from their logs), spawn →
//      /status/ready, RSS from /status; then SCALE_CHANGES changes at that size, write → all applied.
// Environment: DPS (10), CHANGES (100), SCALE (10000), SCALE_CHANGES (20); SILVERBACK_PG_HOST/PORT/
// USER/PASSWORD/DATABASE to use an existing, empty database, else an embedded PostgreSQL is started.
// Targets: propagation p99 < 250 ms, DP apply < 1 s, DP RSS < 150 MB.
import { followNode } from './lib/node-log.js';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = new URL('..', import.meta.url).pathname;
const dist = new URL('../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const { createLogger } = await load('shared/log.js');
const { startEmbeddedPostgres, freePort } = await load('control-plane/embedded-db.js');
const { connectDatabase } = await load('control-plane/store/db.js');
const { createDao } = await load('control-plane/store/dao.js');
const { generateClusterCert } = await load('cli/cert.js');

const DPS = Number(process.env.DPS ?? 10);
const CHANGES = Number(process.env.CHANGES ?? 100);
const SCALE = Number(process.env.SCALE ?? 10000);
const SCALE_CHANGES = Number(process.env.SCALE_CHANGES ?? 20);
const log = createLogger('error');
const work = mkdtempSync(join(tmpdir(), 'sb-bench-cluster-'));
chmodSync(work, 0o755); // the embedded PostgreSQL runs as the postgres user when we are root

const ms = (x) => `${x.toFixed(1)} ms`;
const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const row = (what, value) => console.log(`  ${what}: ${value}`);
const sleep = (t) => new Promise((r) => setTimeout(r, t));

// ---- HTTP ----
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
function http(url, { method = 'GET', body, host } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {};
    if (host) headers.host = host;
    const req = request(url, { method, headers, agent, timeout: 30_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, text, json: () => JSON.parse(text) });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
async function adminCall(cp, method, path, body) {
  const res = await http(`http://127.0.0.1:${cp.ports.admin}${path}`, { method, body });
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${res.text}`);
  return res.text ? res.json() : null;
}

async function waitUntil(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// ---- processes ----
const procs = new Set();
async function startNode(role, env) {
  const ports = { admin: await freePort(), proxy: await freePort(), status: await freePort(), cluster: await freePort() };
  const prefix = join(work, `${role}-${procs.size}-${Date.now()}`);
  mkdirSync(prefix, { recursive: true });
  const childEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  Object.assign(childEnv, {
    SILVERBACK_PREFIX: prefix,
    SILVERBACK_LOG_LEVEL: 'info',
    SILVERBACK_ROLE: role,
    SILVERBACK_ADMIN_LISTEN: `127.0.0.1:${ports.admin}`,
    SILVERBACK_PROXY_LISTEN: `127.0.0.1:${ports.proxy}`,
    SILVERBACK_STATUS_LISTEN: `127.0.0.1:${ports.status}`,
    SILVERBACK_CLUSTER_LISTEN: `127.0.0.1:${ports.cluster}`,
    ...env,
  });
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'silverback.js'), 'start'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const node = Object.assign(followNode(proc), { role, ports, prefix, spawnedAt: performance.now() });
  node.stop = async () => {
    if (!node.exited) {
      proc.kill('SIGTERM');
      await Promise.race([node.exit, sleep(15_000)]);
      if (!node.exited) proc.kill('SIGKILL');
      await node.exit;
    }
    procs.delete(node);
  };
  procs.add(node);
  const listener = role === 'control_plane' ? ports.admin : ports.status;
  await waitUntil(async () => {
    if (node.exited) throw Object.assign(new Error(`${role} exited:\n${node.tail}`), { fatal: true });
    return (await http(`http://127.0.0.1:${listener}/`)).status > 0;
  }, 60_000, `${role} to listen`).catch((err) => {
    throw new Error(`${err.message}\n${node.tail}`);
  });
  return node;
}

async function cleanup() {
  await Promise.all([...procs].map((p) => p.stop()));
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

// ---- run ----
let pgStop = async () => {};
let target;
if (process.env.SILVERBACK_PG_HOST) {
  const e = process.env;
  target = {
    host: e.SILVERBACK_PG_HOST,
    port: Number(e.SILVERBACK_PG_PORT ?? 5432),
    user: e.SILVERBACK_PG_USER ?? 'silverback',
    password: e.SILVERBACK_PG_PASSWORD ?? '',
    database: e.SILVERBACK_PG_DATABASE ?? 'silverback',
  };
} else {
  const pg = await startEmbeddedPostgres({ prefix: join(work, 'pg'), log });
  target = pg;
  pgStop = () => pg.stop();
}
const dbEnv = {
  SILVERBACK_DATABASE: 'postgres',
  SILVERBACK_PG_HOST: target.host,
  SILVERBACK_PG_PORT: String(target.port),
  SILVERBACK_PG_USER: target.user,
  SILVERBACK_PG_PASSWORD: target.password ?? '',
  SILVERBACK_PG_DATABASE: target.database,
};
const certs = generateClusterCert({ cert: join(work, 'cluster.crt'), key: join(work, 'cluster.key'), commonName: 'silverback_cluster', days: 2 });
const tls = {
  SILVERBACK_CLUSTER_MTLS: 'shared',
  SILVERBACK_CLUSTER_CERT: certs.cert,
  SILVERBACK_CLUSTER_CERT_KEY: certs.key,
  SILVERBACK_CLUSTER_SERVER_NAME: 'silverback_cluster',
};

const upstream = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
  res.end('ok');
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;

let db;
try {
  const cp = await startNode('control_plane', { ...dbEnv, ...tls });
  db = connectDatabase(target, { timeoutMs: 10_000, max: 10 }, log);
  const dao = createDao(db.pool, log);
  const startDps = () =>
    Promise.all(Array.from({ length: DPS }, () => startNode('data_plane', { ...tls, SILVERBACK_DATABASE: 'off', SILVERBACK_CLUSTER_CONTROL_PLANE: `127.0.0.1:${cp.ports.cluster}` })));
  const allApplied = (dps, version) => Promise.all(dps.map((d) => d.whenApplied(version))).then((t) => Math.max(...t));

  console.log(`cluster benchmark: 1 control plane + ${DPS} data plane processes (mTLS), ${CHANGES} sequential Admin API changes, scale ${SCALE}`);
  const run = Date.now().toString(36);
  await adminCall(cp, 'POST', '/services', { name: `bench-${run}`, url: upstreamUrl });
  await adminCall(cp, 'POST', `/services/bench-${run}/routes`, { name: `route-${run}`, paths: [`/${run}/0`] });

  let dps = await startDps();
  await allApplied(dps, await dao.configVersion());
  for (const d of dps) await waitUntil(async () => (await http(`http://127.0.0.1:${d.ports.proxy}/${run}/0`)).status === 200, 10_000, 'first route');

  // ---- 1. propagation ----
  const lat = [];
  let notServed = 0;
  for (let i = 1; i <= CHANGES; i++) {
    const t0 = performance.now();
    await adminCall(cp, 'PATCH', `/routes/route-${run}`, { paths: [`/${run}/${i}`] });
    const version = await dao.configVersion();
    lat.push((await allApplied(dps, version)) - t0);
    for (const d of dps) if ((await http(`http://127.0.0.1:${d.ports.proxy}/${run}/${i}`)).status !== 200) notServed++;
  }
  console.log('propagation (small config):');
  row(`Admin API write → applied on all ${DPS} DPs, p50`, ms(pct(lat, 50)));
  row(`Admin API write → applied on all ${DPS} DPs, p99`, ms(pct(lat, 99)));
  row(`Admin API write → applied on all ${DPS} DPs, max`, ms(Math.max(...lat)));
  row('proxy checks after apply that did not serve the new path', `${notServed} of ${CHANGES * DPS}`);
  const smallRss = await Promise.all(dps.map(async (d) => (await http(`http://127.0.0.1:${d.ports.status}/status`)).json().memory.rss));
  row('DP RSS, small config (max)', mb(Math.max(...smallRss)));
  await Promise.all(dps.map((d) => d.stop()));

  // ---- 2. scale ----
  let t = performance.now();
  const inParallel = async (n, concurrency, fn) => {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }));
  };
  const services = [];
  await inParallel(SCALE, 8, async (i) => {
    services[i] = await dao.insert('services', { name: `s${i}-${run}`, url: `${upstreamUrl}/s${i}` });
  });
  await inParallel(SCALE, 8, async (i) => {
    await dao.insert('routes', { name: `r${i}-${run}`, paths: [`/r${i}`], hosts: [`h${i % 100}.test`], service: { id: services[i].id } });
  });
  await inParallel(SCALE, 8, async (i) => {
    await dao.insert('consumers', { username: `c${i}-${run}` });
  });
  const bigVersion = await dao.configVersion();
  console.log(`scale: ${SCALE} services + ${SCALE} routes + ${SCALE} consumers inserted in ${ms(performance.now() - t)}`);

  t = performance.now();
  dps = await startDps();
  const spawned = performance.now();
  await allApplied(dps, bigVersion);
  const fullSync = performance.now() - t;
  const readyAt = [];
  for (const d of dps) {
    await waitUntil(async () => (await http(`http://127.0.0.1:${d.ports.status}/status/ready`)).status === 200, 30_000, 'ready');
    readyAt.push(performance.now() - d.spawnedAt);
  }
  // the DP's own timeline: stream connected → snapshot verified, compiled and swapped in
  const applyMs = dps.map((d) => d.applied.find((a) => a.version >= bigVersion).logTime - d.connectedAt[0]);
  row(`${DPS} fresh DPs started together: all listening`, ms(spawned - t));
  row(`${DPS} fresh DPs: start → all applied the ${SCALE * 3}-entity snapshot`, ms(fullSync));
  row('DP connect → full snapshot applied (receive, verify, compile), p50 / max', `${ms(pct(applyMs, 50))} / ${ms(Math.max(...applyMs))}`);
  row('DP process spawn → /status/ready 200, max', ms(Math.max(...readyAt)));
  const last = SCALE - 1;
  const probes = await Promise.all(dps.map((d) => http(`http://127.0.0.1:${d.ports.proxy}/r${last}/x`, { host: `h${last % 100}.test` })));
  row(`proxy at scale: GET /r${last}/x with its host`, probes.map((p) => p.status).join(' '));

  const big = [];
  for (let i = 0; i < SCALE_CHANGES; i++) {
    const t1 = performance.now();
    await adminCall(cp, 'PATCH', `/routes/route-${run}`, { paths: [`/${run}/big${i}`] });
    const version = await dao.configVersion();
    big.push((await allApplied(dps, version)) - t1);
  }
  let bigServed = 0;
  for (const d of dps) if ((await http(`http://127.0.0.1:${d.ports.proxy}/${run}/big${SCALE_CHANGES - 1}`)).status === 200) bigServed++;
  row(`Admin API write → applied on all ${DPS} DPs at scale, p50`, ms(pct(big, 50)));
  row(`Admin API write → applied on all ${DPS} DPs at scale, p99 (of ${SCALE_CHANGES})`, ms(pct(big, 99)));
  row('DPs serving the last change at scale', `${bigServed} of ${DPS}`);
  const rss = await Promise.all(dps.map(async (d) => (await http(`http://127.0.0.1:${d.ports.status}/status`)).json().memory.rss));
  row(`DP RSS at scale (p50 / max)`, `${mb(pct(rss, 50))} / ${mb(Math.max(...rss))}`);
  // the same work with one DP process on the machine: what a DP costs on its own
  await Promise.all(dps.slice(1).map((d) => d.stop()));
  const solo = [];
  for (let i = 0; i < SCALE_CHANGES; i++) {
    const t1 = performance.now();
    await adminCall(cp, 'PATCH', `/routes/route-${run}`, { paths: [`/${run}/solo${i}`] });
    solo.push((await dps[0].whenApplied(await dao.configVersion())) - t1);
  }
  row(`Admin API write → applied on 1 DP at scale, p50 / p99 (of ${SCALE_CHANGES})`, `${ms(pct(solo, 50))} / ${ms(pct(solo, 99))}`);
  await dps[0].stop();
  const alone = await startNode('data_plane', { ...tls, SILVERBACK_DATABASE: 'off', SILVERBACK_CLUSTER_CONTROL_PLANE: `127.0.0.1:${cp.ports.cluster}` });
  await alone.whenApplied(await dao.configVersion());
  row('one fresh DP alone: connect → full snapshot applied', ms(alone.applied[alone.applied.length - 1].logTime - alone.connectedAt[0]));
  await sleep(2000);
  row('one fresh DP alone: RSS 2 s after applying', mb((await http(`http://127.0.0.1:${alone.ports.status}/status`)).json().memory.rss));
  const cpRss = (await import('node:fs')).readFileSync(`/proc/${cp.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  if (cpRss) row('CP RSS at scale', mb(Number(cpRss[1]) * 1024));
} finally {
  await cleanup();
  await db?.close().catch(() => undefined);
  agent.destroy();
  await new Promise((r) => upstream.close(r));
  await pgStop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}
