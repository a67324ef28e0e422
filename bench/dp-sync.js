#!/usr/bin/env node
// Data-plane side of config sync, without PostgreSQL (run `npm run build` first): a minimal
// in-process control plane (the real gRPC service and payload codec) serves a SCALE-sized config
// to DPS real data-plane processes (`silverback start`, plaintext cluster link), then sends
// CHANGES one-row deltas (a route's path). Per DP process: connect → snapshot applied, RSS after
// the snapshot and after the changes (settled: SETTLE_MS later), CPU time (user+sys from /proc) per
// change, and write → applied latency. Isolates what a DP costs from what the CP and the database cost.
// Environment: DP_NODE_ARGS (node flags for the DPs, e.g. --cpu-prof), DPS (1), SCALE (10000), CHANGES (20), GAP_MS (300, pause between changes), SETTLE_MS (2000).
import { followNode } from './lib/node-log.js';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';

const ROOT = new URL('..', import.meta.url).pathname;
const dist = new URL('../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const grpc = await import('@grpc/grpc-js');
const { loadSyncService } = await load('shared/sync/proto.js');
const { compress, encodeDeltaPayload } = await load('shared/sync/protocol.js');
const { ConfigIndex } = await load('shared/sync/config-index.js');

const DPS = Number(process.env.DPS ?? 1);
const SCALE = Number(process.env.SCALE ?? 10000);
const CHANGES = Number(process.env.CHANGES ?? 20);
const GAP_MS = Number(process.env.GAP_MS ?? 300);
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 2000);
const work = mkdtempSync(join(tmpdir(), 'sb-bench-dp-'));

const ms = (x) => `${x.toFixed(1)} ms`;
const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const row = (what, value) => console.log(`  ${what}: ${value}`);
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const CLK = 100; // USER_HZ
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK;
};
const rssOf = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;

// ---- the config: rows shaped as the Admin API returns them ----
const now = Math.floor(Date.now() / 1000);
const upstreamPort = 9;
const services = [];
const routes = [];
const consumers = [];
for (let i = 0; i < SCALE; i++) {
  const id = randomUUID();
  services.push({
    ca_certificates: null, client_certificate: null, connect_timeout: 60000, created_at: now, enabled: true, host: '127.0.0.1', id,
    name: `s${i}`, path: `/s${i}`, port: upstreamPort, protocol: 'http', read_timeout: 60000, retries: 5, tags: null, tls_verify: null,
    tls_verify_depth: null, updated_at: now, write_timeout: 60000,
  });
  routes.push({
    created_at: now, destinations: null, headers: null, hosts: [`h${i % 100}.test`], https_redirect_status_code: 426, id: randomUUID(),
    methods: null, name: `r${i}`, path_handling: 'v0', paths: [`/r${i}`], preserve_host: false, protocols: ['http', 'https'],
    regex_priority: 0, request_buffering: true, response_buffering: true, service: { id }, snis: null, sources: null, strip_path: true,
    tags: null, updated_at: now,
  });
  consumers.push({ created_at: now, custom_id: null, id: randomUUID(), tags: null, updated_at: now, username: `c${i}` });
}
const empty = { ca_certificates: [], certificates: [], snis: [], upstreams: [], targets: [], plugins: [], jwt_secrets: [], keyauth_credentials: [], basicauth_credentials: [], acls: [] };
const index = ConfigIndex.fromSnapshot({ version: 1, ...empty, services, routes, consumers });
let hash = index.hash();
let t = performance.now();
const snapshotJson = index.toCanonicalJson(hash);
const snapshotPayload = await compress(snapshotJson);
const snapshot = { version: 1, hash, payload: snapshotPayload, compressed: true };
console.log(`dp-sync benchmark: ${DPS} DP process(es), ${SCALE} services + routes + consumers, ${CHANGES} one-row changes`);
row('snapshot payload (gzip) / JSON', `${mb(snapshotPayload.length)} / ${mb(snapshotJson.length)} (built in ${ms(performance.now() - t)})`);

// ---- a minimal control plane ----
const sessions = new Set();
const { service } = loadSyncService();
const server = new grpc.Server({ 'grpc.max_send_message_length': 256 * 1024 * 1024 });
server.addService(service, {
  Sync(call) {
    call.on('data', (m) => {
      if (m.hello) {
        sessions.add(call);
        call.write({ snapshot });
      }
    });
    call.on('error', () => sessions.delete(call));
    call.on('end', () => {
      sessions.delete(call);
      call.end();
    });
  },
});
const port = await new Promise((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);

async function change(i) {
  const from = index.version;
  const r = { ...index.get('routes', routes[0].id), paths: [`/changed/${i}`], updated_at: now + i };
  const ops = [{ entity: 'routes', op: 'upsert', row: r }];
  index.apply(ops);
  index.version = from + 1;
  hash = index.hash();
  const payload = await encodeDeltaPayload(ops);
  const delta = { from_version: from, to_version: index.version, hash, payload };
  for (const c of sessions) c.write({ delta });
  return { version: index.version, bytes: payload.length };
}

// ---- data planes ----
function statusOf(node) {
  return new Promise((resolve, reject) => {
    request(`http://127.0.0.1:${node.status}/status`, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve(JSON.parse(s)));
    })
      .on('error', reject)
      .end();
  });
}

function startDp(n) {
  const prefix = join(work, `dp-${n}`);
  mkdirSync(prefix, { recursive: true });
  const status = 20000 + Math.floor(Math.random() * 20000);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SILVERBACK_PREFIX: prefix,
    SILVERBACK_LOG_LEVEL: 'info',
    SILVERBACK_ROLE: 'data_plane',
    SILVERBACK_DATABASE: 'off',
    SILVERBACK_PROXY_LISTEN: '127.0.0.1:0',
    SILVERBACK_STATUS_LISTEN: `127.0.0.1:${status}`,
    SILVERBACK_CLUSTER_CONTROL_PLANE: `127.0.0.1:${port}`,
    SILVERBACK_CLUSTER_PLAINTEXT: 'on',
  };
  const nodeArgs = (process.env.DP_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'silverback.js'), 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const node = Object.assign(followNode(proc), { status, prefix });
  return node;
}

const dps = Array.from({ length: DPS }, (_, n) => startDp(n));
try {
  await Promise.race([
    Promise.all(dps.map((d) => d.whenApplied(1))),
    sleep(120_000).then(() => {
      throw new Error(`snapshot not applied:\n${dps[0].tail}`);
    }),
  ]);
  const applyMs = dps.map((d) => d.applied[0].logTime - d.connectedAt[d.connectedAt.length - 1]);
  row('DP connect → snapshot applied (receive, verify, compile), p50 / max', `${ms(pct(applyMs, 50))} / ${ms(Math.max(...applyMs))}`);
  const cpuApplied = dps.map((d) => cpuMs(d.proc.pid));
  row('DP CPU time, spawn → snapshot applied (user+sys), p50 / max', `${ms(pct(cpuApplied, 50))} / ${ms(Math.max(...cpuApplied))}`);
  await sleep(SETTLE_MS);
  const rss0 = dps.map((d) => rssOf(d.proc.pid));
  row(`DP RSS ${SETTLE_MS} ms after the snapshot, p50 / max`, `${mb(pct(rss0, 50))} / ${mb(Math.max(...rss0))}`);
  const mem0 = await Promise.all(dps.map(async (d) => (await statusOf(d)).memory));
  row('DP heap used / total after the snapshot, max', `${mb(Math.max(...mem0.map((m) => m.heap_used)))} / ${mb(Math.max(...mem0.map((m) => m.heap_total)))}`);

  const cpu0 = dps.map((d) => cpuMs(d.proc.pid));
  const lat = [];
  let bytes = 0;
  let rssAfter = [];
  for (let i = 1; i <= CHANGES; i++) {
    const t1 = performance.now();
    const c = await change(i);
    bytes = c.bytes;
    lat.push(Math.max(...(await Promise.all(dps.map((d) => d.whenApplied(c.version))))) - t1);
    if (i === CHANGES) rssAfter = dps.map((d) => rssOf(d.proc.pid));
    await sleep(GAP_MS);
  }
  await sleep(SETTLE_MS);
  const cpu = dps.map((d, k) => (cpuMs(d.proc.pid) - cpu0[k]) / CHANGES);
  const rss1 = dps.map((d) => rssOf(d.proc.pid));
  row('delta payload (one route)', `${bytes} B`);
  row(`change → applied on all ${DPS} DP(s), p50 / p99`, `${ms(pct(lat, 50))} / ${ms(pct(lat, 99))}`);
  row('DP CPU time per change (user+sys, incl. cache write and GC), p50 / max', `${ms(pct(cpu, 50))} / ${ms(Math.max(...cpu))}`);
  row('DP RSS right after the last change, p50 / max', `${mb(pct(rssAfter, 50))} / ${mb(Math.max(...rssAfter))}`);
  row(`DP RSS ${SETTLE_MS} ms after the changes, p50 / max`, `${mb(pct(rss1, 50))} / ${mb(Math.max(...rss1))}`);
  const mem1 = await Promise.all(dps.map(async (d) => (await statusOf(d)).memory));
  row('DP heap used / total after the changes, max', `${mb(Math.max(...mem1.map((m) => m.heap_used)))} / ${mb(Math.max(...mem1.map((m) => m.heap_total)))}`);
} finally {
  for (const d of dps) d.proc.kill('SIGTERM');
  await Promise.race([Promise.all(dps.map((d) => d.exit)), sleep(15_000)]);
  for (const d of dps) if (d.proc.exitCode === null) d.proc.kill('SIGKILL');
  for (const c of sessions) c.end();
  server.forceShutdown();
  rmSync(work, { recursive: true, force: true });
}
