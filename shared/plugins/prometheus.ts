// prometheus: per-request metrics (requests by status, latencies, bandwidth) exposed at /metrics.
import type { Field } from '../schema/types.js';
import type { PluginSchema } from './types.js';

const off: Field = { type: 'boolean', default: false };

export const prometheus: PluginSchema = {
  name: 'prometheus',
  version: '3.9.0',
  priority: 13,
  protocols: ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'],
  config: {
    per_consumer: off,
    status_code_metrics: off,
    ai_metrics: off,
    latency_metrics: off,
    bandwidth_metrics: off,
    upstream_health_metrics: off,
    wasm_metrics: off,
  },
};
