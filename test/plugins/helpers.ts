// Shared setup for plugin tests: validated plugin rows (through the plugins entity, as the Admin API
// stores them), a real proxy with the real handler registry, and a real echo upstream.
import { prepareInsert } from '../../shared/schema/entity.js';
import { plugins } from '../../shared/schema/entities/index.js';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { route, service, snapshot, startProxy, request, type Res } from '../proxy/fixtures.js';
import type { Proxy, ProxyConfig } from '../../data-plane/proxy/index.js';
import type { KongError } from '../../shared/errors.js';

export { request, route, service, snapshot, type Res };

type Scope = { route?: Row; service?: Row; consumer?: Row };

/** A plugin row exactly as the Admin API would store it (defaults filled, validated). */
export function pluginRow(name: string, config: Record<string, unknown> = {}, scope: Scope = {}, extra: Row = {}): Row {
  return prepareInsert(plugins, {
    name,
    config,
    route: scope.route ? { id: scope.route.id } : null,
    service: scope.service ? { id: scope.service.id } : null,
    consumer: scope.consumer ? { id: scope.consumer.id } : null,
    ...extra,
  });
}

/** The KongError body a plugin config is rejected with. */
export function rejection(name: string, config: Record<string, unknown>, extra: Row = {}): Record<string, any> {
  try {
    prepareInsert(plugins, { name, config, ...extra });
  } catch (e) {
    return (e as KongError).body;
  }
  throw new Error(`config of ${name} was accepted: ${JSON.stringify(config)}`);
}

export interface Gateway {
  up: Upstream;
  proxy: Proxy;
  url: string;
  /** A service pointing at the echo upstream. */
  svc: Row;
  close(): Promise<void>;
}

/**
 * Start the echo upstream and a proxy. `build` gets the echo service and returns routes and plugins;
 * every route without a service is attached to it.
 */
export async function gateway(
  build: (svc: Row) => { routes: Row[]; plugins: Row[]; consumers?: Row[]; services?: Row[] },
  config: Partial<ProxyConfig> = {},
): Promise<Gateway> {
  const up = await startUpstream();
  const svc = service({ name: 'echo', port: up.port });
  const parts = build(svc);
  for (const r of parts.routes) r.service ??= { id: svc.id };
  const snap = snapshot({
    services: [svc, ...(parts.services ?? [])],
    routes: parts.routes,
    plugins: parts.plugins,
    consumers: parts.consumers ?? [],
  });
  const { proxy, url } = await startProxy(snap, { registry: handlers, config });
  return {
    up,
    proxy,
    url,
    svc,
    close: async () => {
      await proxy.close();
      await up.close();
    },
  };
}
