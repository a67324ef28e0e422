// The control plane's /metrics on its Admin API listener (where Kong serves it), read by a
// Prometheus text parser: Admin API requests by status, connected data planes with Kong's
// kong_data_plane_* families, and the sync latency from push to the data plane's "applied".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createClusterCerts, waitFor, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { scrape, series, value } from '../helpers/metrics.js';
import { admin, call, dpStatus, startControlPlane, startDataPlane, waitServed } from './cluster-helpers.js';

let db: TestDatabase;
let cp: SilverbackProcess;
let dp: SilverbackProcess;
let up: Upstream;

beforeAll(async () => {
  [db, up] = await Promise.all([createTestDatabase('cp_metrics'), startUpstream()]);
  const certs = createClusterCerts();
  cp = await startControlPlane(db, certs);
  dp = await startDataPlane(cp.clusterAddr, certs);
}, 90_000);

afterAll(async () => {
  await dp?.stop();
  await cp?.stop();
  await up?.close();
  await db?.drop();
});

describe('control plane /metrics', () => {
  it('counts admin requests, lists the connected data plane, measures the sync latency', async () => {
    await admin(cp, 'POST', '/services', { name: 'echo', url: up.url });
    await admin(cp, 'POST', '/services/echo/routes', { name: 'r', paths: ['/m'] });
    expect((await call(`${cp.adminUrl}/services/nope`)).status).toBe(404);
    expect((await call(`${cp.adminUrl}/services`, { method: 'POST', body: { name: 'bad', url: 'nota url' } })).status).toBe(400);
    await waitServed(dp, '/m/request', (a) => a.status === 200);
    const status = await dpStatus(dp);
    // the control plane hears "applied" a moment after the data plane serves it
    const m = await waitFor(async () => {
      const s = await scrape(`${cp.adminUrl}/metrics`);
      return Number(series(s.families, 'silverback_sync_latency_ms')[0]?.count ?? 0) >= 1 ? s : null;
    }, 15_000);
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const f = m.families;
    expect(value(f, 'silverback_admin_requests_total', { method: 'POST', code: '201' })).toBeGreaterThanOrEqual(2);
    expect(value(f, 'silverback_admin_requests_total', { method: 'GET', code: '404' })).toBeGreaterThanOrEqual(1);
    expect(value(f, 'silverback_admin_requests_total', { method: 'POST', code: '400' })).toBeGreaterThanOrEqual(1);
    expect(value(f, 'silverback_data_planes_connected')).toBe(1);
    const [seen] = series(f, 'kong_data_plane_last_seen');
    expect(seen.labels!.ip).toBe('127.0.0.1');
    expect(Math.abs(Number(seen.value) - Date.now() / 1000)).toBeLessThan(120);
    const [hash] = series(f, 'kong_data_plane_config_hash', { node_id: seen.labels!.node_id });
    expect(Number(hash.value)).toBeCloseTo(Number(BigInt('0x' + status.configuration_hash)), -30);
    expect(series(f, 'kong_data_plane_version_compatible')[0].value).toBe('1');
    const [lat] = series(f, 'silverback_sync_latency_ms');
    expect(Number(lat.count)).toBeGreaterThanOrEqual(1);
    expect(Number(lat.buckets!['+Inf'])).toBe(Number(lat.count));
    expect(Number(value(f, 'silverback_sync_pushes_total', { kind: 'delta' })) + Number(value(f, 'silverback_sync_pushes_total', { kind: 'snapshot' }))).toBeGreaterThanOrEqual(1);
    expect(value(f, 'silverback_config_version')).toBe(status.config_version);
  });

  it("a data plane's /metrics says it is connected", async () => {
    const { families } = await scrape(`${dp.statusUrl}/metrics`);
    expect(value(families, 'kong_control_plane_connected')).toBe(1);
  });
});
