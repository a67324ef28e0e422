// A data plane that cannot take the control plane's config keeps serving the one it has, and the
// control plane says why in /clustering/data-planes. Through the Admin API the realistic trigger
// is a plugin the data plane does not run (its `plugins` setting): Kong's plugin_set_incompatible.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pluginSchemas } from '../../shared/plugins/registry.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createClusterCerts, waitFor, type ClusterCerts, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { admin, call, dpStatus, logsWith, startControlPlane, startDataPlane, waitServed } from './cluster-helpers.js';

let db: TestDatabase;
let certs: ClusterCerts;
let up: Upstream;
let cp: SilverbackProcess;
let full: SilverbackProcess;
let limited: SilverbackProcess;

const ORIGIN = 'http://app.example.test';
const withoutCors = [...pluginSchemas.keys()].filter((n) => n !== 'cors').join(',');

beforeAll(async () => {
  [db, up] = await Promise.all([createTestDatabase('cluster_apply'), startUpstream()]);
  certs = createClusterCerts();
  cp = await startControlPlane(db, certs);
  [full, limited] = await Promise.all([
    startDataPlane(cp.clusterAddr, certs),
    startDataPlane(cp.clusterAddr, certs, { env: { SILVERBACK_PLUGINS: withoutCors } }),
  ]);
});

afterAll(async () => {
  await Promise.all([full?.stop(), limited?.stop()]);
  await cp?.stop();
  await up?.close();
  await db?.drop();
});

const idOf = (dp: SilverbackProcess) => readFileSync(`${dp.prefix}/node_id`, 'utf8').trim();

async function rowOf(dp: SilverbackProcess): Promise<any> {
  const rows = (await admin(cp, 'GET', '/clustering/data-planes')).data as any[];
  return rows.find((r) => r.id === idOf(dp));
}

describe('a data plane without a configured plugin', () => {
  let servedHash: string;

  it('gets the configs that do not use the plugin', async () => {
    await admin(cp, 'POST', '/services', { name: 'app', url: up.url });
    await admin(cp, 'POST', '/services/app/routes', { name: 'app', paths: ['/app'] });
    for (const dp of [full, limited]) await waitServed(dp, '/app/x', (a) => a.status === 200);
    await waitFor(async () => (await rowOf(limited))?.sync_status === 'normal');
    servedHash = (await dpStatus(limited)).configuration_hash;
  });

  it('keeps serving its config when the control plane configures the plugin, and the control plane says why', async () => {
    await admin(cp, 'POST', '/routes/app/plugins', { name: 'cors', config: { origins: [ORIGIN] } });
    const cors = await waitServed(full, '/app/x', (a) => a.headers['access-control-allow-origin'] === ORIGIN, 10_000);
    expect(cors.status).toBe(200);

    const row = await waitFor(async () => {
      const r = await rowOf(limited);
      return r?.sync_status === 'plugin_set_incompatible' ? r : null;
    });
    expect(row.config_hash).toBe(servedHash);
    expect((await rowOf(full)).sync_status).toBe('normal');

    const a = await call(`${limited.proxyUrl}/app/x`, { headers: { origin: ORIGIN } });
    expect(a.status).toBe(200);
    expect(a.headers['access-control-allow-origin']).toBeUndefined();
    const s = await dpStatus(limited);
    expect(s.configuration_hash).toBe(servedHash);
    expect(s.ready).toBe(true);
    expect(s.control_plane?.lastError).toBe('plugin_set_incompatible: plugin "cors" is configured but missing from the data plane');
    const line = logsWith(limited, 'the control plane does not configure this data plane')[0]!;
    expect(line).toMatchObject({ sync_status: 'plugin_set_incompatible', reason: 'plugin "cors" is configured but missing from the data plane' });
    expect(limited.exited()).toBe(false);
  });

  it('gets no further updates while the plugin is configured', async () => {
    await admin(cp, 'POST', '/services/app/routes', { name: 'more', paths: ['/more'] });
    await waitServed(full, '/more/y', (a) => a.status === 200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await call(`${limited.proxyUrl}/more/y`)).status).toBe(404);
    expect((await dpStatus(limited)).configuration_hash).toBe(servedHash);
  });

  it('catches up as soon as the plugin is removed', async () => {
    const plugins = (await admin(cp, 'GET', '/plugins')).data as any[];
    await admin(cp, 'DELETE', `/plugins/${plugins.find((p) => p.name === 'cors').id}`);
    await waitServed(limited, '/more/y', (a) => a.status === 200);
    const [sf, sl] = await Promise.all([dpStatus(full), dpStatus(limited)]);
    await waitFor(async () => (await dpStatus(full)).configuration_hash === (await dpStatus(limited)).configuration_hash);
    expect(sl.control_plane?.lastError ?? null).toBeNull();
    const row = await waitFor(async () => {
      const r = await rowOf(limited);
      return r?.sync_status === 'normal' && r.config_hash === sf.configuration_hash ? r : null;
    });
    expect(row.config_hash).not.toBe(servedHash);
  });
});
