// Cluster mTLS with real processes: in shared mode a data plane presenting another certificate is
// never configured; in pki mode data planes with CA-signed certificates sync, and the allowed
// common names (and the CA) decide who may.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCa, generateSignedCert } from '../../cli/cert.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createClusterCerts, waitFor, type ClusterCerts, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { admin, call, dpStatus, logsWith, readyStatus, startControlPlane, startDataPlane, waitServed } from './cluster-helpers.js';

let db: TestDatabase;
let up: Upstream;
let certDir: string;
const procs: SilverbackProcess[] = [];

beforeAll(async () => {
  [db, up] = await Promise.all([createTestDatabase('cluster_security'), startUpstream()]);
  certDir = mkdtempSync(join(tmpdir(), 'sb-pki-'));
});

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop().catch(() => p.kill())));
  await up?.close();
  await db?.drop();
  rmSync(certDir, { recursive: true, force: true });
});

async function track(p: Promise<SilverbackProcess>): Promise<SilverbackProcess> {
  const proc = await p;
  procs.push(proc);
  return proc;
}

/** A data plane must stay unconfigured: wait a while, it never gets ready nor routes. */
async function expectNeverConfigured(dp: SilverbackProcess, why: RegExp, tlsHint: boolean): Promise<void> {
  const line = await waitFor(() => logsWith(dp, 'sync: stream to the control plane failed')[0], 10_000);
  expect(String(line.err)).toMatch(why);
  if (tlsHint) expect(line.hint).toMatch(/TLS handshake with the control plane failed: check that cluster_cert/);
  else expect(line.hint).toBeUndefined();
  expect(await readyStatus(dp)).toBe(503);
  const s = await dpStatus(dp);
  expect(s.control_plane?.connected).toBe(false);
  expect(s.control_plane?.lastError).toMatch(why);
  const a = await call(`${dp.proxyUrl}/sec/x`);
  expect(a.status).toBe(404);
  expect(a.json().message).toBe('no Route matched with those values');
}

describe('cluster_mtls = shared', () => {
  let certs: ClusterCerts;
  let cp: SilverbackProcess;

  it('a data plane with the cluster certificate is configured', async () => {
    certs = createClusterCerts();
    cp = await track(startControlPlane(db, certs));
    await admin(cp, 'POST', '/services', { name: 'sec', url: up.url });
    await admin(cp, 'POST', '/services/sec/routes', { name: 'sec', paths: ['/sec'] });
    const dp = await track(startDataPlane(cp.clusterAddr, certs));
    await waitServed(dp, '/sec/x', (a) => a.status === 200);
    expect(await readyStatus(dp)).toBe(200);
  });

  it('a data plane presenting another self-signed pair is refused and never configured', async () => {
    const other = createClusterCerts(); // same common name, different key
    const dp = await track(startDataPlane(cp.clusterAddr, other));
    // the DP trusts only the cluster certificate, and the CP presents another one
    await expectNeverConfigured(dp, /self-signed certificate/, true);
    expect(logsWith(dp, 'configuration applied')).toEqual([]);
    const rows = (await admin(cp, 'GET', '/clustering/data-planes')).data as any[];
    expect(rows.length).toBe(1);
    await dp.stop();
  });
});

describe('cluster_mtls = pki', () => {
  const files = (name: string) => ({ cert: join(certDir, `${name}.crt`), key: join(certDir, `${name}.key`) });
  let ca: { cert: string; key: string };
  let cp: SilverbackProcess;
  const pkiEnv = (name: string, caCert = ca.cert) => ({
    env: {
      SILVERBACK_CLUSTER_MTLS: 'pki',
      SILVERBACK_CLUSTER_CERT: files(name).cert,
      SILVERBACK_CLUSTER_CERT_KEY: files(name).key,
      SILVERBACK_CLUSTER_CA_CERT: caCert,
      SILVERBACK_CLUSTER_SERVER_NAME: 'cp.silverback.test',
    },
  });

  beforeAll(async () => {
    ca = generateCa({ ...files('ca'), commonName: 'silverback_test_ca', days: 2 });
    const sign = (name: string, cn: string, caFiles = ca) =>
      generateSignedCert({ ...files(name), commonName: cn, days: 2, caCert: caFiles.cert, caKey: caFiles.key });
    sign('cp', 'cp.silverback.test');
    sign('dp-ok', 'dp-allowed');
    sign('dp-bad', 'dp-other');
    const rogueCa = generateCa({ ...files('rogue-ca'), commonName: 'rogue_ca', days: 2 });
    sign('dp-rogue', 'dp-allowed', rogueCa);
    const pdb = await createTestDatabase('cluster_pki');
    cp = await track(
      startControlPlane(pdb, pkiEnv('cp'), { env: { SILVERBACK_CLUSTER_ALLOWED_COMMON_NAMES: 'dp-allowed,dp-second' } }),
    );
    await admin(cp, 'POST', '/services', { name: 'sec', url: `${up.url}/pki` });
    await admin(cp, 'POST', '/services/sec/routes', { name: 'sec', paths: ['/sec'] });
    return async () => {
      await cp.stop();
      await pdb.drop();
    };
  });

  it('a data plane whose CA-signed certificate has an allowed common name is configured', async () => {
    const dp = await track(startDataPlane(cp.clusterAddr, pkiEnv('dp-ok')));
    const a = await waitServed(dp, '/sec/x', (r) => r.status === 200);
    expect(a.json().path).toBe('/pki/x');
    const rows = (await admin(cp, 'GET', '/clustering/data-planes')).data as any[];
    expect(rows.map((r) => r.sync_status)).toEqual(['normal']);
  });

  it('a CA-signed certificate with a common name that is not allowed is refused', async () => {
    const dp = await track(startDataPlane(cp.clusterAddr, pkiEnv('dp-bad')));
    await expectNeverConfigured(dp, /common name "dp-other" is not allowed/, false);
    const refused = logsWith(cp, 'sync: connection refused');
    expect(refused.map((l) => l.reason)).toContain('client certificate common name "dp-other" is not allowed');
    await dp.stop();
  });

  it('a certificate signed by another CA is refused', async () => {
    const dp = await track(startDataPlane(cp.clusterAddr, pkiEnv('dp-rogue')));
    // the CP refuses the handshake: all the DP sees is a reset, hence the hint
    await expectNeverConfigured(dp, /ECONNRESET|certificate|alert|Failed to connect/i, true);
    await dp.stop();
  });
});
