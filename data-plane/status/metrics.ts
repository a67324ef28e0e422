// Prometheus metrics of a data plane (scraped at the status listener's /metrics).
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export function createDataPlaneMetrics(read: () => { version: number; hash: string; connected: boolean | null }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'silverback_config_version',
    help: 'Version of the configuration this data plane serves',
    registers: [registry],
    collect() {
      this.set(read().version);
    },
  });
  new Gauge({
    name: 'kong_control_plane_connected',
    help: '1 when this data plane has a live sync stream to a control plane (Kong-compatible name)',
    registers: [registry],
    collect() {
      const c = read().connected;
      this.set(c ? 1 : 0);
    },
  });
  return { registry };
}
