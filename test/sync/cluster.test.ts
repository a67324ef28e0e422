// Several control planes on one database (a write through one reaches the data planes of the
// other, and a data plane can move between them without a full snapshot), and the Admin API's
// /clustering endpoints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminApi, type AdminApi } from '../../control-plane/admin/server.js';
import { clusteringRoutes, NOT_CONTROL_PLANE, type SyncServer } from '../../control-plane/sync/index.js';
import { snapshotHash, type Snapshot } from '../../shared/snapshot.js';
import { waitFor } from '../helpers/processes.js';
import { openTestStore, type TestStore } from '../store/store-helpers.js';
import { clusterConfig, quietLog, removePrefixes, startCp, startDp, type StartDpOptions, type TestDp } from './sync-helpers.js';

let store: TestStore;
let cp1: SyncServer;
let cp2: SyncServer;
const dps: TestDp[] = [];
const apis: AdminApi[] = [];

beforeAll(async () => {
  store = await openTestStore('sync_cluster');
  cp1 = await startCp(store.dao);
  cp2 = await startCp(store.openDao().dao);
});
afterAll(async () => {
  for (const d of dps) await d.client.close();
  for (const a of apis) await a.close();
  await cp1?.close();
  await cp2?.close();
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

describe('several control planes on one database', () => {
  it('a write through one control plane reaches the data planes of the other, with the same hash', async () => {
    const on1 = dp(cp1);
    const on2 = dp(cp2);
    await latest(on1);
    await latest(on2);
    const svc = await store.dao.insert('services', { name: 'via-cp1', url: 'http://via.test' });
    await store.dao.insert('routes', { name: 'via-cp1-route', paths: ['/via'], service: { id: svc.id } });
    const [s1, s2] = [await latest(on1), await latest(on2)];
    expect(s2.routes.map((r) => r.name)).toContain('via-cp1-route');
    expect(s1.hash).toBe(s2.hash);
    expect(s2.hash).toBe(snapshotHash(s2));
    expect(on2.client.state().received.snapshots).toBe(1);
    expect(on2.client.state().received.deltas).toBeGreaterThan(0);
  });

  it('a data plane moving from one control plane to the other resumes with deltas', async () => {
    const first = dp(cp1);
    const s1 = await latest(first);
    await first.client.close();
    await store.dao.insert('consumers', { username: 'while-moving' });
    const moved = dp(cp2, { serving: s1, configOverrides: { prefix: first.prefix } });
    const s2 = await latest(moved);
    expect(s2.consumers.map((c) => c.username)).toContain('while-moving');
    expect(moved.client.state().received.snapshots).toBe(0);
  });
});

describe('control plane restarts', () => {
  it('a data plane keeps its config while the control plane is away and resumes with deltas on the same address', async () => {
    const cp = await startCp(store.dao);
    const port = cp.port;
    const d = dp(cp);
    const before = await latest(d);
    await cp.close();
    await waitFor(() => !d.client.state().connected);
    expect(d.current()?.hash).toBe(before.hash);
    await store.dao.insert('consumers', { username: 'while-cp-down' });
    const again = await startCp(store.dao, { listen: { host: '127.0.0.1', port } });
    try {
      const s = await latest(d);
      expect(s.consumers.map((c) => c.username)).toContain('while-cp-down');
      expect(d.client.state()).toMatchObject({ connected: true, lastError: null });
      // the restarted CP had no delta history from before it started: one snapshot
      expect(d.client.state().received.snapshots).toBe(2);
    } finally {
      await again.close();
    }
  });
});

describe('Admin API /clustering endpoints', () => {
  async function admin(sync: SyncServer | null): Promise<string> {
    const api = await startAdminApi({
      config: clusterConfig(),
      dao: store.dao,
      log: quietLog,
      role: sync ? 'control_plane' : 'traditional',
      listen: { host: '127.0.0.1', port: 0 },
      extraRoutes: clusteringRoutes(sync),
    });
    apis.push(api);
    return api.url;
  }

  it('lists the data planes with Kong fields, paginated, and the deprecated status map', async () => {
    const a = dp(cp1, { nodeId: '00000000-0000-4000-8000-00000000000a', labels: { region: 'eu' } });
    const b = dp(cp1, { nodeId: '00000000-0000-4000-8000-00000000000b' });
    const sa = await latest(a);
    await latest(b);
    await waitFor(() => cp1.dataPlanes().filter((r) => r.config_hash === sa.hash).length >= 2);
    const url = await admin(cp1);

    const res = await fetch(`${url}/clustering/data-planes`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Array<Record<string, unknown>>; next: string | null };
    expect(body.next).toBeNull();
    const rowA = body.data.find((r) => r.id === '00000000-0000-4000-8000-00000000000a')!;
    expect(rowA).toMatchObject({
      ip: '127.0.0.1',
      sync_status: 'normal',
      config_hash: sa.hash,
      labels: { region: 'eu' },
      ttl: expect.any(Number),
      last_seen: expect.any(Number),
      updated_at: expect.any(Number),
      hostname: expect.any(String),
      version: expect.any(String),
    });
    expect(rowA.config_hash).toMatch(/^[0-9a-f]{32}$/);
    expect(Math.abs((rowA.last_seen as number) - Date.now() / 1000)).toBeLessThan(60);
    expect(rowA.ttl as number).toBeGreaterThan(13 * 24 * 3600);

    const page1 = (await (await fetch(`${url}/clustering/data-planes?size=1`)).json()) as { data: unknown[]; offset: string; next: string };
    expect(page1.data).toHaveLength(1);
    expect(page1.next).toBe(`/clustering/data-planes?offset=${encodeURIComponent(page1.offset)}&size=1`);
    const page2 = (await (await fetch(`${url}${page1.next}`)).json()) as { data: Array<{ id: string }> };
    expect(page2.data[0]!.id).not.toBe((page1.data[0] as { id: string }).id);

    const bad = await fetch(`${url}/clustering/data-planes?offset=%25%25`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 7, name: 'invalid offset' });

    const status = await fetch(`${url}/clustering/status`);
    expect(status.status).toBe(200);
    expect(status.headers.get('deprecation')).toBe('true');
    const map = (await status.json()) as Record<string, Record<string, unknown>>;
    expect(map['00000000-0000-4000-8000-00000000000a']).toEqual({
      config_hash: sa.hash,
      hostname: rowA.hostname,
      ip: '127.0.0.1',
      last_seen: expect.any(Number),
    });
  });

  it('answers 400 on a node that is not a control plane', async () => {
    const url = await admin(null);
    for (const path of ['/clustering/data-planes', '/clustering/status']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ message: NOT_CONTROL_PLANE });
    }
    expect(NOT_CONTROL_PLANE).toBe('this endpoint is only available when Kong is configured to run as Control Plane for the cluster');
  });
});
