// Prometheus metrics of a data plane (scraped at the status listener's /metrics). Kong's names
// where Kong has the metric (kong/plugins/prometheus/exporter.lua), silverback_* for our own.
// Per-request families are aggregated in process by the prometheus plugin (plugins/prometheus/stats.ts)
// and only turned into samples here, at scrape time.
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Runtime } from '../runtime.js';
import { requestStats } from '../plugins/prometheus/stats.js';
import { family, histogramSamples, type Histogram, type Sample } from '../../shared/metrics.js';
import { allDeliveryStats } from '../plugins/log-support.js';

export interface DataPlaneMetricsOptions {
  nodeId?: string;
  version?: string;
  /** Connection counters of the proxy listeners (status/connections.ts). */
  connections?: () => Record<string, number>;
  /** The runtime being served (upstream health, which plugins are configured). */
  runtime?: () => Runtime;
}

const HEALTH_STATES: [string, string][] = [
  ['HEALTHCHECKS_OFF', 'healthchecks_off'],
  ['HEALTHY', 'healthy'],
  ['UNHEALTHY', 'unhealthy'],
  ['DNS_ERROR', 'dns_error'],
];

function healthMetricsWanted(rt: Runtime): boolean {
  for (const p of rt.snapshot.plugins ?? []) {
    if (p.name === 'prometheus' && p.enabled !== false && p.config?.upstream_health_metrics) return true;
  }
  return false;
}

export function createDataPlaneMetrics(
  read: () => { version: number; hash: string; connected: boolean | null },
  opts: DataPlaneMetricsOptions = {},
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const nodeId = opts.nodeId ?? '';
  new Gauge({
    name: 'silverback_config_version',
    help: 'Version of the configuration this data plane serves',
    registers: [registry],
    collect() {
      this.set(read().version);
    },
  });
  family(registry, 'silverback_config_hash', 'Hash of the configuration this data plane serves (value 1)', 'gauge', () => [
    { labels: { hash: read().hash }, value: 1 },
  ]);
  new Gauge({
    name: 'kong_control_plane_connected',
    help: '1 when this data plane has a live sync stream to a control plane (Kong-compatible name)',
    registers: [registry],
    collect() {
      const c = read().connected;
      this.set(c ? 1 : 0);
    },
  });
  family(registry, 'kong_node_info', 'Kong Node metadata information', 'gauge', () => [
    { labels: { node_id: nodeId, version: opts.version ?? '' }, value: 1 },
  ]);

  if (opts.connections) {
    const connections = opts.connections;
    family(registry, 'kong_nginx_connections_total', 'Number of connections by subsystem', 'gauge', () => {
      const c = connections();
      const labels = (state: string) => ({ node_id: nodeId, subsystem: 'http', state });
      return [
        { labels: labels('accepted'), value: c.connections_accepted ?? 0 },
        { labels: labels('handled'), value: c.connections_handled ?? 0 },
        { labels: labels('total'), value: c.total_requests ?? 0 },
        { labels: labels('active'), value: c.connections_active ?? 0 },
      ];
    });
    family(registry, 'kong_nginx_requests_total', 'Number of requests total', 'gauge', () => [
      { labels: { node_id: nodeId, subsystem: 'http' }, value: connections().total_requests ?? 0 },
    ]);
  }

  // ---- per request (prometheus plugin) ----
  family(registry, 'kong_http_requests_total', 'HTTP status codes per consumer/service/route in Kong', 'counter', () => {
    const out: Sample[] = [];
    for (const s of requestStats.all()) {
      for (const [consumer, byCode] of s.status) {
        for (const [key, value] of byCode) {
          out.push({ labels: { service: s.service, route: s.route, code: key >> 1, source: key & 1 ? 'kong' : 'service', consumer }, value });
        }
      }
    }
    return out;
  });
  const latency = (name: string, help: string, pick: (s: any) => Histogram | null) =>
    family(registry, name, help, 'histogram', () => {
      const out: Sample[] = [];
      for (const s of requestStats.all()) {
        const h = pick(s);
        if (h !== null) histogramSamples(name, { service: s.service, route: s.route }, h, out);
      }
      return out;
    });
  latency('kong_kong_latency_ms', 'Latency added by Kong and enabled plugins for each service/route in Kong', (s) => s.kongLatency);
  latency('kong_upstream_latency_ms', 'Latency added by upstream response for each service/route in Kong', (s) => s.upstreamLatency);
  latency('kong_request_latency_ms', 'Total latency incurred during requests for each service/route in Kong', (s) => s.requestLatency);
  family(registry, 'kong_bandwidth_bytes', 'Total bandwidth (ingress/egress) throughput in bytes', 'counter', () => {
    const out: Sample[] = [];
    for (const s of requestStats.all()) {
      for (const [consumer, [ingress, egress]] of s.bandwidth) {
        out.push({ labels: { service: s.service, route: s.route, direction: 'ingress', consumer }, value: ingress });
        out.push({ labels: { service: s.service, route: s.route, direction: 'egress', consumer }, value: egress });
      }
    }
    return out;
  });
  family(registry, 'silverback_rate_limited_total', 'Requests refused by rate limiting per service/route', 'counter', () => {
    const out: Sample[] = [];
    for (const s of requestStats.all()) if (s.rateLimited > 0) out.push({ labels: { service: s.service, route: s.route }, value: s.rateLimited });
    return out;
  });
  family(registry, 'silverback_proxy_cache_total', 'proxy-cache outcomes (X-Cache-Status) per service/route', 'counter', () => {
    const out: Sample[] = [];
    for (const s of requestStats.all()) {
      for (const status of ['hit', 'miss', 'bypass', 'refresh'] as const) {
        const v = s.cache[status];
        if (v > 0) out.push({ labels: { service: s.service, route: s.route, status }, value: v });
      }
    }
    return out;
  });

  // ---- log plugins ----
  family(registry, 'silverback_log_entries_total', 'Log entries of the log plugins by outcome (sent, dropped, retried attempts)', 'counter', () => {
    const out: Sample[] = [];
    for (const [plugin, d] of allDeliveryStats()) {
      out.push({ labels: { plugin, outcome: 'sent' }, value: d.sent });
      out.push({ labels: { plugin, outcome: 'dropped' }, value: d.dropped });
      out.push({ labels: { plugin, outcome: 'retried' }, value: d.retried });
    }
    return out;
  });
  family(registry, 'silverback_log_queue_entries', 'Log entries waiting in memory, per log plugin', 'gauge', () =>
    [...allDeliveryStats()].map(([plugin, d]) => ({ labels: { plugin }, value: d.queued })),
  );

  // ---- upstream health ----
  if (opts.runtime) {
    const runtime = opts.runtime;
    family(
      registry,
      'kong_upstream_target_health',
      'Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.',
      'gauge',
      () => {
        const rt = runtime();
        if (!healthMetricsWanted(rt)) return [];
        const out: Sample[] = [];
        for (const u of rt.snapshot.upstreams ?? []) {
          for (const row of rt.balancers.health(u.name) ?? []) {
            for (const [state, label] of HEALTH_STATES) {
              out.push({
                labels: { upstream: u.name, target: row.target, address: row.address ?? '', state: label, subsystem: 'http' },
                value: row.health === state ? 1 : 0,
              });
            }
          }
        }
        return out;
      },
    );
  }
  return { registry };
}
