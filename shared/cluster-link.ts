// In the single-machine role (traditional) the control plane and its data plane share one process
// and talk over loopback: without cluster certificates that link is plaintext, and it is only
// allowed when the cluster listener is on loopback — the same exposure as the loopback Admin API.
import type { Config } from './config.js';
import { parseListen } from './config.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function effectiveClusterConfig(config: Config): Config {
  if (config.role !== 'traditional' || config.cluster_cert || config.cluster_plaintext) return config;
  const listen = parseListen(config.cluster_listen);
  if (listen.some((l) => !LOOPBACK.test(l.host))) return config; // the sync server will ask for certificates
  const [cp] = parseListen(config.cluster_control_plane);
  if (cp && !LOOPBACK.test(cp.host)) return config;
  return { ...config, cluster_plaintext: true };
}
