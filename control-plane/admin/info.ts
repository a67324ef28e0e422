// Node information endpoints: GET / (Kong's node info shape), /status, /endpoints,
// /plugins/enabled and /config (DB-less only in Kong: a database-backed node refuses it).
import { hostname } from 'node:os';
import type { Config, Role } from '../../shared/config.js';
import { redactConfig } from '../../shared/config.js';
import { pluginSchemas } from '../../shared/plugins/registry.js';
import type { PluginSchema } from '../../shared/plugins/types.js';
import { KONG_COMPAT_VERSION } from '../../shared/version.js';
import type { Dao } from '../store/types.js';
import type { AdminRoute } from './router.js';

export interface ServerCounters {
  accepted: number;
  active: number;
  /** Requests being read or answered right now. */
  inFlight: number;
  totalRequests: number;
}

export interface InfoDeps {
  config: Config;
  dao: Dao;
  role: Role;
  version: string;
  nodeId: string;
  counters: () => ServerCounters;
  /** Every registered route pattern (for /endpoints). */
  patterns: () => string[];
}

/** Plugins this node runs: `plugins = bundled` means every shipped plugin. */
export function enabledPlugins(config: Config): PluginSchema[] {
  const wanted = new Set(config.plugins);
  return [...pluginSchemas.values()].filter((p) => wanted.has('bundled') || wanted.has(p.name));
}

async function pluginNamesInUse(dao: Dao): Promise<string[]> {
  const names = new Set<string>();
  let offset: string | null = null;
  do {
    const page = await dao.page('plugins', { size: 1000, offset });
    for (const p of page.data) names.add(p.name);
    offset = page.offset;
  } while (offset);
  return [...names];
}

const UNITS: Record<string, [number, string]> = {
  b: [1, ' bytes'],
  k: [1024, ' KiB'],
  m: [1024 ** 2, ' MiB'],
  g: [1024 ** 3, ' GiB'],
};

/** Kong's /status memory figures: "12.34 MiB" by default, ?unit=b|k|m|g&scale=N. */
function formatBytes(n: number, unit: string | null, scale: string | null): string | number {
  const u = UNITS[(unit ?? 'm').toLowerCase()] ?? UNITS.m;
  const s = Math.min(Math.max(Number.parseInt(scale ?? '2', 10) || 0, 0), 10);
  if (u[0] === 1) return n;
  return `${(n / u[0]).toFixed(s)}${u[1]}`;
}

/** The path pattern as Kong lists it: ":services" → "{services}", sorted segment-wise. */
export function endpointList(patterns: string[]): string[] {
  return [...new Set(patterns.map((p) => p.replace(/:([^/]+)/g, '{$1}')))].sort((a, b) => {
    const x = a.replace(/\//g, '\x00');
    const y = b.replace(/\//g, '\x00');
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export function createInfoRoutes(deps: InfoDeps): AdminRoute[] {
  const { config, dao } = deps;
  const onlyDbless = { message: 'this endpoint is only available when Kong is configured to not use a database' };
  return [
    {
      method: 'GET',
      pattern: '/',
      handler: async () => {
        const available: Record<string, { version: string; priority: number }> = {};
        for (const p of enabledPlugins(config)) available[p.name] = { version: p.version, priority: p.priority };
        return {
          status: 200,
          body: {
            tagline: 'Welcome to Silverback',
            version: KONG_COMPAT_VERSION,
            silverback_version: deps.version,
            edition: 'community',
            hostname: hostname(),
            node_id: deps.nodeId,
            role: deps.role,
            timers: { running: 0, pending: 0 },
            plugins: { available_on_server: available, enabled_in_cluster: await pluginNamesInUse(dao) },
            configuration: redactConfig(config),
            pids: { master: process.pid, workers: [process.pid] },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: '/status',
      handler: async (req) => {
        const c = deps.counters();
        const mem = process.memoryUsage();
        const unit = req.query.get('unit');
        const scale = req.query.get('scale');
        return {
          status: 200,
          body: {
            database: { reachable: await dao.ping() },
            memory: {
              workers_lua_vms: [{ pid: process.pid, http_allocated_gc: formatBytes(mem.heapUsed, unit, scale) }],
              lua_shared_dicts: {},
            },
            server: {
              connections_accepted: c.accepted,
              connections_active: c.active,
              connections_handled: c.accepted,
              connections_reading: 0,
              connections_writing: c.inFlight,
              connections_waiting: Math.max(c.active - c.inFlight, 0),
              total_requests: c.totalRequests,
            },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: '/endpoints',
      handler: () => ({ status: 200, body: { data: endpointList(deps.patterns()) } }),
    },
    {
      method: 'GET',
      pattern: '/plugins/enabled',
      handler: () => ({ status: 200, body: { enabled_plugins: enabledPlugins(config).map((p) => p.name) } }),
    },
    { method: 'GET', pattern: '/config', handler: () => ({ status: 400, body: onlyDbless }) },
    { method: 'POST', pattern: '/config', rawBody: true, handler: () => ({ status: 400, body: onlyDbless }) },
  ];
}
