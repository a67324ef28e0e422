// Config sync end to end over real gRPC and a real PostgreSQL store: full snapshot on hello,
// pushed deltas, resume with deltas, hash mismatch, apply errors, disabled services.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotHash, type Snapshot } from '../../shared/snapshot.js';
import type { SyncServer } from '../../control-plane/sync/index.js';
import { waitFor } from '../helpers/processes.js';
import { openTestStore, type TestStore } from '../store/store-helpers.js';
import { removePrefixes, startCp, startDp, type TestDp } from './sync-helpers.js';

let store: TestStore;
let cp: SyncServer;
const dps: TestDp[] = [];

beforeAll(async () => {
  store = await openTestStore('sync');
  cp = await startCp(store.dao);
});
afterAll(async () => {
  for (const d of dps) await d.client.close();
  await cp?.close();
  await store?.close();
  removePrefixes();
});

function dp(opts: Parameters<typeof startDp>[1] = {}): TestDp {
  const d = startDp(cp.port, opts);
  dps.push(d);
  return d;
}

/** The DP's config equals the database's export minus what DPs must not get. */
async function inSync(d: TestDp): Promise<Snapshot> {
  return waitFor(async () => {
    const s = d.current();
    const want = cp.config();
    const version = await store.dao.configVersion();
    return s && s.version === version && want.version === version && s.hash === want.hash ? s : null;
  });
}

describe('config sync', () => {
  it('a new data plane gets the full snapshot on hello and reports it applied', async () => {
    const svc = await store.dao.insert('services', { name: 'first', url: 'http://upstream.test:8080/a' });
    await store.dao.insert('routes', { name: 'first-route', paths: ['/first'], service: { id: svc.id } });
    const d = dp();
    const s = await inSync(d);
    expect(s.services.map((r) => r.name)).toEqual(['first']);
    expect(s.routes[0]).toMatchObject({ name: 'first-route', paths: ['/first'], service: { id: svc.id } });
    expect(s.hash).toBe(snapshotHash(s));
    const exported = await store.dao.exportSnapshot();
    expect(s.hash).toBe(exported.hash);
    const row = await waitFor(() => cp.dataPlanes().find((r) => r.config_hash === s.hash));
    expect(row).toMatchObject({ ip: '127.0.0.1', sync_status: 'normal', connected: true, config_version: s.version });
    expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.client.state()).toMatchObject({ connected: true, lastError: null, version: s.version, hash: s.hash });
  });

  it('each committed change is pushed as a delta and applied', async () => {
    const d = dp();
    await inSync(d);
    const before = d.applied.length;
    const svc = await store.dao.insert('services', { name: 'pushed', url: 'http://pushed.test' });
    let s = await inSync(d);
    expect(s.services.find((r) => r.id === svc.id)).toMatchObject({ name: 'pushed', host: 'pushed.test' });
    await store.dao.update('services', svc.id, { port: 8443 });
    s = await inSync(d);
    expect(s.services.find((r) => r.id === svc.id)?.port).toBe(8443);
    await store.dao.delete('services', svc.id);
    s = await inSync(d);
    expect(s.services.find((r) => r.id === svc.id)).toBeUndefined();
    expect(d.applied.length).toBeGreaterThan(before);
    expect(s.hash).toBe((await store.dao.exportSnapshot()).hash);
  });

  it('services with enabled=false are left out with their routes and plugins, and come back when enabled', async () => {
    const d = dp();
    const svc = await store.dao.insert('services', { name: 'toggled', url: 'http://toggled.test' });
    const route = await store.dao.insert('routes', { name: 'toggled-route', paths: ['/toggled'], service: { id: svc.id } });
    await store.dao.insert('plugins', { name: 'cors', route: { id: route.id } });
    await store.dao.insert('plugins', { name: 'correlation-id', service: { id: svc.id } });
    let s = await inSync(d);
    expect(s.routes.some((r) => r.id === route.id)).toBe(true);
    expect(s.plugins.filter((p) => p.route?.id === route.id || p.service?.id === svc.id)).toHaveLength(2);

    await store.dao.update('services', svc.id, { enabled: false });
    s = await inSync(d);
    expect(s.services.some((r) => r.id === svc.id)).toBe(false);
    expect(s.routes.some((r) => r.id === route.id)).toBe(false);
    expect(s.plugins.filter((p) => p.route?.id === route.id || p.service?.id === svc.id)).toHaveLength(0);
    expect(s.hash).toBe(snapshotHash(s));

    // a new DP gets the same filtered snapshot
    const fresh = dp();
    expect((await inSync(fresh)).hash).toBe(s.hash);

    await store.dao.update('services', svc.id, { enabled: true });
    s = await inSync(d);
    expect(s.routes.some((r) => r.id === route.id)).toBe(true);
    expect(s.plugins.filter((p) => p.route?.id === route.id || p.service?.id === svc.id)).toHaveLength(2);
    expect(s.hash).toBe((await store.dao.exportSnapshot()).hash);
  });

  it('a data plane that reconnects with a recent version gets only the deltas it missed', async () => {
    const d1 = dp();
    const s1 = await inSync(d1);
    await d1.client.close();
    const svc = await store.dao.insert('services', { name: 'while-away', url: 'http://away.test' });
    await store.dao.insert('routes', { name: 'while-away-route', paths: ['/away'], service: { id: svc.id } });

    // same prefix: the client takes deltas onto the cached config the node is serving
    const d2 = dp({ serving: s1, configOverrides: { prefix: d1.prefix } });
    const s2 = await inSync(d2);
    expect(s2.routes.some((r) => r.name === 'while-away-route')).toBe(true);
    expect(d2.client.state().received).toEqual({ snapshots: 0, deltas: expect.any(Number) });
    expect(d2.client.state().received.deltas).toBeGreaterThan(0);
    expect(s2.hash).toBe(snapshotHash(s2));
  });

  it('a data plane whose hash does not match what the control plane had at that version gets a full snapshot', async () => {
    const d1 = dp();
    const s1 = await inSync(d1);
    await d1.client.close();
    const tampered = structuredClone(s1) as Snapshot;
    tampered.services[0]!.name = 'tampered';
    tampered.hash = snapshotHash(tampered);
    const d2 = dp({ serving: tampered, initial: tampered });
    const s2 = await inSync(d2);
    expect(d2.client.state().received).toEqual({ snapshots: 1, deltas: 0 });
    expect(s2.services.some((r) => r.name === 'tampered')).toBe(false);
    expect(s2.hash).toBe(s1.hash);
  });

  it('an apply error is reported, the old config kept, and the next change applies onto the received config', async () => {
    const d = dp();
    const s0 = await inSync(d);
    d.failWith('route conflicts with itself');
    const a = await store.dao.insert('services', { name: 'rejected-by-dp', url: 'http://a.test' });
    const row = await waitFor(() => cp.dataPlanes().find((r) => r.last_error === 'route conflicts with itself'));
    expect(row.config_hash).toBe(s0.hash);
    expect(d.current()?.hash).toBe(s0.hash);
    expect(d.client.state()).toMatchObject({ lastError: 'apply failed: route conflicts with itself', hash: s0.hash });

    d.failWith(null);
    const b = await store.dao.insert('services', { name: 'accepted-by-dp', url: 'http://b.test' });
    const s = await inSync(d);
    expect(s.services.map((r) => r.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    await waitFor(() => cp.dataPlanes().find((r) => r.config_hash === s.hash && r.last_error === null));
    expect(d.client.state().lastError).toBeNull();
  });

  it('a burst of writes reaches the data plane and ends in the same state as the database', async () => {
    const d = dp();
    await inSync(d);
    const svc = await store.dao.insert('services', { name: 'burst', url: 'http://burst.test' });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => store.dao.insert('routes', { name: `burst-${i}`, paths: [`/burst/${i}`], service: { id: svc.id } })),
    );
    await store.dao.delete('routes', 'burst-7');
    const s = await inSync(d);
    expect(s.routes.filter((r) => r.name?.startsWith('burst-'))).toHaveLength(29);
    expect(s.hash).toBe((await store.dao.exportSnapshot()).hash);
  });
});
