// Starts a data plane: proxy listeners, the status listener, and the config source — a declarative
// file (database=off) or the control plane over gRPC, with the cache file as the fallback.
import type { Config } from '../shared/config.js';
import { parseListen } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import { EMPTY_CONFIG_HASH, type Snapshot } from '../shared/snapshot.js';
import { createProxy } from './proxy/index.js';
import { VERSION } from './proxy/version.js';
import { startStatusServer, type NodeState } from './status/server.js';
import { createDataPlaneMetrics } from './status/metrics.js';
import { startConfigSource, type ConfigSource } from './config-source.js';
import { trackConnections } from './status/connections.js';
import { createAccessLog } from './status/access-log.js';
import { setPluginLog } from './plugins/log-support.js';
import { closeAppenders } from './plugins/file-log/appender.js';

export async function start(config: Config, log: Logger): Promise<{ stop(): Promise<void> }> {
  setPluginLog(log.child({ component: 'plugins' }));
  const accessLog = config.proxy_access_log === 'stdout' ? createAccessLog() : null;
  const proxy = createProxy({ config, log: log.child({ component: 'proxy' }), accessLog });
  const connections = trackConnections();
  let configured = false;
  let draining = false;
  let current: { version: number; hash: string } = { version: 0, hash: EMPTY_CONFIG_HASH };

  const apply = (snapshot: Snapshot): void => {
    proxy.applySnapshot(snapshot);
    current = { version: snapshot.version, hash: snapshot.hash };
    configured = true;
    log.info({ version: snapshot.version, hash: snapshot.hash, routes: snapshot.routes.length }, 'configuration applied');
  };

  const source: ConfigSource = await startConfigSource({ config, log, apply, current: () => current });
  const metrics = createDataPlaneMetrics(() => ({ ...current, connected: source.connected() }), {
    nodeId: config.node_id ?? '',
    version: VERSION,
    connections: connections.stats,
    runtime: () => proxy.runtime,
  });

  const state = (): NodeState => ({
    configured,
    draining,
    configHash: current.hash,
    configVersion: current.version,
    controlPlane: source.controlPlaneState(),
  });

  const status =
    config.status_listen && config.status_listen !== 'off'
      ? await startStatusServer({
          ...parseListen(config.status_listen)[0],
          version: VERSION,
          state,
          connections: connections.stats,
          registry: metrics.registry,
        })
      : null;

  for (const l of parseListen(config.proxy_listen)) {
    const addr = await proxy.listen(l.host, l.port, l.ssl);
    connections.attach(proxy.servers[proxy.servers.length - 1] as import('node:http').Server);
    log.info({ host: addr.host, port: addr.port, ssl: l.ssl }, 'proxy listening');
  }

  return {
    async stop() {
      // Not ready first; with a grace period, keep serving (every response closing its connection)
      // so a load balancer moves away before the listeners close.
      draining = true;
      proxy.beginDrain();
      if (config.drain_grace_period > 0) await new Promise((r) => setTimeout(r, config.drain_grace_period));
      await proxy.close(config.drain_timeout);
      await source.close();
      await closeAppenders();
      accessLog?.flush();
      await status?.close();
    },
  };
}
