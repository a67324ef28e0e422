#!/usr/bin/env node
// Config sync benchmark (run `npm run build` first): one control plane over a real PostgreSQL,
// in-process data-plane sync clients.
//   1. propagation: N sequential changes through the Dao, write start → applied on all DPs (p50/p99)
//   2. scale: SCALE services + SCALE routes + SCALE consumers: CP snapshot build time, payload
//      size, DP receive+verify and runtime compile times, one change as a delta (bytes) and its
//      propagation to the DPs.
// Environment: DPS (10), CHANGES (200), SCALE (10000); SILVERBACK_PG_HOST/PORT/USER/PASSWORD/DATABASE
// to use an existing PostgreSQL, else an embedded one is started in a temporary prefix.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const dist = new URL('../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const { loadConfig } = await load('shared/config.js');
const { createLogger } = await load('shared/log.js');
const { EMPTY_CONFIG_HASH } = await load('shared/snapshot.js');
const { pluginSchemas } = await load('shared/plugins/registry.js');
const { ConfigIndex } = await load('shared/sync/config-index.js');
const { decodeSnapshotPayload } = await load('shared/sync/protocol.js');
const { startEmbeddedPostgres } = await load('control-plane/embedded-db.js');
const { connectDatabase } = await load('control-plane/store/db.js');
const { bootstrap } = await load('control-plane/store/migrations.js');
const { createDao } = await load('control-plane/store/dao.js');
const { startSyncServer } = await load('control-plane/sync/index.js');
const { ConfigState } = await load('control-plane/sync/config-state.js');
const { startSyncClient } = await load('data-plane/sync/index.js');
const { createProxy } = await load('data-plane/proxy/index.js');

const DPS = Number(process.env.DPS ?? 10);
const CHANGES = Number(process.env.CHANGES ?? 200);
const SCALE = Number(process.env.SCALE ?? 10000);
const log = createLogger('error');
const prefix = mkdtempSync(join(tmpdir(), 'sb-bench-sync-'));
chmodSync(prefix, 0o755); // the embedded PostgreSQL runs as the postgres user when we are root
const plugins = [...pluginSchemas.values()].map((s) => ({ name: s.name, version: s.version }));

const ms = (x) => `${x.toFixed(1)} ms`;
const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const rows = [];
const row = (what, value) => {
  rows.push([what, value]);
  console.log(`  ${what}: ${value}`);
};

async function database() {
  if (process.env.SILVERBACK_PG_HOST) {
    const env = process.env;
    return {
      host: env.SILVERBACK_PG_HOST,
      port: Number(env.SILVERBACK_PG_PORT ?? 5432),
      user: env.SILVERBACK_PG_USER ?? 'silverback',
      password: env.SILVERBACK_PG_PASSWORD ?? '',
      database: env.SILVERBACK_PG_DATABASE ?? 'silverback',
      stop: async () => {},
    };
  }
  return startEmbeddedPostgres({ prefix, log });
}

/** DP clients whose apply records the version; waitAll(v) resolves when every DP applied ≥ v. */
function startDps(port, n, apply = () => {}) {
  const dps = [];
  for (let i = 0; i < n; i++) {
    const dp = { version: 0, hash: EMPTY_CONFIG_HASH, waiters: [] };
    dp.client = startSyncClient({
      config: loadConfig({ env: {}, overrides: { cluster_plaintext: true, prefix: join(prefix, `dp${i}`), cluster_control_plane: `127.0.0.1:${port}` } }),
      log,
      nodeId: `bench-dp-${i}`,
      plugins,
      cache: process.env.CACHE === '1',
      apply: async (s) => {
        await apply(s, i);
        dp.version = s.version;
        dp.hash = s.hash;
        dp.waiters = dp.waiters.filter((w) => (s.version >= w.v ? (w.resolve(performance.now()), false) : true));
      },
      current: () => ({ version: dp.version, hash: dp.hash }),
    });
    dps.push(dp);
  }
  const waitAll = (v) =>
    Promise.all(dps.map((dp) => (dp.version >= v ? performance.now() : new Promise((resolve) => dp.waiters.push({ v, resolve }))))).then((t) => Math.max(...t));
  return { dps, waitAll, close: () => Promise.all(dps.map((d) => d.client.close())) };
}

async function inParallel(n, concurrency, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

const target = await database();
const db = connectDatabase(target, { timeoutMs: 10000, max: 10 }, log);
try {
  await bootstrap(db.pool, () => undefined).catch(() => undefined);
  const dao = createDao(db.pool, log);
  const config = loadConfig({ env: {}, overrides: { cluster_plaintext: true, prefix } });
  const cp = await startSyncServer({ dao, config, log, listen: { host: '127.0.0.1', port: 0 } });
  console.log(`sync benchmark: ${DPS} data planes, ${CHANGES} sequential changes, scale ${SCALE}`);

  // ---- 1. propagation ----
  const fleet = startDps(cp.port, DPS);
  await fleet.waitAll(await dao.configVersion());
  const svc = await dao.insert('services', { name: 'bench-svc', url: 'http://bench.test' });
  await fleet.waitAll(await dao.configVersion());
  const lat = [];
  for (let i = 0; i < CHANGES; i++) {
    const t0 = performance.now();
    if (i % 2) await dao.update('services', svc.id, { retries: i % 10 });
    else await dao.insert('routes', { name: `bench-${i}`, paths: [`/bench/${i}`], service: { id: svc.id } });
    const v = await dao.configVersion();
    lat.push((await fleet.waitAll(v)) - t0);
  }
  console.log('propagation (small config):');
  row(`write → applied on all ${DPS} DPs, p50`, ms(pct(lat, 50)));
  row(`write → applied on all ${DPS} DPs, p99`, ms(pct(lat, 99)));
  row(`write → applied on all ${DPS} DPs, max`, ms(Math.max(...lat)));
  await fleet.close();

  // ---- 2. scale ----
  const t0 = performance.now();
  const services = [];
  await inParallel(SCALE, 10, async (i) => {
    services[i] = await dao.insert('services', { name: `s${i}`, url: `http://s${i}.test:8080/p` });
  });
  await inParallel(SCALE, 10, async (i) => {
    await dao.insert('routes', { name: `r${i}`, paths: [`/r${i}`], hosts: [`h${i % 100}.test`], service: { id: services[i].id } });
  });
  await inParallel(SCALE, 10, async (i) => {
    await dao.insert('consumers', { username: `c${i}` });
  });
  console.log(`scale: loaded ${SCALE} services, routes and consumers in ${ms(performance.now() - t0)}`);

  const state = new ConfigState(dao, log);
  let t = performance.now();
  const exported = await dao.exportSnapshot();
  const tExport = performance.now() - t;
  t = performance.now();
  await state.load();
  const tLoad = performance.now() - t;
  t = performance.now();
  const payload = await state.snapshotPayload();
  const tPayload = performance.now() - t;
  const rawJson = Buffer.byteLength(JSON.stringify(exported));
  row('CP export from PostgreSQL (exportSnapshot)', ms(tExport));
  row('CP snapshot build: export + view + hash', ms(tLoad));
  row('CP payload: canonical JSON + gzip (once per version)', ms(tPayload));
  row('snapshot payload size (gzip / JSON)', `${kb(payload.payload.length)} / ${kb(rawJson)}`);

  t = performance.now();
  const decoded = await decodeSnapshotPayload({ version: payload.version, hash: payload.hash, payload: payload.payload, compressed: true });
  const verified = ConfigIndex.fromSnapshot(decoded).hash() === payload.hash;
  const tDecode = performance.now() - t;
  const proxy = createProxy({ config, log });
  t = performance.now();
  proxy.applySnapshot(decoded);
  const tCompile = performance.now() - t;
  row(`DP receive: gunzip + parse + verify hash (${verified ? 'ok' : 'MISMATCH'})`, ms(tDecode));
  row('DP apply: runtime compile (router, plugins, credentials)', ms(tCompile));
  await proxy.close();

  let deltaBytes = 0;
  state.onUpdate((entry) => (deltaBytes = entry?.payload.length ?? -1));
  await dao.update('routes', 'r42', { paths: ['/r42', '/r42b'] });
  await state.refresh();
  row('one route change as a delta (gzip bytes)', `${deltaBytes} B`);

  // DPs on the big config: full sync, then one change propagated as a delta (apply = store only,
  // one DP also compiles the runtime)
  const compiler = createProxy({ config, log });
  const bigFleet = startDps(cp.port, DPS, (s, i) => {
    if (i === 0) compiler.applySnapshot(s);
  });
  t = performance.now();
  await bigFleet.waitAll(await dao.configVersion());
  row(`initial full sync of ${DPS} DPs (one compiling)`, ms(performance.now() - t));
  const big = [];
  for (let i = 0; i < 20; i++) {
    const t1 = performance.now();
    await dao.update('routes', `r${i}`, { paths: [`/r${i}`, `/r${i}/x`] });
    big.push((await bigFleet.waitAll(await dao.configVersion())) - t1);
  }
  row(`write → applied on all ${DPS} DPs at scale (one compiling), p50`, ms(pct(big, 50)));
  row(`write → applied on all ${DPS} DPs at scale (one compiling), max of 20`, ms(Math.max(...big)));
  await bigFleet.close();
  // the same with one DP: what each DP costs when it has its own process
  const solo = startDps(cp.port, 1, (s) => compiler.applySnapshot(s));
  await solo.waitAll(await dao.configVersion());
  const one = [];
  for (let i = 0; i < 20; i++) {
    const t1 = performance.now();
    await dao.update('routes', `r${i}`, { paths: [`/r${i}`, `/r${i}/y`] });
    one.push((await solo.waitAll(await dao.configVersion())) - t1);
  }
  row('write → applied (compiled) on 1 DP at scale, p50', ms(pct(one, 50)));
  row('write → applied (compiled) on 1 DP at scale, max of 20', ms(Math.max(...one)));
  await solo.close();
  await compiler.close();
  await cp.close();
  await dao.close();
} finally {
  await db.close();
  await target.stop();
  rmSync(prefix, { recursive: true, force: true });
}
