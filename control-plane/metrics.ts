// The control plane's Prometheus metrics, served at the Admin API's /metrics (where Kong serves
// them): Kong's data-plane families (kong_data_plane_last_seen, _config_hash, _version_compatible),
// connected data planes, Admin API requests by status, and the sync latency (push → applied).
import { Registry, collectDefaultMetrics } from 'prom-client';
import { family, histogramSamples, type Sample } from '../shared/metrics.js';
import type { AdminRoute } from './admin/router.js';
import { adminRequestStats } from './admin/request-stats.js';
import type { SyncServer } from './sync/server.js';
import { syncStats } from './sync/sync-stats.js';

export interface ControlPlaneMetricsOptions {
  sync: SyncServer | null;
  nodeId: string;
  version: string;
}

export function createControlPlaneMetrics(opts: ControlPlaneMetricsOptions): { registry: Registry; route: AdminRoute } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  family(registry, 'kong_node_info', 'Kong Node metadata information', 'gauge', () => [{ labels: { node_id: opts.nodeId, version: opts.version }, value: 1 }]);
  family(registry, 'silverback_admin_requests_total', 'Admin API requests answered, by method and status code', 'counter', () => {
    const out: Sample[] = [];
    for (const [method, byCode] of adminRequestStats.byMethod) for (const [code, value] of byCode) out.push({ labels: { method, code }, value });
    return out;
  });
  const sync = opts.sync;
  if (sync !== null) {
    const dps = () => sync.dataPlanes();
    family(registry, 'silverback_data_planes_connected', 'Data planes with a live sync stream to this control plane', 'gauge', () => [
      { labels: {}, value: dps().filter((d) => d.connected).length },
    ]);
    family(registry, 'kong_data_plane_last_seen', 'Last time data plane contacted control plane', 'gauge', () =>
      dps().map((d) => ({ labels: { node_id: d.id, hostname: d.hostname, ip: d.ip }, value: d.last_seen })),
    );
    family(registry, 'kong_data_plane_config_hash', 'Config hash numeric value of the data plane', 'gauge', () =>
      dps().map((d) => ({ labels: { node_id: d.id, hostname: d.hostname, ip: d.ip }, value: /^[0-9a-f]+$/i.test(d.config_hash) ? Number(BigInt('0x' + d.config_hash)) : 0 })),
    );
    family(registry, 'kong_data_plane_version_compatible', 'Version compatible status of the data plane, 0 is incompatible', 'gauge', () =>
      dps().map((d) => ({
        labels: { node_id: d.id, hostname: d.hostname, ip: d.ip, kong_version: d.version },
        value: d.sync_status === 'kong_version_incompatible' ? 0 : 1,
      })),
    );
    family(registry, 'silverback_config_version', 'Configuration version this control plane serves', 'gauge', () => [{ labels: {}, value: sync.config().version }]);
    family(registry, 'silverback_sync_pushes_total', 'Configuration payloads pushed to data planes, by kind', 'counter', () => [
      { labels: { kind: 'delta' }, value: syncStats.pushes.delta },
      { labels: { kind: 'snapshot' }, value: syncStats.pushes.snapshot },
    ]);
    family(registry, 'silverback_sync_apply_errors_total', 'Configurations data planes reported they could not apply', 'counter', () => [
      { labels: {}, value: syncStats.applyErrors },
    ]);
    family(registry, 'silverback_sync_latency_ms', 'Time from pushing a configuration to the data plane reporting it applied', 'histogram', () => {
      const out: Sample[] = [];
      histogramSamples('silverback_sync_latency_ms', {}, syncStats.applyLatency, out);
      return out;
    });
  }
  const route: AdminRoute = {
    method: 'GET',
    pattern: '/metrics',
    async handler() {
      return { status: 200, text: await registry.metrics(), headers: { 'Content-Type': registry.contentType } };
    },
  };
  return { registry, route };
}
