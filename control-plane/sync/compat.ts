// Version and plugin compatibility between the control plane and a data plane, as Kong
// (kong/clustering/compat): the DP's major must equal ours and its minor must not be newer;
// every plugin configured on the CP must exist on the DP with the same major and a minor no newer.
// Any patch or suffix difference is fine (either way): an older data plane gets its config without
// the fields it lacks (downgrade.ts), a newer patch gets ours as is.
import type { PluginInfo, SyncStatus } from '../../shared/sync/protocol.js';
import { parseVersion } from '../../shared/sync/protocol.js';

export interface CompatResult {
  status: SyncStatus;
  message: string;
}

const OK: CompatResult = { status: 'normal', message: '' };

export function checkVersion(cpVersion: string, dpVersion: string): CompatResult {
  const cp = parseVersion(cpVersion);
  const dp = parseVersion(dpVersion);
  if (!cp || !dp) {
    return { status: 'kong_version_incompatible', message: `data plane version "${dpVersion}" is not a valid version` };
  }
  if (dp[0] !== cp[0]) {
    return {
      status: 'kong_version_incompatible',
      message: `data plane major version ${dp[0]} is different from control plane major version ${cp[0]}`,
    };
  }
  if (dp[1] > cp[1]) {
    return {
      status: 'kong_version_incompatible',
      message: `data plane minor version ${dp[1]} is higher than control plane minor version ${cp[1]}`,
    };
  }
  return OK;
}

/** `configured`: plugin names used by the config; `cpPlugins`/`dpPlugins`: name → version. */
export function checkPlugins(
  configured: Iterable<string>,
  cpPlugins: ReadonlyMap<string, string>,
  dpPlugins: ReadonlyMap<string, string>,
): CompatResult {
  for (const name of configured) {
    const dpVersion = dpPlugins.get(name);
    if (dpVersion === undefined) {
      return { status: 'plugin_set_incompatible', message: `plugin "${name}" is configured but missing from the data plane` };
    }
    const cp = parseVersion(cpPlugins.get(name) ?? '');
    const dp = parseVersion(dpVersion);
    if (!cp || !dp) continue;
    if (dp[0] !== cp[0]) {
      return {
        status: 'plugin_version_incompatible',
        message: `plugin "${name}" major version ${dp[0]} on the data plane is different from ${cp[0]} on the control plane`,
      };
    }
    if (dp[1] > cp[1]) {
      return {
        status: 'plugin_version_incompatible',
        message: `plugin "${name}" minor version ${dp[1]} on the data plane is higher than ${cp[1]} on the control plane`,
      };
    }
  }
  return OK;
}

export function pluginMap(list: readonly PluginInfo[]): Map<string, string> {
  return new Map(list.map((p) => [p.name, p.version]));
}
