// The data-plane registry in clustering_data_planes: every control plane on one database lists
// every data plane, rows follow applies and heartbeats (throttled), expired rows are purged, a
// database outage never holds up a stream, and migration 001 creates the table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminApi, type AdminApi } from '../../control-plane/admin/server.js';
import { connectDatabase, type Database } from '../../control-plane/store/db.js';
import { createDao } from '../../control-plane/store/dao.js';
import { bootstrap, MIGRATIONS, up } from '../../control-plane/store/migrations.js';
import { clusteringRoutes, type DataPlaneInfo, type SyncServer } from '../../control-plane/sync/index.js';
import { DataPlaneRegistry } from '../../control-plane/sync/registry.js';
import { DataPlaneStore } from '../../control-plane/sync/registry-store.js';
import type { Snapshot } from '../../shared/snapshot.js';
import { createTestDatabase, startPrivatePostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/processes.js';
import { openTestStore, type TestStore } from '../store/store-helpers.js';
import { clusterConfig, quietLog, removePrefixes, startCp, startDp, type StartDpOptions, type TestDp } from './sync-helpers.js';

const DP1 = '00000000-0000-4000-8000-0000000000d1';
const DP2 = '00000000-0000-4000-8000-0000000000d2';

let store: TestStore;
let cp1: SyncServer;
let cp2: SyncServer;
const dps: TestDp[] = [];
let dp1: TestDp;
const apis: AdminApi[] = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  store = await openTestStore('sync_registry');
  cp1 = await startCp(store.dao, { pool: store.db.pool, registry: { heartbeatWriteMs: 400 } });
  const second = store.openDao();
  cp2 = await startCp(second.dao, { pool: second.db.pool, registry: { heartbeatWriteMs: 400 } });
});
afterAll(async () => {
  for (const d of dps) await d.client.close();
  for (const a of apis) await a.close();
  await cp1?.close();
  await cp2?.close();
  for (const c of cleanups.reverse()) await c();
  await store?.close();
  removePrefixes();
});

function dp(cp: SyncServer, opts: StartDpOptions = {}): TestDp {
  const d = startDp(cp.port, opts);
  dps.push(d);
  return d;
}

async function latest(d: TestDp): Promise<Snapshot> {
  return waitFor(async () => {
    const v = await store.dao.configVersion();
    const s = d.current();
    return s && s.version === v ? s : null;
  });
}

async function admin(sync: SyncServer): Promise<string> {
  const api = await startAdminApi({
    config: clusterConfig(),
    dao: store.dao,
    log: quietLog,
    role: 'control_plane',
    listen: { host: '127.0.0.1', port: 0 },
    extraRoutes: clusteringRoutes(sync),
  });
  apis.push(api);
  return api.url;
}

async function listed(url: string): Promise<DataPlaneInfo[]> {
  const res = await fetch(`${url}/clustering/data-planes`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: DataPlaneInfo[] }).data;
}

async function tableRow(id: string): Promise<Record<string, any> | undefined> {
  const res = await store.db.pool.query(
    `SELECT *, EXTRACT(EPOCH FROM last_seen)::float8 AS seen FROM clustering_data_planes WHERE id = $1`,
    [id],
  );
  return res.rows[0];
}

describe('two control planes on one database', () => {
  it('each lists the data planes of both, with Kong fields; connected is true for both', async () => {
    const a = (dp1 = dp(cp1, { nodeId: DP1, labels: { region: 'eu' } }));
    const b = dp(cp2, { nodeId: DP2 });
    const sa = await latest(a);
    await latest(b);
    const [url1, url2] = [await admin(cp1), await admin(cp2)];
    for (const url of [url1, url2]) {
      const rows = await waitFor(async () => {
        const r = await listed(url);
        return r.filter((x) => (x.id === DP1 || x.id === DP2) && x.config_hash === sa.hash).length === 2 ? r : null;
      });
      const row1 = rows.find((r) => r.id === DP1)!;
      expect(row1).toMatchObject({
        ip: '127.0.0.1',
        sync_status: 'normal',
        config_hash: sa.hash,
        config_version: sa.version,
        labels: { region: 'eu' },
        connected: true,
        last_error: null,
        hostname: expect.any(String),
        version: expect.any(String),
      });
      expect(Math.abs(row1.last_seen - Date.now() / 1000)).toBeLessThan(60);
      expect(Math.abs(row1.updated_at - Date.now() / 1000)).toBeLessThan(60);
      expect(row1.ttl).toBeGreaterThan(14 * 24 * 3600 - 60);
      expect(row1.ttl).toBeLessThanOrEqual(14 * 24 * 3600);
      expect(rows.find((r) => r.id === DP2)).toMatchObject({ connected: true, sync_status: 'normal' });
    }
    // the memory view stays this CP's own
    expect(cp1.dataPlanes().map((r) => r.id)).toEqual([DP1]);
    expect(cp2.dataPlanes().map((r) => r.id)).toEqual([DP2]);

    // pages across both, by id
    const page1 = (await (await fetch(`${url2}/clustering/data-planes?size=1`)).json()) as { data: DataPlaneInfo[]; next: string };
    expect(page1.data.map((r) => r.id)).toEqual([DP1]);
    const page2 = (await (await fetch(`${url2}${page1.next}`)).json()) as { data: DataPlaneInfo[]; next: string | null };
    expect(page2.data.map((r) => r.id)).toEqual([DP2]);
    expect(page2.next).toBeNull();

    const status = await fetch(`${url1}/clustering/status`);
    expect(status.headers.get('deprecation')).toBe('true');
    const map = (await status.json()) as Record<string, Record<string, unknown>>;
    expect(Object.keys(map).sort()).toEqual([DP1, DP2]);
    expect(map[DP2]).toEqual({ config_hash: sa.hash, hostname: expect.any(String), ip: '127.0.0.1', last_seen: expect.any(Number) });
  });

  it('an apply updates the row (config_hash, config_version) as seen from the other control plane', async () => {
    await store.dao.insert('consumers', { username: 'registry-apply' });
    const s = await latest(dp1);
    const row = await waitFor(async () => {
      const r = await tableRow(DP1);
      return r?.config_hash === s.hash ? r : null;
    });
    expect(Number(row.config_version)).toBe(s.version);
    const seenFrom2 = (await cp2.allDataPlanes()).find((r) => r.id === DP1)!;
    expect(seenFrom2).toMatchObject({ config_hash: s.hash, config_version: s.version, connected: true });
  });

  it('an apply error is written at once; the next successful apply clears it', async () => {
    const d = dp(cp2, { nodeId: '00000000-0000-4000-8000-0000000000d3' });
    await latest(d);
    d.failWith('route conflicts with itself');
    await store.dao.insert('consumers', { username: 'registry-apply-error' });
    await waitFor(async () => (await tableRow('00000000-0000-4000-8000-0000000000d3'))?.last_error === 'route conflicts with itself');
    expect((await cp1.allDataPlanes()).find((r) => r.id === '00000000-0000-4000-8000-0000000000d3')?.last_error).toBe('route conflicts with itself');
    d.failWith(null);
    await store.dao.insert('consumers', { username: 'registry-apply-ok' });
    const s = await latest(d);
    await waitFor(async () => {
      const r = await tableRow('00000000-0000-4000-8000-0000000000d3');
      return r?.last_error === null && r.config_hash === s.hash;
    });
  });

  it('heartbeats move last_seen, written at most once per heartbeatWriteMs', async () => {
    const id = '00000000-0000-4000-8000-0000000000d4';
    dp(cp1, { nodeId: id, heartbeatMs: 25 });
    const first = await waitFor(() => tableRow(id));
    const seen = new Set<number>([first.seen]);
    const start = Date.now();
    while (Date.now() - start < 1500) {
      await new Promise((r) => setTimeout(r, 20));
      seen.add((await tableRow(id))!.seen);
    }
    // ~60 heartbeats in 1.5 s, at most one write per 400 ms (plus the hello / status writes)
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect(seen.size).toBeLessThanOrEqual(7);
    expect(Math.max(...seen) - first.seen).toBeGreaterThan(0.5);
  });

  it('a data plane gone from this control plane is not connected; one seen elsewhere long ago neither', async () => {
    const id = '00000000-0000-4000-8000-0000000000d5';
    const d = dp(cp1, { nodeId: id });
    await latest(d);
    await waitFor(async () => (await cp1.allDataPlanes()).find((r) => r.id === id && r.connected));
    await d.client.close();
    await waitFor(async () => (await cp1.allDataPlanes()).find((r) => r.id === id && !r.connected));
    // cp2 never had its stream: recent → connected, a minute old → not
    expect((await cp2.allDataPlanes()).find((r) => r.id === id)?.connected).toBe(true);
    await store.db.pool.query(`UPDATE clustering_data_planes SET last_seen = now() - interval '2 minutes' WHERE id = $1`, [id]);
    const row = (await cp2.allDataPlanes()).find((r) => r.id === id)!;
    expect(row.connected).toBe(false);
    expect(row.ttl).toBeLessThanOrEqual(14 * 24 * 3600 - 120);
  });

  it('rows are never written through the config change log', async () => {
    const before = await store.dao.configVersion();
    dp(cp2, { nodeId: '00000000-0000-4000-8000-0000000000d6', heartbeatMs: 20 });
    await waitFor(() => tableRow('00000000-0000-4000-8000-0000000000d6'));
    await new Promise((r) => setTimeout(r, 200));
    expect(await store.dao.configVersion()).toBe(before);
  });
});

describe('purge', () => {
  it('rows past the purge delay are hidden, then deleted by the periodic purge', async () => {
    const ins = (id: string, age: string) =>
      store.db.pool.query(
        `INSERT INTO clustering_data_planes (id, hostname, ip, version, sync_status, config_hash, config_version, labels, last_seen, updated_at)
         VALUES ($1, 'old-host', '10.0.0.1', '3.9.0', 'normal', $2, 1, '{}', now() - $3::interval, now() - $3::interval)`,
        [id, 'a'.repeat(32), age],
      );
    await ins('purge-expired', '15 days');
    await ins('purge-kept', '13 days');
    const all = await cp1.allDataPlanes();
    expect(all.find((r) => r.id === 'purge-expired')).toBeUndefined();
    const kept = all.find((r) => r.id === 'purge-kept')!;
    expect(kept).toMatchObject({ hostname: 'old-host', connected: false, labels: {} });
    expect(kept.ttl).toBeGreaterThan(24 * 3600 - 60);
    expect(kept.ttl).toBeLessThanOrEqual(24 * 3600);

    const cp = await startCp(store.dao, { pool: store.db.pool, registry: { purgeIntervalMs: 50 } });
    try {
      await waitFor(async () => !(await tableRow('purge-expired')));
      expect(await tableRow('purge-kept')).toBeDefined();
    } finally {
      await cp.close();
    }
    // a shorter delay on demand
    const registry = new DataPlaneRegistry({ pool: store.db.pool, purgeDelaySeconds: 12 * 24 * 3600, purgeIntervalMs: 0 });
    expect(await registry.purge()).toBeGreaterThanOrEqual(1);
    expect(await tableRow('purge-kept')).toBeUndefined();
    await registry.close();
  });

  it('an older write never replaces a newer one (a control plane catching up after an outage)', async () => {
    const s = new DataPlaneStore(store.db.pool, 3600);
    const base = {
      id: 'older-write',
      hostname: 'h',
      ip: '10.0.0.2',
      version: '3.9.0',
      sync_status: 'normal',
      config_version: 2,
      labels: {},
      last_error: null,
      cert_details: null,
    };
    await s.upsert({ ...base, config_hash: 'b'.repeat(32), seenAgoMs: 0, updatedAgoMs: 0 });
    await s.upsert({ ...base, config_hash: 'c'.repeat(32), seenAgoMs: 10_000, updatedAgoMs: 10_000 });
    expect((await tableRow('older-write'))?.config_hash).toBe('b'.repeat(32));
  });
});

describe('database outage', () => {
  it('does not hold up the stream; the row catches up on the next heartbeat', async () => {
    const pgp = await startPrivatePostgres();
    cleanups.push(() => pgp.destroy());
    const db: Database = connectDatabase(pgp, { timeoutMs: 1000, max: 5 }, quietLog);
    await bootstrap(db.pool, () => undefined);
    const dao = createDao(db.pool, quietLog);
    const cp = await startCp(dao, { pool: db.pool, registry: { heartbeatWriteMs: 100 } });
    cleanups.push(async () => {
      await cp.close();
      await dao.close();
      await db.close();
    });
    const id = '00000000-0000-4000-8000-0000000000e1';
    const d = dp(cp, { nodeId: id, heartbeatMs: 50 });
    const snap = await waitFor(() => d.current());
    const seen = async () => (await db.pool.query(`SELECT EXTRACT(EPOCH FROM last_seen)::float8 AS s FROM clustering_data_planes WHERE id = $1`, [id])).rows[0]?.s as number | undefined;
    await waitFor(seen);

    await pgp.stop();
    const stoppedAt = Date.now() / 1000;
    // the stream lives on: heartbeats (with failing writes) and the memory view keep going
    await new Promise((r) => setTimeout(r, 800));
    expect(d.client.state()).toMatchObject({ connected: true, hash: snap.hash });
    expect(cp.dataPlanes().find((r) => r.id === id)).toMatchObject({ connected: true, config_hash: snap.hash });
    const url = await (async () => {
      const api = await startAdminApi({ config: clusterConfig(), dao, log: quietLog, role: 'control_plane', listen: { host: '127.0.0.1', port: 0 }, extraRoutes: clusteringRoutes(cp) });
      apis.push(api);
      return api.url;
    })();
    const down = await fetch(`${url}/clustering/data-planes`);
    expect(down.status).toBe(500);
    expect(await down.json()).toEqual({ message: 'An unexpected error occurred' });

    await pgp.start();
    const after = await waitFor(async () => {
      const s = await seen().catch(() => undefined);
      return s !== undefined && s > stoppedAt ? s : null;
    }, 15_000);
    expect(after).toBeGreaterThan(stoppedAt);
    expect((await listed(url)).find((r) => r.id === id)).toMatchObject({ connected: true, config_hash: snap.hash });
  });
});

describe('migration 001_clustering_data_planes', () => {
  it('migrations up on a database bootstrapped before it adds the table; bootstrap on an empty one creates it', async () => {
    const tdb = await createTestDatabase('registry_migr');
    const db = connectDatabase(tdb, { timeoutMs: 5000 }, quietLog);
    try {
      await bootstrap(db.pool, () => undefined, { migrations: [MIGRATIONS[0]!] });
      const exists = async () => (await db.pool.query(`SELECT to_regclass('clustering_data_planes') IS NOT NULL AS ok`)).rows[0].ok;
      expect(await exists()).toBe(false);
      const lines: string[] = [];
      const pending = MIGRATIONS.length - 1; // 001 and every later one
      expect(await up(db.pool, (l) => lines.push(l))).toEqual({ processed: pending, executed: pending });
      expect(lines).toContain('core migrated up to: 001_clustering_data_planes (executed)');
      expect(await exists()).toBe(true);
      const cols = await db.pool.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'clustering_data_planes' ORDER BY ordinal_position`,
      );
      expect(Object.fromEntries(cols.rows.map((r) => [r.column_name, r.data_type]))).toEqual({
        id: 'text',
        hostname: 'text',
        ip: 'text',
        version: 'text',
        sync_status: 'text',
        config_hash: 'text',
        config_version: 'bigint',
        labels: 'jsonb',
        last_error: 'text',
        last_seen: 'timestamp with time zone',
        updated_at: 'timestamp with time zone',
        cert_details: 'jsonb',
      });
      const idx = await db.pool.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'clustering_data_planes'`);
      expect(idx.rows.map((r) => r.indexdef).join('\n')).toMatch(/clustering_data_planes_last_seen_idx .*\(last_seen\)/);
    } finally {
      await db.close();
      await tdb.drop();
    }
    // the file's own store was bootstrapped from empty with every migration
    expect((await store.db.pool.query(`SELECT to_regclass('clustering_data_planes') IS NOT NULL AS ok`)).rows[0].ok).toBe(true);
  });
});
