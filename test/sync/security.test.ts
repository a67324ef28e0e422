// Cluster mTLS: shared mode (everyone presents the same certificate) and pki mode (CA-signed
// certificates, optional common-name allow-list); plaintext only when asked for.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCa, generateClusterCert, generateSignedCert } from '../../cli/cert.js';
import type { SyncServer } from '../../control-plane/sync/index.js';
import { waitFor } from '../helpers/processes.js';
import { openTestStore, type TestStore } from '../store/store-helpers.js';
import { clusterConfig, removePrefixes, startCp, startDp, type TestDp } from './sync-helpers.js';

let store: TestStore;
let dir: string;
const servers: SyncServer[] = [];
const dps: TestDp[] = [];

beforeAll(async () => {
  store = await openTestStore('sync_tls');
  await store.dao.insert('services', { name: 'secure', url: 'http://secure.test' });
  dir = mkdtempSync(join(tmpdir(), 'sb-sync-tls-'));
});
afterAll(async () => {
  for (const d of dps) await d.client.close();
  for (const s of servers) await s.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
  removePrefixes();
});

const pair = (name: string, cn = 'silverback_cluster') =>
  generateClusterCert({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), commonName: cn, days: 2 });

async function cp(overrides: Record<string, unknown>): Promise<SyncServer> {
  const s = await startCp(store.dao, { config: clusterConfig({ cluster_plaintext: false, ...overrides }) });
  servers.push(s);
  return s;
}

function dp(port: number, overrides: Record<string, unknown>): TestDp {
  const d = startDp(port, { configOverrides: { cluster_plaintext: false, ...overrides } });
  dps.push(d);
  return d;
}

/** Gives a refused DP time to try (and retry) before asserting it got nothing. */
async function refused(d: TestDp): Promise<void> {
  await waitFor(() => d.client.state().lastError);
  await new Promise((r) => setTimeout(r, 300));
  expect(d.applied).toHaveLength(0);
  expect(d.client.state().connected).toBe(false);
}

describe('cluster mTLS', () => {
  it('refuses to start the cluster listener without certificates unless cluster_plaintext is on', async () => {
    await expect(cp({})).rejects.toThrow('cluster_cert is required for the cluster listener (or set cluster_plaintext = on for development only)');
  });

  it('shared mode: a data plane with the cluster certificate syncs, one with another certificate is refused', async () => {
    const good = pair('shared');
    const other = pair('other');
    expect(statSync(good.key).mode & 0o777).toBe(0o600);
    const server = await cp({ cluster_mtls: 'shared', cluster_cert: good.cert, cluster_cert_key: good.key });

    const ok = dp(server.port, { cluster_mtls: 'shared', cluster_cert: good.cert, cluster_cert_key: good.key });
    const s = await waitFor(() => ok.current());
    expect(s.services.map((r) => r.name)).toEqual(['secure']);
    expect(ok.client.state().connected).toBe(true);

    const bad = dp(server.port, { cluster_mtls: 'shared', cluster_cert: other.cert, cluster_cert_key: other.key });
    await refused(bad);
    expect(server.dataPlanes()).toHaveLength(1);

    const plain = dp(server.port, { cluster_plaintext: true });
    await refused(plain);
    expect(server.dataPlanes()).toHaveLength(1);
  });

  it('pki mode: certificates signed by the cluster CA sync, subject to the common-name allow-list', async () => {
    const ca = generateCa({ cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key'), commonName: 'test_ca', days: 2 });
    const foreignCa = generateCa({ cert: join(dir, 'ca2.crt'), key: join(dir, 'ca2.key'), commonName: 'foreign_ca', days: 2 });
    const signed = (name: string, cn: string, by = ca) =>
      generateSignedCert({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), commonName: cn, days: 2, caCert: by.cert, caKey: by.key });
    const cpCert = signed('cp', 'cp.cluster.internal');
    const server = await cp({
      cluster_mtls: 'pki',
      cluster_cert: cpCert.cert,
      cluster_cert_key: cpCert.key,
      cluster_ca_cert: ca.cert,
      cluster_allowed_common_names: ['dp1.cluster.internal'],
    });
    const dpConfig = (cert: { cert: string; key: string }, caCert = ca.cert) => ({
      cluster_mtls: 'pki',
      cluster_cert: cert.cert,
      cluster_cert_key: cert.key,
      cluster_ca_cert: caCert,
      cluster_server_name: 'cp.cluster.internal',
    });

    const ok = dp(server.port, dpConfig(signed('dp1', 'dp1.cluster.internal')));
    expect((await waitFor(() => ok.current())).services).toHaveLength(1);

    const notAllowed = dp(server.port, dpConfig(signed('dp2', 'dp2.cluster.internal')));
    await refused(notAllowed);
    expect(notAllowed.client.state().lastError).toBe('client certificate common name "dp2.cluster.internal" is not allowed');

    const foreign = dp(server.port, dpConfig(signed('dp3', 'dp1.cluster.internal', foreignCa)));
    await refused(foreign);

    // the data plane checks the control plane's name too
    const wrongName = dp(server.port, { ...dpConfig(signed('dp4', 'dp1.cluster.internal')), cluster_server_name: 'someone.else' });
    await refused(wrongName);
    expect(server.dataPlanes().map((r) => r.sync_status)).toEqual(['normal']);
  });
});
