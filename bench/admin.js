// Admin API write benchmark: N concurrent HTTP clients each creating a service and then a route
// under it (two writes), against a real PostgreSQL, through the real Admin API (dist/).
//   npm run bench:admin                          # build, then 16 clients for 10 s on an embedded PostgreSQL
//   CLIENTS=32 DURATION=20 node bench/admin.js   # other load
//   SILVERBACK_PG_HOST=... SILVERBACK_PG_PORT=... SILVERBACK_PG_USER=... SILVERBACK_PG_PASSWORD=...
//   SILVERBACK_PG_DATABASE=... node bench/admin.js   # an existing (empty or bootstrapped) database
// Prints writes/s and p50/p99/max latency per request kind.
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
if (!existsSync(dist('control-plane/admin/server.js'))) {
  console.error('dist/ missing: run `npm run build` first (npm run bench:admin does)');
  process.exit(2);
}

const { startAdminApi } = await import(dist('control-plane/admin/server.js'));
const { connectDatabase } = await import(dist('control-plane/store/db.js'));
const { migrateAuto } = await import(dist('control-plane/store/migrations.js'));
const { createDao } = await import(dist('control-plane/store/dao.js'));
const { startEmbeddedPostgres } = await import(dist('control-plane/embedded-db.js'));
const { defaultConfig } = await import(dist('shared/config.js'));
const { createLogger } = await import(dist('shared/log.js'));

const CLIENTS = Number(process.env.CLIENTS || 16);
const DURATION = Number(process.env.DURATION || 10);
const POOL = Number(process.env.PG_POOL || 10);
const log = createLogger('error');

let target;
let cleanup = async () => {};
if (process.env.SILVERBACK_PG_HOST) {
  const e = process.env;
  target = { host: e.SILVERBACK_PG_HOST, port: Number(e.SILVERBACK_PG_PORT || 5432), user: e.SILVERBACK_PG_USER || 'silverback', password: e.SILVERBACK_PG_PASSWORD || '', database: e.SILVERBACK_PG_DATABASE || 'silverback' };
} else {
  const prefix = mkdtempSync(join(tmpdir(), 'sb-bench-admin-'));
  chmodSync(prefix, 0o755); // initdb runs as the postgres user when we are root
  const pg = await startEmbeddedPostgres({ prefix, log });
  target = pg;
  cleanup = async () => {
    await pg.stop();
    rmSync(prefix, { recursive: true, force: true });
  };
}

const db = connectDatabase(target, { timeoutMs: 10_000, max: POOL }, log);
await migrateAuto(db.pool, () => {});
const dao = createDao(db.pool, log);
const api = await startAdminApi({ config: defaultConfig(), dao, log, role: 'control_plane', listen: { host: '127.0.0.1', port: 0 } });

const http = new Pool(api.url, { connections: CLIENTS, pipelining: 1 });
const run = Date.now().toString(36);
const lat = { service: [], route: [] };
let errors = 0;
let seq = 0;

async function post(path, body, kind) {
  const t0 = process.hrtime.bigint();
  const res = await http.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.body.text();
  lat[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (res.statusCode !== 201) {
    errors++;
    if (errors <= 3) console.error(`${kind}: ${res.statusCode} ${text}`);
    return null;
  }
  return JSON.parse(text);
}

// warm-up: connections, prepared plans, JIT
for (let i = 0; i < 50; i++) {
  const s = await post('/services', { name: `warm-${run}-${i}`, host: 'warm.test' }, 'service');
  if (s) await post(`/services/${s.id}/routes`, { paths: [`/warm-${run}-${i}`] }, 'route');
}
lat.service.length = 0;
lat.route.length = 0;
errors = 0;

const deadline = Date.now() + DURATION * 1000;
const started = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: CLIENTS }, async () => {
    while (Date.now() < deadline) {
      const n = seq++;
      const s = await post('/services', { name: `bench-${run}-${n}`, url: `http://upstream-${n % 50}.test:8080/api` }, 'service');
      if (s) await post(`/services/${s.id}/routes`, { name: `bench-${run}-${n}`, paths: [`/bench/${run}/${n}`], methods: ['GET', 'POST'] }, 'route');
    }
  }),
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const rows = [];
for (const kind of ['service', 'route']) {
  const s = [...lat[kind]].sort((a, b) => a - b);
  rows.push({ kind: `POST ${kind}`, count: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] });
}
const all = [...lat.service, ...lat.route].sort((a, b) => a - b);
const writes = all.length;

console.log(`\nAdmin API writes: ${CLIENTS} clients, ${seconds.toFixed(1)} s, pg pool ${POOL}, ${process.env.SILVERBACK_PG_HOST ? 'external' : 'embedded'} PostgreSQL`);
console.log('| request | count | p50 ms | p99 ms | max ms |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.kind} | ${r.count} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} |`);
console.log(`| all writes | ${writes} | ${pct(all, 50).toFixed(2)} | ${pct(all, 99).toFixed(2)} | ${all[all.length - 1].toFixed(2)} |`);
console.log(`\nwrites/s: ${(writes / seconds).toFixed(0)}   errors: ${errors}`);

await http.close();
await api.close();
await dao.close();
await db.close();
await cleanup();
