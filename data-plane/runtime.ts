// Compiles a Snapshot into the object the proxy serves from: router, per-route plugin chains
// (resolved by Kong's scope precedence), balancers and TLS material. Built off the hot path when a
// snapshot is applied; the proxy swaps one reference, in-flight requests finish on the old one.
import type { Row, Snapshot } from '../shared/snapshot.js';
import { Balancers, type BalancerLog } from './balancer/index.js';
import { compileRouter, type Router } from './router/index.js';
import { EMPTY_CHAIN, PluginChain, PluginEntry, type PluginInstance } from './plugins/pipeline.js';
import type { PluginHandler, SnapshotIndex } from './plugins/types.js';

export type PluginRegistry = Record<string, PluginHandler>;

export interface Runtime {
  readonly snapshot: Snapshot;
  readonly router: Router;
  /** Global plugins (no route/service/consumer), priority descending: rewrite phase and unrouted requests. */
  readonly globals: PluginInstance[];
  /** Plugin chain of a matched route (EMPTY_CHAIN when no plugin can apply). */
  chainFor(route: Row): PluginChain;
  readonly balancers: Balancers;
  readonly servicesById: Map<string, Row>;
  readonly consumersById: Map<string, Row>;
  /** Plugin rows that failed to initialise are a compile error; this lists route compile problems. */
  readonly warnings: string[];
  close(): void;
}

export class RuntimeCompileError extends Error {
  override name = 'RuntimeCompileError';
}

export interface CompileOptions {
  log?: BalancerLog;
  /** Balancers of the runtime being replaced, so health state survives unrelated changes. */
  previous?: Runtime | null;
}

const NOOP_LOG: BalancerLog = { info() {}, warn() {}, error() {}, debug() {} };

function idOf(fk: unknown): string | null {
  return fk && typeof fk === 'object' && typeof (fk as Row).id === 'string' ? (fk as Row).id : null;
}

function snapshotIndex(snapshot: Snapshot, consumersById: Map<string, Row>): SnapshotIndex {
  const built = new Map<string, unknown>();
  return {
    snapshot,
    consumersById,
    memo<T>(key: string, build: (s: Snapshot) => T): T {
      if (!built.has(key)) built.set(key, build(snapshot));
      return built.get(key) as T;
    },
  };
}

function instantiate(row: Row, handler: PluginHandler, index: SnapshotIndex): PluginInstance {
  const config = row.config ?? {};
  let state: unknown;
  try {
    state = handler.init ? handler.init(config, row, index) : undefined;
  } catch (err) {
    throw new RuntimeCompileError(`plugin '${row.name}' (${row.id}) failed to initialise: ${(err as Error).message}`);
  }
  const protocols: string[] | null = Array.isArray(row.protocols) && row.protocols.length ? row.protocols : null;
  return {
    name: row.name,
    handler,
    config,
    state,
    row,
    http: protocols === null || protocols.includes('http'),
    https: protocols === null || protocols.includes('https'),
  };
}

export function compileRuntime(snapshot: Snapshot, registry: PluginRegistry, opts: CompileOptions = {}): Runtime {
  const log = opts.log ?? NOOP_LOG;
  const router = compileRouter(snapshot.routes ?? [], snapshot.services ?? []);
  const warnings = router.errors.map((e) => `route ${e.routeId}: ${e.message}`);

  const consumersById = new Map<string, Row>();
  for (const c of snapshot.consumers ?? []) consumersById.set(c.id, c);
  const index = snapshotIndex(snapshot, consumersById);

  // Plugin instances by scope.
  const instances: PluginInstance[] = [];
  for (const row of snapshot.plugins ?? []) {
    if (row.enabled === false) continue;
    const handler = registry[row.name];
    if (!handler) throw new RuntimeCompileError(`plugin '${row.name}' is configured but not available on this data plane`);
    instances.push(instantiate(row, handler, index));
  }
  const byPriority = (a: { handler: PluginHandler }, b: { handler: PluginHandler }) => b.handler.priority - a.handler.priority;

  const globals = instances.filter((i) => !i.row.route && !i.row.service && !i.row.consumer).sort(byPriority);
  const routesWithPlugins = new Set<string>();
  const servicesWithPlugins = new Set<string>();
  for (const i of instances) {
    const r = idOf(i.row.route);
    const s = idOf(i.row.service);
    if (r) routesWithPlugins.add(r);
    if (s) servicesWithPlugins.add(s);
  }

  function buildChain(routeId: string | null, serviceId: string | null): PluginChain {
    const entries = new Map<string, PluginEntry>();
    const partial = new Map<string, { r?: PluginInstance; s?: PluginInstance; g?: PluginInstance }>();
    for (const inst of instances) {
      const r = idOf(inst.row.route);
      const s = idOf(inst.row.service);
      const c = idOf(inst.row.consumer);
      if (r !== null && r !== routeId) continue;
      if (s !== null && s !== serviceId) continue;
      let e = entries.get(inst.name);
      if (!e) entries.set(inst.name, (e = new PluginEntry(inst.name, inst.handler)));
      if (c !== null) {
        e.byConsumer ??= new Map();
        let cc = e.byConsumer.get(c);
        if (!cc) e.byConsumer.set(c, (cc = {}));
        if (r && s) cc.rsc = inst;
        else if (r) cc.rc = inst;
        else if (s) cc.sc = inst;
        else cc.c = inst;
        continue;
      }
      let p = partial.get(inst.name);
      if (!p) partial.set(inst.name, (p = {}));
      if (r && s) e.rs = inst;
      else if (r) p.r = inst;
      else if (s) p.s = inst;
      else p.g = inst;
    }
    for (const [name, p] of partial) entries.get(name)!.rOrSOrG = p.r ?? p.s ?? p.g;
    const list = [...entries.values()].sort(byPriority);
    return list.length ? new PluginChain(list) : EMPTY_CHAIN;
  }

  // Chains are shared between routes whose own scopes carry no plugin.
  const chains = new Map<string, PluginChain>();
  const chainByRoute = new Map<string, PluginChain>();
  for (const route of snapshot.routes ?? []) {
    const rid = routesWithPlugins.has(route.id) ? route.id : null;
    const sidRaw = idOf(route.service);
    const sid = sidRaw && servicesWithPlugins.has(sidRaw) ? sidRaw : null;
    const key = `${rid ?? ''}|${sid ?? ''}`;
    let chain = chains.get(key);
    if (!chain) chains.set(key, (chain = buildChain(rid, sid)));
    chainByRoute.set(route.id, chain);
  }

  const servicesById = new Map<string, Row>();
  for (const s of snapshot.services ?? []) servicesById.set(s.id, s);
  const balancers = new Balancers(snapshot, log, { previous: opts.previous?.balancers });

  return {
    snapshot,
    router,
    globals,
    chainFor: (route: Row) => chainByRoute.get(route.id) ?? EMPTY_CHAIN,
    balancers,
    servicesById,
    consumersById,
    warnings,
    close: () => balancers.close(),
  };
}
