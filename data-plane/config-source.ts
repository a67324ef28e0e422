// Where a data plane's configuration comes from: a declarative file (database=off, reloaded on
// SIGHUP) or the control plane's sync stream (database-backed roles), with the cache file
// served at once on start so a restart while the control plane is down keeps traffic flowing.
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import type { Snapshot } from '../shared/snapshot.js';
import { loadDeclarativeFile } from './declarative/index.js';
import { loadCachedSnapshot, startSyncClient } from './sync/index.js';
import { pluginSchemas } from '../shared/plugins/registry.js';
import { effectiveClusterConfig } from '../shared/cluster-link.js';

export interface ConfigSource {
  /** null when there is no control plane (DB-less). */
  connected(): boolean | null;
  controlPlaneState(): { connected: boolean; lastError: string | null } | undefined;
  close(): Promise<void>;
}

export interface ConfigSourceOptions {
  config: Config;
  log: Logger;
  apply: (snapshot: Snapshot) => void;
  current: () => { version: number; hash: string };
}

export async function startConfigSource(opts: ConfigSourceOptions): Promise<ConfigSource> {
  return opts.config.database === 'off' && opts.config.role !== 'data_plane' ? startDeclarative(opts) : startSync(opts);
}

async function startDeclarative({ config, log, apply }: ConfigSourceOptions): Promise<ConfigSource> {
  const file = config.declarative_config;
  const load = async (why: string) => {
    if (!file) return;
    const snapshot = await loadDeclarativeFile(file);
    apply(snapshot);
    log.info({ file, why }, 'declarative configuration loaded');
  };
  if (file) await load('start');
  else log.warn('database=off without declarative_config: serving an empty configuration');
  const onHup = () => {
    load('SIGHUP').catch((err) => log.error({ err: err?.body ?? err?.message ?? err, file }, 'declarative reload failed; keeping the current configuration'));
  };
  process.on('SIGHUP', onHup);
  return {
    connected: () => null,
    controlPlaneState: () => undefined,
    async close() {
      process.off('SIGHUP', onHup);
    },
  };
}

async function startSync({ config, log, apply, current }: ConfigSourceOptions): Promise<ConfigSource> {
  let cached = await loadCachedSnapshot(config.prefix, log);
  if (cached) {
    try {
      apply(cached);
      log.info({ version: cached.version }, 'serving the cached configuration until the control plane answers');
    } catch (err) {
      cached = null;
      log.error({ err: (err as Error).message }, 'cached configuration could not be applied; waiting for the control plane');
    }
  }
  const client = startSyncClient({
    config: effectiveClusterConfig(config),
    log: log.child({ component: 'sync' }),
    nodeId: config.node_id ?? undefined,
    plugins: enabledPluginInfo(config.plugins),
    apply: (s: Snapshot) => apply(s),
    current,
    // deltas apply onto the cached config already served (not a second copy read from the file)
    initial: cached,
  });
  return {
    connected: () => client.state().connected,
    controlPlaneState: () => {
      const s = client.state();
      return { connected: s.connected, lastError: s.lastError ?? null };
    },
    close: async () => client.close(),
  };
}

/** The plugins this node advertises to the control plane: its `plugins` setting ("bundled" = all shipped). */
function enabledPluginInfo(plugins: readonly string[]): Array<{ name: string; version: string }> {
  const wanted = new Set(plugins);
  return [...pluginSchemas.values()]
    .filter((s) => wanted.has('bundled') || wanted.has(s.name))
    .map((s) => ({ name: s.name, version: s.version }));
}
