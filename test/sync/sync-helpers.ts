// A control plane's sync server over a real store and in-process data-plane sync clients whose
// `apply` keeps the config it was given (what the DP runtime would compile).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../shared/config.js';
import { EMPTY_CONFIG_HASH, type Snapshot } from '../../shared/snapshot.js';
import { pluginSchemas } from '../../shared/plugins/registry.js';
import type { PluginInfo } from '../../shared/sync/protocol.js';
import type { Dao } from '../../control-plane/store/types.js';
import { startSyncServer, type SyncServer, type SyncServerOptions } from '../../control-plane/sync/index.js';
import { startSyncClient, type SyncClient, type SyncClientOptions } from '../../data-plane/sync/index.js';
import { quietLog } from '../store/store-helpers.js';

export { quietLog };

const prefixes: string[] = [];

export function tempPrefix(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-sync-'));
  prefixes.push(dir);
  return dir;
}

export function removePrefixes(): void {
  for (const p of prefixes.splice(0)) rmSync(p, { recursive: true, force: true });
}

export function clusterConfig(overrides: Partial<Record<keyof Config, unknown>> = {}): Config {
  return loadConfig({ env: {}, overrides: { cluster_plaintext: true, prefix: tempPrefix(), ...overrides } });
}

export const ALL_PLUGINS: PluginInfo[] = [...pluginSchemas.values()].map((s) => ({ name: s.name, version: s.version }));

export async function startCp(dao: Dao, opts: Partial<SyncServerOptions> = {}): Promise<SyncServer> {
  return startSyncServer({
    dao,
    config: opts.config ?? clusterConfig(),
    log: quietLog,
    listen: { host: '127.0.0.1', port: 0 },
    coalesceMs: 5,
    ...opts,
  });
}

export interface TestDp {
  client: SyncClient;
  /** Every config apply() accepted, in order. */
  applied: Snapshot[];
  current(): Snapshot | null;
  /** Makes the next apply() calls throw with this message (null: accept again). */
  failWith(message: string | null): void;
  prefix: string;
}

export interface StartDpOptions extends Partial<SyncClientOptions> {
  configOverrides?: Partial<Record<keyof Config, unknown>>;
  /** A config already being served (e.g. loaded from the cache before connecting). */
  serving?: Snapshot;
}

export function startDp(port: number, opts: StartDpOptions = {}): TestDp {
  const applied: Snapshot[] = opts.serving ? [opts.serving] : [];
  let failure: string | null = null;
  const config = clusterConfig({ cluster_control_plane: `127.0.0.1:${port}`, ...opts.configOverrides });
  const { configOverrides: _o, serving: _s, ...clientOpts } = opts;
  const client = startSyncClient({
    config,
    log: quietLog,
    plugins: ALL_PLUGINS,
    backoffMinMs: 20,
    backoffMaxMs: 200,
    apply: (s) => {
      if (failure) throw new Error(failure);
      applied.push(s);
    },
    current: () => {
      const s = applied[applied.length - 1];
      return s ? { version: s.version, hash: s.hash } : { version: 0, hash: EMPTY_CONFIG_HASH };
    },
    ...clientOpts,
  });
  return {
    client,
    applied,
    current: () => applied[applied.length - 1] ?? null,
    failWith: (m) => (failure = m),
    prefix: config.prefix,
  };
}
