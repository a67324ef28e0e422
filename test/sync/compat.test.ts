// Kong's compatibility rules: a data plane with another major version or a newer minor version is
// rejected (kong_version_incompatible); a plugin configured on the control plane that the data
// plane lacks (plugin_set_incompatible) or has in an incompatible version
// (plugin_version_incompatible) means that data plane gets no config until it is compatible again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncServer } from '../../control-plane/sync/index.js';
import { waitFor } from '../helpers/processes.js';
import { openTestStore, type TestStore } from '../store/store-helpers.js';
import { ALL_PLUGINS, removePrefixes, startCp, startDp, type StartDpOptions, type TestDp } from './sync-helpers.js';

let store: TestStore;
let cp: SyncServer;
const dps: TestDp[] = [];

beforeAll(async () => {
  store = await openTestStore('sync_compat');
  cp = await startCp(store.dao, { version: '3.9.0' });
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


describe('version and plugin compatibility', () => {
  it('rejects a data plane with another major version or a newer minor version, accepts older minors and patches', async () => {
    const major = dp({ version: '4.0.0', nodeId: 'major' });
    const minor = dp({ version: '3.10.0', nodeId: 'minor' });
    const older = dp({ version: '3.8.2', nodeId: 'older' });
    await waitFor(() => older.current());
    await waitFor(() => major.client.state().syncStatus === 'kong_version_incompatible' && minor.client.state().syncStatus === 'kong_version_incompatible');
    expect(major.client.state().lastError).toBe(
      'kong_version_incompatible: data plane major version 4 is different from control plane major version 3',
    );
    expect(minor.client.state().lastError).toBe(
      'kong_version_incompatible: data plane minor version 10 is higher than control plane minor version 9',
    );
    expect(major.applied).toHaveLength(0);
    expect(minor.applied).toHaveLength(0);
    const byId = Object.fromEntries(cp.dataPlanes().map((r) => [r.id, r]));
    expect(byId.major).toMatchObject({ sync_status: 'kong_version_incompatible', version: '4.0.0' });
    expect(byId.minor).toMatchObject({ sync_status: 'kong_version_incompatible', version: '3.10.0' });
    expect(byId.older).toMatchObject({ sync_status: 'normal', version: '3.8.2' });
  });

  it('a configured plugin missing on the data plane or in an incompatible version keeps that data plane unconfigured', async () => {
    const svc = await store.dao.insert('services', { name: 'with-cors', url: 'http://cors.test' });
    const plugin = await store.dao.insert('plugins', { name: 'cors', service: { id: svc.id } });
    const version = await store.dao.configVersion();
    await waitFor(() => cp.config().version === version);
    const withoutCors = ALL_PLUGINS.filter((p) => p.name !== 'cors');
    const missing = dp({ version: '3.9.0', nodeId: 'no-cors', plugins: withoutCors });
    const tooNew = dp({ version: '3.9.0', nodeId: 'cors-4', plugins: [...withoutCors, { name: 'cors', version: '4.0.0' }] });
    const fine = dp({ version: '3.9.0', nodeId: 'fine' });
    const s = await waitFor(() => fine.current()?.plugins.length && fine.current());
    expect(s.plugins[0]).toMatchObject({ id: plugin.id, name: 'cors' });

    await waitFor(() => missing.client.state().syncStatus === 'plugin_set_incompatible');
    await waitFor(() => tooNew.client.state().syncStatus === 'plugin_version_incompatible');
    expect(missing.client.state().lastError).toBe('plugin_set_incompatible: plugin "cors" is configured but missing from the data plane');
    expect(tooNew.client.state().lastError).toBe(
      'plugin_version_incompatible: plugin "cors" major version 4 on the data plane is different from 3 on the control plane',
    );
    expect(missing.applied).toHaveLength(0);
    expect(tooNew.applied).toHaveLength(0);
    const byId = Object.fromEntries(cp.dataPlanes().map((r) => [r.id, r]));
    expect(byId['no-cors']?.sync_status).toBe('plugin_set_incompatible');
    expect(byId['cors-4']?.sync_status).toBe('plugin_version_incompatible');
    expect(byId.fine?.sync_status).toBe('normal');
    // the stream stays open: once the config no longer uses the plugin, the data plane is configured
    expect(missing.client.state().connected).toBe(true);

    await store.dao.delete('plugins', plugin.id);
    const after = await waitFor(() => missing.current());
    expect(after.plugins).toHaveLength(0);
    expect(after.services.map((r) => r.name)).toContain('with-cors');
    await waitFor(() => cp.dataPlanes().find((r) => r.id === 'no-cors' && r.sync_status === 'normal'));
    expect(missing.client.state()).toMatchObject({ syncStatus: 'normal', lastError: null });
  });
});
