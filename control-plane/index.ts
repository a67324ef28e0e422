// Starts a control plane: the database (embedded or PostgreSQL) with its migrations, the DAO,
// the gRPC sync server for data planes and the Admin API.
import type { Config } from '../shared/config.js';
import { parseListen } from '../shared/config.js';
import { effectiveClusterConfig } from '../shared/cluster-link.js';
import type { Logger } from '../shared/log.js';
import { openDatabase } from './store/db.js';
import { migrateAuto, migrationState } from './store/migrations.js';
import { createDao } from './store/dao.js';
import type { Dao } from './store/types.js';
import { startAdminApi } from './admin/server.js';
import { adminTokenGuard, assertAdminExposure } from './admin/tokens.js';
import { startSyncServer, clusteringRoutes } from './sync/index.js';
import { createControlPlaneMetrics } from './metrics.js';
import { SILVERBACK_VERSION } from '../shared/version.js';

/** Kong's ttl cleanup: expired rows are deleted (every control plane may run it: a delete is idempotent). */
function startTtlCleanup(dao: Dao, everyMs: number, log: Logger): (() => Promise<void>) | null {
  if (everyMs <= 0) return null;
  const timer = setInterval(() => {
    dao.purgeExpired().then(
      (n) => n > 0 && log.info({ purged: n }, 'deleted entities whose ttl passed'),
      (err) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'ttl cleanup failed'),
    );
  }, everyMs);
  timer.unref();
  return async () => clearInterval(timer);
}

export async function start(given: Config, log: Logger): Promise<{ stop(): Promise<void>; clusterPort?: number }> {
  let config = effectiveClusterConfig(given);
  // A traditional node with cluster_listen = off still feeds its own data plane: over an internal
  // loopback listener on a port the system picks, not offered as a control plane (/clustering: 400).
  const internalLink = config.role === 'traditional' && parseListen(config.cluster_listen).length === 0;
  if (internalLink && !config.cluster_cert) config = { ...config, cluster_plaintext: true };
  if (config.database === 'off') {
    log.info('database=off: no control plane on this node (DB-less data plane only)');
    return { stop: async () => {} };
  }
  assertAdminExposure(config);
  const preHandler = adminTokenGuard(config);
  const db = await openDatabase(config, log.child({ component: 'store' }));
  const stops: Array<() => Promise<void>> = [() => db.close()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => log.error({ err }, 'error while stopping'));
  };
  try {
    if (config.migrations_auto) {
      await migrateAuto(db.pool, (line) => log.info(line));
    } else {
      const state = await migrationState(db.pool);
      if (state.pending.length) throw new Error(`database needs migrations (${state.pending.join(', ')}): run 'silverback migrations up'`);
    }
    const dao = createDao(db.pool, log.child({ component: 'dao' }));
    stops.push(() => dao.close());
    const cleanup = startTtlCleanup(dao, config.ttl_cleanup_interval, log);
    if (cleanup) stops.push(cleanup);

    const [clusterListen] = internalLink ? [{ host: '127.0.0.1', port: 0 }] : parseListen(config.cluster_listen);
    const sync = clusterListen
      ? await startSyncServer({ dao, pool: db.pool, config, log: log.child({ component: 'sync' }), listen: clusterListen })
      : null;
    if (sync) stops.push(() => sync.close());

    const [adminListen] = parseListen(config.admin_listen);
    if (adminListen) {
      const admin = await startAdminApi({
        config,
        dao,
        log: log.child({ component: 'admin' }),
        role: config.role,
        listen: adminListen,
        extraRoutes: [...clusteringRoutes(internalLink ? null : sync), createControlPlaneMetrics({ sync, nodeId: config.node_id ?? '', version: SILVERBACK_VERSION }).route],
        preHandler,
      });
      stops.push(() => admin.close());
      log.info({ url: admin.url }, 'admin API listening');
    }
    return { stop, clusterPort: internalLink && sync ? sync.port : undefined };
  } catch (err) {
    await stop();
    throw err;
  }
}
