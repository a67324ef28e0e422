// Two control plane processes on one PostgreSQL database with data planes spread across them:
// a write through either control plane reaches every data plane, and either CP lists every DP.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createClusterCerts, waitFor, type ClusterCerts, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { admin, call, dpStatus, startControlPlane, startDataPlane, waitServed } from './cluster-helpers.js';

let db: TestDatabase;
let certs: ClusterCerts;
let up: Upstream;
let cps: SilverbackProcess[] = [];
let dps: SilverbackProcess[] = [];

beforeAll(async () => {
  [db, up] = await Promise.all([createTestDatabase('cluster_multi_cp'), startUpstream()]);
  certs = createClusterCerts();
  // the second CP starts after the first has run the migrations
  cps.push(await startControlPlane(db, certs));
  cps.push(await startControlPlane(db, certs));
  // DP i connects to CP i % 2
  dps = await Promise.all([0, 1, 2, 3].map((i) => startDataPlane(cps[i % 2]!.clusterAddr, certs)));
});

afterAll(async () => {
  await Promise.all(dps.map((d) => d.stop()));
  await Promise.all(cps.map((c) => c.stop()));
  await up?.close();
  await db?.drop();
});

const nodeId = (dp: SilverbackProcess) => readFileSync(`${dp.prefix}/node_id`, 'utf8').trim();

describe('two control planes on one database', () => {
  it('a write through the first control plane reaches the data planes of both', async () => {
    await admin(cps[0]!, 'POST', '/services', { name: 'a', url: `${up.url}/from-a` });
    await admin(cps[0]!, 'POST', '/services/a/routes', { name: 'ra', paths: ['/a'] });
    for (const dp of dps) expect((await waitServed(dp, '/a/1', (r) => r.status === 200)).json().path).toBe('/from-a/1');
  });

  it('a write through the second control plane reaches the data planes of both', async () => {
    await admin(cps[1]!, 'POST', '/services', { name: 'b', url: `${up.url}/from-b` });
    await admin(cps[1]!, 'POST', '/services/b/routes', { name: 'rb', paths: ['/b'] });
    await admin(cps[1]!, 'PATCH', '/services/a', { url: `${up.url}/from-a-v2` });
    for (const dp of dps) {
      expect((await waitServed(dp, '/b/2', (r) => r.status === 200)).json().path).toBe('/from-b/2');
      await waitServed(dp, '/a/3', (r) => r.status === 200 && r.json().path === '/from-a-v2/3');
    }
  });

  it('alternating writes on both control planes end on the same config everywhere', async () => {
    for (let i = 0; i < 6; i++) {
      await admin(cps[i % 2]!, 'PATCH', '/routes/rb', { paths: [`/b${i}`] });
    }
    await admin(cps[0]!, 'DELETE', '/routes/ra');
    for (const dp of dps) {
      await waitServed(dp, '/b5/x', (r) => r.status === 200);
      await waitServed(dp, '/a/x', (r) => r.status === 404);
      expect((await call(`${dp.proxyUrl}/b4/x`)).status).toBe(404);
    }
    const hashes = await waitFor(async () => {
      const all = await Promise.all(dps.map(async (d) => (await dpStatus(d)).configuration_hash));
      return new Set(all).size === 1 ? all : null;
    });
    expect(hashes[0]).toMatch(/^[0-9a-f]{32}$/);
  });

  it('either control plane lists all four data planes, as Kong does (clustering_data_planes)', async () => {
    const final = (await dpStatus(dps[0]!)).configuration_hash;
    const all = dps.map(nodeId).sort();
    for (const cp of cps) {
      const rows = await waitFor(async () => {
        const data = (await admin(cp, 'GET', '/clustering/data-planes')).data as any[];
        return data.length === 4 && data.every((r) => r.config_hash === final) ? data : null;
      });
      expect(rows.map((r) => r.id).sort()).toEqual(all);
      for (const r of rows) expect(r.sync_status).toBe('normal');
    }
  });
});
