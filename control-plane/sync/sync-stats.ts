// What the sync server counts for the control plane's /metrics: payloads pushed by kind and the
// time from pushing a config version to the data plane reporting it applied (the sync latency).
import { Histogram } from '../../shared/metrics.js';

export const SYNC_LATENCY_BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

export const syncStats = {
  pushes: { delta: 0, snapshot: 0 },
  /** ms from the push of a version to the data plane's `applied` for it. */
  applyLatency: new Histogram(SYNC_LATENCY_BUCKETS),
  applyErrors: 0,
};
