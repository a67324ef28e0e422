// In-process request metrics fed by the prometheus plugin's log phase and read at scrape time.
// Recording a request costs map lookups and additions: series are found by route id (strings
// already on the row, no key built per request), status counts by a numeric key, histograms are
// fixed arrays. Label strings are computed once per series, when a snapshot brings new rows.
import type { Row } from '../../../shared/snapshot.js';
import type { RequestContext } from '../types.js';
import { Histogram } from '../../../shared/metrics.js';

/** Kong's buckets (kong/plugins/prometheus/exporter.lua). */
export const KONG_LATENCY_BUCKETS = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000];
export const UPSTREAM_LATENCY_BUCKETS = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000];

export interface PrometheusConfig {
  per_consumer: boolean;
  status_code_metrics: boolean;
  latency_metrics: boolean;
  bandwidth_metrics: boolean;
  upstream_health_metrics: boolean;
  ai_metrics?: boolean;
  wasm_metrics?: boolean;
}

export type CacheCounts = { hit: number; miss: number; bypass: number; refresh: number };

export class Series {
  routeRow: Row | null = null;
  serviceRow: Row | null = null;
  /** consumer label → (status * 2 + (source is the service ? 0 : 1)) → count */
  readonly status = new Map<string, Map<number, number>>();
  kongLatency: Histogram | null = null;
  upstreamLatency: Histogram | null = null;
  requestLatency: Histogram | null = null;
  /** consumer label → [ingress bytes, egress bytes] */
  readonly bandwidth = new Map<string, [number, number]>();
  rateLimited = 0;
  readonly cache: CacheCounts = { hit: 0, miss: 0, bypass: 0, refresh: 0 };
  constructor(
    readonly service: string,
    readonly route: string,
  ) {}
}

const CACHE_KEYS: Record<string, keyof CacheCounts> = { Hit: 'hit', Miss: 'miss', Bypass: 'bypass', Refresh: 'refresh' };

export class RequestStats {
  private readonly byRoute = new Map<string, Series>();
  private readonly byLabels = new Map<string, Series>();

  all(): IterableIterator<Series> {
    return this.byLabels.values();
  }

  /** The series of a (route, service) pair; labels as Kong's: service name or host, route name or id. */
  series(route: Row | null, service: Row): Series {
    const id: string = route !== null ? route.id : '';
    const s = this.byRoute.get(id);
    if (s !== undefined && s.routeRow === route && s.serviceRow === service) return s;
    const serviceLabel = String(service.name ?? service.host ?? '');
    const routeLabel = route !== null ? String(route.name ?? route.id) : '';
    const key = serviceLabel + '\u0000' + routeLabel;
    let t = this.byLabels.get(key);
    if (t === undefined) this.byLabels.set(key, (t = new Series(serviceLabel, routeLabel)));
    t.routeRow = route;
    t.serviceRow = service;
    this.byRoute.set(id, t);
    return t;
  }

  record(ctx: RequestContext, conf: PrometheusConfig): void {
    const service = ctx.service;
    if (service === null) return; // Kong records nothing without a service
    const s = this.series(ctx.route, service);
    const consumer = conf.per_consumer && ctx.consumer !== null ? String(ctx.consumer.username ?? ctx.consumer.id) : '';
    if (conf.status_code_metrics) {
      let byCode = s.status.get(consumer);
      if (byCode === undefined) s.status.set(consumer, (byCode = new Map()));
      const key = (ctx.status ?? 0) * 2 + (ctx.source === 'service' ? 0 : 1);
      byCode.set(key, (byCode.get(key) ?? 0) + 1);
    }
    const l = ctx.latencies;
    if (conf.latency_metrics && l !== undefined) {
      if (l.request >= 0) (s.requestLatency ??= new Histogram(UPSTREAM_LATENCY_BUCKETS)).observe(l.request);
      if (l.proxy >= 0) (s.upstreamLatency ??= new Histogram(UPSTREAM_LATENCY_BUCKETS)).observe(l.proxy);
      if (l.kong >= 0) (s.kongLatency ??= new Histogram(KONG_LATENCY_BUCKETS)).observe(l.kong);
    }
    if (conf.bandwidth_metrics) {
      let bw = s.bandwidth.get(consumer);
      if (bw === undefined) s.bandwidth.set(consumer, (bw = [0, 0]));
      bw[0] += ctx.requestSize ?? 0;
      bw[1] += ctx.responseSize ?? 0;
    }
    if (ctx.rateLimited) s.rateLimited++;
    const cs = ctx.cacheStatus;
    if (cs !== undefined) {
      const k = CACHE_KEYS[cs];
      if (k !== undefined) s.cache[k]++;
    }
  }
}

/** The process's request metrics (one per data plane process, like Kong's shared dict). */
export const requestStats = new RequestStats();
