// prometheus (priority 13): records each request into the in-process metrics (stats.ts) that the
// data plane's /metrics exposes. Which families are recorded follows the config, as in Kong 3.x.
import type { PluginHandler } from '../types.js';
import { requestStats, type PrometheusConfig } from './stats.js';

export const prometheus: PluginHandler<PrometheusConfig> = {
  name: 'prometheus',
  version: '3.9.0',
  priority: 13,

  log(ctx, conf) {
    requestStats.record(ctx, conf);
  },
};

export default prometheus;
