// Pieces shared by the data plane's and the control plane's /metrics: a fixed-bucket histogram
// (recording is an array increment, no allocation) and prom-client metric families whose samples
// are computed when scraped (counters kept in plain numbers elsewhere).
import type { Registry } from 'prom-client';

export class Histogram {
  /** counts[i]: observations ≤ buckets[i] (not cumulative; the last slot is +Inf only). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length + 1);
  }
  observe(v: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

export type Labels = Record<string, string | number>;
export interface Sample {
  metricName?: string;
  labels: Labels;
  value: number;
}

/** Register a metric family whose samples are computed at scrape time. */
export function family(registry: Registry, name: string, help: string, type: 'counter' | 'gauge' | 'histogram', samples: () => Sample[]): void {
  registry.registerMetric({
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: samples() }),
    reset() {},
  } as any);
}

/** A histogram's samples in Prometheus form: cumulative `_bucket{le}`, `_sum`, `_count`. */
export function histogramSamples(name: string, labels: Labels, h: Histogram, out: Sample[]): void {
  let cumulative = 0;
  for (let i = 0; i < h.buckets.length; i++) {
    cumulative += h.counts[i];
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: h.buckets[i] }, value: cumulative });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
}
