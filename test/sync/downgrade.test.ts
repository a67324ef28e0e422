// Kong's payload downgrade (compat/removed_fields.lua): a data plane older than the control plane
// gets its config without the fields added after its version, with the hash of what it gets, so it
// verifies and applies it; data planes lacking the same fields share one built payload; data planes
// at the control plane's version (or a newer patch) get every field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotHash, type Row, type Snapshot } from '../../shared/snapshot.js';
import type { SyncServer } from '../../control-plane/sync/index.js';
import { checkVersion } from '../../control-plane/sync/compat.js';
import { stripPlanFor, stripRow } from '../../control-plane/sync/downgrade.js';
import { parseRemovedFields, type RemovedFieldsTable } from '../../control-plane/sync/removed-fields.js';
import { waitFor } from '../helpers/processes.js';
import { openTestStore, type TestStore } from '../store/store-helpers.js';
import { removePrefixes, startCp, startDp, type StartDpOptions, type TestDp } from './sync-helpers.js';

const REMOVED: RemovedFieldsTable = {
  '0.1.0': { routes: ['request_buffering'], 'plugins:jwt': ['config.realm'] },
};

let store: TestStore;
let cp: SyncServer;
const dps: TestDp[] = [];

beforeAll(async () => {
  store = await openTestStore('sync_downgrade');
  cp = await startCp(store.dao, { version: '0.1.0', removedFields: REMOVED });
});
afterAll(async () => {
  for (const d of dps) await d.client.close();
  await cp?.close();
  await store?.close();
  removePrefixes();
});

function dp(opts: StartDpOptions): TestDp {
  const d = startDp(cp.port, opts);
  dps.push(d);
  return d;
}

/** The DP has applied the control plane's current version. */
async function atCurrent(d: TestDp): Promise<Snapshot> {
  return waitFor(async () => {
    const version = await store.dao.configVersion();
    const s = d.current();
    return cp.config().version === version && s?.version === version ? s : null;
  });
}

const byId = (rows: Row[], id: string) => rows.find((r) => r.id === id)!;

describe('payload downgrade for older data planes', () => {
  let jwtId = '';
  let corsId = '';
  let routeId = '';
  let serviceId = '';

  it('an older data plane gets snapshots without the newer fields, verifies their hash and applies them', async () => {
    const svc = await store.dao.insert('services', { name: 'down', url: 'http://down.test' });
    serviceId = svc.id;
    const route = await store.dao.insert('routes', { name: 'down-route', paths: ['/down'], service: { id: svc.id } });
    routeId = route.id;
    jwtId = (await store.dao.insert('plugins', { name: 'jwt', route: { id: route.id }, config: { realm: 'silverback' } })).id;
    corsId = (await store.dao.insert('plugins', { name: 'cors', service: { id: svc.id } })).id;

    const version = await store.dao.configVersion();
    await waitFor(() => cp.config().version === version);
    const old1 = dp({ version: '0.0.9', nodeId: 'old-1' });
    const old2 = dp({ version: '0.0.9', nodeId: 'old-2' });
    const current = dp({ version: '0.1.0', nodeId: 'current' });
    const [o1, o2, c] = await Promise.all([atCurrent(old1), atCurrent(old2), atCurrent(current)]);

    // the current data plane gets everything, with the control plane's hash
    expect(byId(c.routes, routeId).request_buffering).toBe(true);
    expect(byId(c.plugins, jwtId).config.realm).toBe('silverback');
    expect(c.hash).toBe(cp.config().hash);

    for (const s of [o1, o2]) {
      const r = byId(s.routes, routeId);
      expect(r).not.toHaveProperty('request_buffering');
      expect(r).toMatchObject({ name: 'down-route', paths: ['/down'], service: { id: serviceId } });
      const jwt = byId(s.plugins, jwtId);
      expect(jwt.config).not.toHaveProperty('realm');
      expect(jwt.config).toMatchObject({ key_claim_name: 'iss', uri_param_names: ['jwt'] });
      // other plugins and entities are untouched
      expect(byId(s.plugins, corsId)).toEqual(byId(c.plugins, corsId));
      expect(byId(s.services, serviceId)).toEqual(byId(c.services, serviceId));
      expect(s.hash).toBe(snapshotHash(s));
      expect(s.hash).not.toBe(c.hash);
    }
    expect(o1.hash).toBe(o2.hash);

    for (const d of [old1, old2]) expect(d.client.state()).toMatchObject({ syncStatus: 'normal', lastError: null, hash: o1.hash });
    const rows = await waitFor(() => {
      const list = Object.fromEntries(cp.dataPlanes().map((r) => [r.id, r]));
      return list['old-1']?.config_hash === o1.hash && list['old-2']?.config_hash === o1.hash && list.current?.config_hash === c.hash ? list : null;
    });
    expect(rows['old-1']).toMatchObject({ sync_status: 'normal', version: '0.0.9', last_error: null });
    expect(rows['old-2']).toMatchObject({ sync_status: 'normal', version: '0.0.9', last_error: null });
    expect(rows.current).toMatchObject({ sync_status: 'normal', version: '0.1.0' });

    // one downgraded snapshot built for both older data planes
    expect(cp.downgrades()).toEqual([{ key: '0.1.0', data_planes: 2, snapshot_builds: 1, delta_builds: 0 }]);
  });

  it('deltas to older data planes leave the newer fields out of upserted rows; one build per change for all of them', async () => {
    const [old1, old2, current] = dps as [TestDp, TestDp, TestDp];
    await store.dao.update('routes', routeId, { paths: ['/down', '/down2'], request_buffering: false });
    await store.dao.update('plugins', jwtId, { config: { realm: 'changed', key_claim_name: 'kid' } });
    const route2 = await store.dao.insert('routes', { name: 'down-route-2', paths: ['/two'], service: { id: serviceId } });
    const [o1, o2, c] = await Promise.all([atCurrent(old1), atCurrent(old2), atCurrent(current)]);

    expect(byId(c.routes, routeId).request_buffering).toBe(false);
    expect(byId(c.plugins, jwtId).config).toMatchObject({ realm: 'changed', key_claim_name: 'kid' });
    expect(c.hash).toBe(cp.config().hash);
    for (const s of [o1, o2]) {
      expect(byId(s.routes, routeId)).toMatchObject({ paths: ['/down', '/down2'] });
      expect(byId(s.routes, routeId)).not.toHaveProperty('request_buffering');
      expect(byId(s.routes, route2.id)).not.toHaveProperty('request_buffering');
      expect(byId(s.plugins, jwtId).config).toMatchObject({ key_claim_name: 'kid' });
      expect(byId(s.plugins, jwtId).config).not.toHaveProperty('realm');
      expect(s.hash).toBe(snapshotHash(s));
    }
    expect(o1.hash).toBe(o2.hash);

    // they came as deltas (no second snapshot), applied and reported
    const received = old1.client.state().received;
    expect(received.snapshots).toBe(1);
    expect(received.deltas).toBeGreaterThan(0);
    expect(old2.client.state().received).toEqual(received);
    expect(old1.client.state()).toMatchObject({ syncStatus: 'normal', lastError: null, hash: o1.hash });
    await waitFor(() => cp.dataPlanes().filter((r) => r.id.startsWith('old-') && r.config_hash === o1.hash && r.sync_status === 'normal').length === 2);

    expect(cp.downgrades()).toEqual([{ key: '0.1.0', data_planes: 2, snapshot_builds: 1, delta_builds: received.deltas }]);
  });

  it('data planes of another older version lacking the same fields share the copy; a newer patch gets every field', async () => {
    const older = dp({ version: '0.0.8', nodeId: 'older' });
    const patch = dp({ version: '0.1.1', nodeId: 'patch' });
    const suffix = dp({ version: '0.1.0-rc.1', nodeId: 'suffix' });
    const [o, p, x] = await Promise.all([atCurrent(older), atCurrent(patch), atCurrent(suffix)]);
    expect(byId(o.routes, routeId)).not.toHaveProperty('request_buffering');
    expect(o.hash).toBe(dps[0]!.current()!.hash);
    for (const s of [p, x]) {
      expect(byId(s.routes, routeId).request_buffering).toBe(false);
      expect(s.hash).toBe(cp.config().hash);
    }
    for (const d of [patch, suffix]) expect(d.client.state()).toMatchObject({ syncStatus: 'normal', lastError: null });
    // one copy for the three; a second snapshot was built, for the new config version
    const stats = cp.downgrades();
    expect(stats).toHaveLength(1);
    expect(stats[0]).toMatchObject({ key: '0.1.0', data_planes: 3, snapshot_builds: 2 });
  });

  it('an older data plane that reconnects from its cache gets the downgraded deltas it missed', async () => {
    const old2 = dps[1]!;
    const served = old2.current()!;
    await old2.client.idle();
    await old2.client.close();
    const svc = await store.dao.insert('services', { name: 'missed', url: 'http://missed.test' });
    const route = await store.dao.insert('routes', { name: 'missed-route', paths: ['/missed'], service: { id: svc.id } });
    await waitFor(async () => cp.config().version === (await store.dao.configVersion()));
    const back = dp({ version: '0.0.9', nodeId: 'old-2', serving: served, configOverrides: { prefix: old2.prefix } });
    const s = await atCurrent(back);
    expect(back.client.state().received).toEqual({ snapshots: 0, deltas: expect.any(Number) });
    expect(back.client.state().received.deltas).toBeGreaterThan(0);
    expect(byId(s.routes, route.id)).toMatchObject({ name: 'missed-route' });
    expect(byId(s.routes, route.id)).not.toHaveProperty('request_buffering');
    expect(s.hash).toBe(snapshotHash(s));
    expect(s.hash).toBe(dps[0]!.current()!.hash);
    expect(back.client.state()).toMatchObject({ syncStatus: 'normal', lastError: null });
  });

  it('the downgraded copy goes away with its last data plane', async () => {
    // old-1, older and old-2 (back from its cache)
    for (const d of [dps[0]!, dps[3]!, dps[6]!]) await d.client.close();
    await waitFor(() => cp.downgrades().length === 0);
    // another one comes back: a copy is built again at the current version
    const again = dp({ version: '0.0.9', nodeId: 'again' });
    const s = await atCurrent(again);
    expect(byId(s.routes, routeId)).not.toHaveProperty('request_buffering');
    expect(s.hash).toBe(snapshotHash(s));
    expect(cp.downgrades()).toEqual([{ key: '0.1.0', data_planes: 1, snapshot_builds: 1, delta_builds: 0 }]);
  });
});

describe('removed fields table and row stripping', () => {
  const table: RemovedFieldsTable = {
    '0.3.0': { 'plugins:request-transformer': ['config.add.headers'], plugins: ['instance_name'] },
    '0.2.0': { routes: ['request_buffering', 'response_buffering'] },
  };
  const entries = parseRemovedFields(table);

  it('takes every entry newer than the data plane, only when it is older than the control plane', () => {
    expect(stripPlanFor(entries, '0.3.0', '0.3.0')).toBeNull();
    expect(stripPlanFor(entries, '0.3.0', '0.3.2')).toBeNull();
    expect(stripPlanFor(entries, '0.3.1', '0.3.0')).toBeNull(); // older patch, but nothing added since
    expect(stripPlanFor(entries, '0.3.0', '0.2.5')?.key).toBe('0.3.0');
    const all = stripPlanFor(entries, '0.3.0', '0.1.9')!;
    expect(all.key).toBe('0.2.0');
    expect([...all.plan.entities.keys()].sort()).toEqual(['plugins', 'routes']);
    expect([...all.plan.plugins.keys()]).toEqual(['request-transformer']);
  });

  it('removes paths through records and arrays without touching the shared row', () => {
    const { plan } = stripPlanFor(entries, '0.3.0', '0.1.0')!;
    const row = {
      id: 'p1',
      name: 'request-transformer',
      instance_name: 'x',
      config: { add: { headers: ['a:b'], body: [] }, remove: { headers: [] } },
    };
    const copy = structuredClone(row);
    const out = stripRow(plan, 'plugins', row);
    expect(out).toEqual({ id: 'p1', name: 'request-transformer', config: { add: { body: [] }, remove: { headers: [] } } });
    expect(row).toEqual(copy);
    expect(out.config.remove).toBe(row.config.remove);
    // a row with none of the fields is returned as is
    const cors = { id: 'p2', name: 'cors', config: { origins: ['*'] } };
    expect(stripRow(plan, 'plugins', cors)).toBe(cors);
    const arrays = stripRow({ entities: new Map([['services', [['tags', 'x']]]]), plugins: new Map() }, 'services', {
      id: 's',
      tags: [{ x: 1, y: 2 }, 'plain'],
    });
    expect(arrays).toEqual({ id: 's', tags: [{ y: 2 }, 'plain'] });
  });

  it('allows any patch or suffix difference, as Kong', () => {
    for (const dp of ['0.1.1', '0.1.9-beta', '0.1.0-rc.1', '0.1.0', '0.0.9']) expect(checkVersion('0.1.0', dp).status).toBe('normal');
    expect(checkVersion('0.1.0', '0.2.0').status).toBe('kong_version_incompatible');
  });

  it('refuses a malformed table', () => {
    expect(() => parseRemovedFields({ 'next': { routes: ['a'] } })).toThrow('"next" is not a version');
    expect(() => parseRemovedFields({ '1.0.0': { widgets: ['a'] } })).toThrow('"widgets" is neither a snapshot entity nor plugins:<name>');
    expect(() => parseRemovedFields({ '1.0.0': { routes: ['a..b'] } })).toThrow('"a..b" of "routes" is not a field path');
  });
});
