// One control plane and three data planes as real processes (PostgreSQL, gRPC over shared-mode
// mTLS, real upstreams): Admin API writes reach every data plane, the control plane lists the
// data planes with Kong's fields, and a data plane is ready only once it has a config.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createClusterCerts, startSilverback, waitFor, type ClusterCerts, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { admin, call, dpStatus, readyStatus, startControlPlane, startDataPlane, waitServed } from './cluster-helpers.js';

let db: TestDatabase;
let certs: ClusterCerts;
let cp: SilverbackProcess;
let dps: SilverbackProcess[] = [];
let up1: Upstream;
let up2: Upstream;

beforeAll(async () => {
  [db, up1, up2] = await Promise.all([createTestDatabase('cluster_e2e'), startUpstream(), startUpstream()]);
  certs = createClusterCerts();
  cp = await startControlPlane(db, certs);
  dps = await Promise.all([0, 1, 2].map(() => startDataPlane(cp.clusterAddr, certs)));
});

afterAll(async () => {
  await Promise.all(dps.map((d) => d.stop()));
  await cp?.stop();
  await Promise.all([up1?.close(), up2?.close()]);
  await db?.drop();
});

describe('one control plane, three data planes', () => {
  it('a service and route created on the control plane are served by every data plane', async () => {
    await admin(cp, 'POST', '/services', { name: 'echo', url: `${up1.url}/one` });
    await admin(cp, 'POST', '/services/echo/routes', { name: 'echo-route', paths: ['/echo'] });
    for (const dp of dps) {
      const a = await waitServed(dp, '/echo/x?q=1', (r) => r.status === 200);
      expect(a.json().path).toBe('/one/x');
      expect(a.json().query).toBe('q=1');
      expect(a.headers['x-upstream']).toBe('echo');
    }
  });

  it('an update of the route path and of the service upstream reaches every data plane', async () => {
    const before = up2.requests;
    await admin(cp, 'PATCH', '/routes/echo-route', { paths: ['/moved'] });
    await admin(cp, 'PATCH', '/services/echo', { url: `${up2.url}/two` });
    for (const dp of dps) {
      const a = await waitServed(dp, '/moved/y', (r) => r.status === 200 && r.json().path === '/two/y');
      expect(a.status).toBe(200);
      const old = await call(`${dp.proxyUrl}/echo/x`);
      expect(old.status).toBe(404);
      expect(old.json().message).toBe('no Route matched with those values');
    }
    expect(up2.requests - before).toBeGreaterThanOrEqual(3);
  });

  it('a deleted route answers 404 on every data plane', async () => {
    await admin(cp, 'DELETE', '/routes/echo-route');
    for (const dp of dps) {
      const a = await waitServed(dp, '/moved/y', (r) => r.status === 404);
      expect(a.json().message).toBe('no Route matched with those values');
    }
  });

  it('GET /clustering/data-planes lists the three data planes with Kong fields and their config hashes', async () => {
    const statuses = await Promise.all(dps.map((d) => dpStatus(d)));
    const nodeIds = dps.map((d) => readFileSync(`${d.prefix}/node_id`, 'utf8').trim());
    // every DP reports the hash it serves; wait until the CP has heard it from all of them
    const rows = await waitFor(async () => {
      const body = await admin(cp, 'GET', '/clustering/data-planes');
      const data = body.data as any[];
      const hashes = new Set(statuses.map((s) => s.configuration_hash));
      return data.length === 3 && data.every((r) => hashes.has(r.config_hash)) ? data : null;
    });
    expect(new Set(statuses.map((s) => s.configuration_hash)).size).toBe(1);
    expect(rows.map((r) => r.id).sort()).toEqual([...nodeIds].sort());
    const now = Date.now() / 1000;
    for (const r of rows) {
      const i = nodeIds.indexOf(r.id);
      expect(r).toMatchObject({
        ip: '127.0.0.1',
        sync_status: 'normal',
        config_hash: statuses[i]!.configuration_hash,
        labels: {},
      });
      expect(r.config_hash).toMatch(/^[0-9a-f]{32}$/);
      expect(typeof r.hostname).toBe('string');
      expect(r.hostname.length).toBeGreaterThan(0);
      expect(r.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(Math.abs(r.last_seen - now)).toBeLessThan(120);
      expect(r.ttl).toBeGreaterThan(13 * 24 * 3600);
      expect(r.ttl).toBeLessThanOrEqual(14 * 24 * 3600);
    }
    const info = await admin(cp, 'GET', '/');
    expect(rows[0].version).toBe(info.silverback_version);
  });

  it('the endpoint answers 400 on a node that is not a control plane', async () => {
    const tdb = await createTestDatabase('cluster_trad');
    const trad = await startSilverback({ database: tdb, env: { SILVERBACK_CLUSTER_LISTEN: 'off' } });
    try {
      for (const path of ['/clustering/data-planes', '/clustering/status']) {
        const a = await call(`${trad.adminUrl}${path}`);
        expect(a.status).toBe(400);
        expect(a.json()).toEqual({ message: 'this endpoint is only available when Kong is configured to run as Control Plane for the cluster' });
      }
      // without a cluster listener the node still serves: its data plane follows it over the internal link
      await admin(trad, 'POST', '/services', { name: 'solo', url: up1.url });
      await admin(trad, 'POST', '/services/solo/routes', { paths: ['/solo'] });
      await waitServed(trad, '/solo/x', (r) => r.status === 200);
      expect(trad.exited()).toBe(false);
    } finally {
      await trad.stop();
      await tdb.drop();
    }
  });

  it('a new data plane answers /status/ready 503 until its first config, then 200', async () => {
    // a DP pointed at the CP through a gate we open later: before that it has no config
    const { createServer, connect } = await import('node:net');
    let open = false;
    const [cpHost, cpPort] = cp.clusterAddr.split(':');
    const sockets = new Set<import('node:net').Socket>();
    const gate = createServer((client) => {
      sockets.add(client);
      if (!open) return void client.destroy();
      const upstream = connect(Number(cpPort), cpHost);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    const gatePort = (gate.address() as import('node:net').AddressInfo).port;
    const dp = await startDataPlane(`127.0.0.1:${gatePort}`, certs);
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await readyStatus(dp)).toBe(503);
      const before = await call(`${dp.statusUrl}/status/ready`);
      expect(before.json().message).toMatch(/no configuration/);
      const r404 = await call(`${dp.proxyUrl}/anything`);
      expect(r404.status).toBe(404);
      expect(r404.json().message).toBe('no Route matched with those values');
      open = true;
      await waitFor(async () => (await readyStatus(dp)) === 200, 15_000);
      expect((await dpStatus(dp)).configuration_hash).toBe((await dpStatus(dps[0]!)).configuration_hash);
    } finally {
      await dp.stop();
      for (const s of sockets) s.destroy();
      await new Promise((r) => gate.close(r));
    }
  });
});
