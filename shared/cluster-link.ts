// In the single-machine role (traditional) the control plane and its data plane share one process
// and talk over loopback. The data plane always dials this node's own cluster listener (never the
// configured `cluster_control_plane`, which could be another node's), and without cluster
// certificates that link is plaintext, allowed only when the listener is on loopback — the same
// exposure as the loopback Admin API.
import type { Config } from './config.js';
import { parseListen } from './config.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
const ANY = /^(0\.0\.0\.0|::|\*)$/;

export function effectiveClusterConfig(config: Config): Config {
  if (config.role !== 'traditional') return config;
  const [listen] = parseListen(config.cluster_listen);
  if (!listen) return config;
  const host = ANY.test(listen.host) ? (listen.host === '::' ? '::1' : '127.0.0.1') : listen.host;
  const own = `${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
  const linked = { ...config, cluster_control_plane: own };
  if (config.cluster_cert || config.cluster_plaintext) return linked;
  if (parseListen(config.cluster_listen).some((l) => !LOOPBACK.test(l.host))) return linked; // the sync server will ask for certificates
  return { ...linked, cluster_plaintext: true };
}
