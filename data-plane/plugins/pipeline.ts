// Runs plugin phases in priority order (Kong's handler phases). Plugin chains are resolved when a
// snapshot is compiled (see ../runtime.ts); here only the per-request walk happens:
//   rewrite (global plugins, before routing) → access (route chain; consumer-scoped configs once an
//   auth plugin identified the consumer) → response (headers, or body when asked) → log (deferred).
import type { Row } from '../../shared/snapshot.js';
import type { PhaseResult, PluginHandler, PluginResponse, RequestContext, UpstreamResponse } from './types.js';

/** One configured plugin row, initialised for the current snapshot. */
export interface PluginInstance {
  name: string;
  handler: PluginHandler;
  config: any;
  state: unknown;
  row: Row;
  http: boolean;
  https: boolean;
}

type ConsumerConfigs = { rsc?: PluginInstance; rc?: PluginInstance; sc?: PluginInstance; c?: PluginInstance };

/** Every config of one plugin name that can apply to a (route, service) pair. */
export class PluginEntry {
  /** route+service, then the best of route > service > global (no consumer). */
  rs?: PluginInstance;
  rOrSOrG?: PluginInstance;
  byConsumer?: Map<string, ConsumerConfigs>;
  constructor(
    readonly name: string,
    readonly handler: PluginHandler,
  ) {}

  /** Kong's lookup_cfg precedence: R+S+C > R+C > S+C > R+S > C > R > S > G. */
  resolve(consumerId: string | null): PluginInstance | undefined {
    const cc = consumerId !== null && this.byConsumer !== undefined ? this.byConsumer.get(consumerId) : undefined;
    if (cc !== undefined) {
      const hit = cc.rsc ?? cc.rc ?? cc.sc;
      if (hit) return hit;
    }
    if (this.rs) return this.rs;
    if (cc?.c) return cc.c;
    return this.rOrSOrG;
  }
}

/** The plugins of one (route, service) pair, priority descending. */
export class PluginChain {
  readonly empty: boolean;
  /** Some plugin of the chain can ask for the request body (else access skips that question). */
  readonly mayWantRequestBody: boolean;
  /**
   * Without consumer-scoped configs every request of a scheme resolves to the same instances: listed
   * once here, shared by those requests (read-only), instead of resolved per request.
   */
  readonly fixedHttp: readonly PluginInstance[] | null = null;
  readonly fixedHttps: readonly PluginInstance[] | null = null;
  constructor(readonly entries: PluginEntry[]) {
    this.empty = entries.length === 0;
    this.mayWantRequestBody = entries.some((e) => e.handler.bufferRequest !== undefined);
    if (entries.every((e) => e.byConsumer === undefined)) {
      const all = entries.map((e) => e.resolve(null)).filter((i): i is PluginInstance => i !== undefined);
      this.fixedHttp = all.filter((i) => i.http);
      this.fixedHttps = all.filter((i) => i.https);
    }
  }

  /** The instances every request of this scheme gets, or null when they depend on the consumer. */
  fixedFor(ctx: RequestContext): readonly PluginInstance[] | null {
    return ctx.scheme === 'https' ? this.fixedHttps : this.fixedHttp;
  }
}

export const EMPTY_CHAIN = new PluginChain([]);

function applies(inst: PluginInstance, ctx: RequestContext): boolean {
  return ctx.scheme === 'https' ? inst.https : inst.http;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as any).then === 'function';
}

export type LogSink = { error(obj: unknown, msg?: string): void };

export const MSG_UNEXPECTED = 'An unexpected error occurred';

/** A plugin phase threw (or its promise rejected): which plugin, which phase, and the cause. */
export class PluginFailure extends Error {
  constructor(
    readonly plugin: string,
    readonly phase: 'rewrite' | 'access' | 'response',
    override readonly cause: unknown,
  ) {
    super(`plugin ${plugin} failed in ${phase}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** The cause of a failed plugin phase as it goes to the log (message and stack, not an opaque object). */
export function logFailure(log: LogSink, ctx: RequestContext, f: PluginFailure): void {
  const c = f.cause;
  log.error(
    { plugin: f.plugin, phase: f.phase, request_id: ctx.requestId, err: c instanceof Error ? { message: c.message, stack: c.stack } : String(c) },
    'plugin failed: the client gets 500, later plugins still log',
  );
}

/**
 * Rewrite phase of the global plugins. Returns a response when a plugin answered. A plugin that throws
 * ends the phase: Kong's error handler answers 500 (with the request id), log phases still run.
 */
export async function runRewrite(ctx: RequestContext, globals: PluginInstance[], log?: LogSink): Promise<PluginResponse | undefined> {
  for (const inst of globals) {
    const fn = inst.handler.rewrite;
    if (fn === undefined || !applies(inst, ctx)) continue;
    let r: PhaseResult;
    try {
      const v = fn.call(inst.handler, ctx, inst.config, inst.state);
      r = isThenable(v) ? await v : v;
    } catch (err) {
      if (log) logFailure(log, ctx, new PluginFailure(inst.name, 'rewrite', err));
      return { status: 500, body: { message: MSG_UNEXPECTED, request_id: ctx.requestId } };
    }
    if (r) return r;
  }
  return undefined;
}

/**
 * Access phase: resolves each plugin's config with the consumer known at that point (so plugins
 * after an auth plugin see consumer-scoped configs) and records the resolved instances in `out`
 * for the response and log phases. Gives a response when a plugin answered. Synchronous while the
 * handlers are (the common case: no promise, no microtask per request); a promise from the first
 * handler that returns one.
 *
 * A plugin that throws is Kong's delayed response: the remaining access handlers are skipped, the
 * client gets 500 `{"message":"An unexpected error occurred"}`, and every plugin of the chain still
 * runs its response and log phases (the caller resolves the rest).
 */
export function runAccess(
  ctx: RequestContext,
  chain: PluginChain,
  out: PluginInstance[],
  log?: LogSink,
  from = 0,
): PluginResponse | undefined | Promise<PluginResponse | undefined> {
  const entries = chain.entries;
  for (let i = from; i < entries.length; i++) {
    const inst = entries[i].resolve(ctx.consumer ? (ctx.consumer.id as string) : null);
    if (inst === undefined || !applies(inst, ctx)) continue;
    out.push(inst);
    const v = accessOf(ctx, inst, log);
    if (v instanceof Promise) {
      const next = i + 1;
      return v.then((r) => (r ? r : runAccess(ctx, chain, out, log, next)));
    }
    if (v) return v;
  }
  return undefined;
}

/** runAccess over a chain's fixed instances (PluginChain.fixedFor): nothing to resolve or record. */
export function runAccessFixed(
  ctx: RequestContext,
  list: readonly PluginInstance[],
  log?: LogSink,
  from = 0,
): PluginResponse | undefined | Promise<PluginResponse | undefined> {
  for (let i = from; i < list.length; i++) {
    const v = accessOf(ctx, list[i], log);
    if (v instanceof Promise) {
      const next = i + 1;
      return v.then((r) => (r ? r : runAccessFixed(ctx, list, log, next)));
    }
    if (v) return v;
  }
  return undefined;
}

/** One access handler's answer (a failure becomes Kong's 500): a promise only when the handler returned one. */
function accessOf(ctx: RequestContext, inst: PluginInstance, log?: LogSink): PhaseResult | Promise<PhaseResult> {
  const fn = inst.handler.access;
  if (fn === undefined) return undefined;
  try {
    const v = fn.call(inst.handler, ctx, inst.config, inst.state);
    return isThenable(v) ? Promise.resolve(v).catch((err) => accessFailed(ctx, inst, err, log)) : v;
  } catch (err) {
    return accessFailed(ctx, inst, err, log);
  }
}

function accessFailed(ctx: RequestContext, inst: PluginInstance, err: unknown, log?: LogSink): PluginResponse {
  if (log) logFailure(log, ctx, new PluginFailure(inst.name, 'access', err));
  return { status: 500, body: { message: MSG_UNEXPECTED } };
}

/** The resolved instances without running access (a plugin answered before all were reached). */
export function resolveRest(ctx: RequestContext, chain: PluginChain, out: PluginInstance[]): void {
  const known = out.length;
  for (const entry of chain.entries) {
    if (known > 0 && resolvedAlready(out, known, entry.name)) continue;
    const inst = entry.resolve(ctx.consumer ? (ctx.consumer.id as string) : null);
    if (inst !== undefined && applies(inst, ctx)) out.push(inst);
  }
}

function resolvedAlready(out: PluginInstance[], known: number, name: string): boolean {
  for (let i = 0; i < known; i++) if (out[i].name === name) return true;
  return false;
}

export function wantsRequestBody(ctx: RequestContext, plugins: readonly PluginInstance[]): boolean {
  for (const inst of plugins) if (inst.handler.bufferRequest?.(inst.config, ctx)) return true;
  return false;
}

/**
 * Whether a plugin wants the upstream body buffered. Without `res` (in access, before the upstream
 * answered) the answer is conservative; given the response status and headers it is final.
 */
export function wantsResponseBody(ctx: RequestContext, plugins: PluginInstance[], res?: UpstreamResponse): boolean {
  for (const inst of plugins) if (inst.handler.bufferResponse?.(inst.config, ctx, res)) return true;
  return false;
}

export function hasLogPhase(plugins: PluginInstance[]): boolean {
  for (const inst of plugins) if (inst.handler.log !== undefined) return true;
  return false;
}

export function hasResponsePhase(plugins: PluginInstance[]): boolean {
  for (const inst of plugins) if (inst.handler.response !== undefined) return true;
  return false;
}

/** Whether a proxied response needs the response phase, every access handler having run. */
export function proxiedResponseNeedsPlugins(ctx: RequestContext, plugins: PluginInstance[]): boolean {
  for (let i = 0; i < plugins.length; i++) {
    const h = plugins[i].handler;
    if (h.response !== undefined && (h.wantsResponse === undefined || h.wantsResponse(plugins[i].config, ctx))) return true;
  }
  return false;
}

/**
 * Response phase (Kong's header_filter/body_filter): plugins edit status, headers and, if asked, body.
 * Synchronous (undefined) while the handlers are; a promise from the first one that returns one.
 * A plugin that throws stops the phase: the promise rejects with a PluginFailure (never a synchronous
 * throw; the caller answers 500; logs still run).
 */
export function runResponse(ctx: RequestContext, res: UpstreamResponse, plugins: PluginInstance[], from = 0): Promise<void> | undefined {
  for (let i = from; i < plugins.length; i++) {
    const inst = plugins[i];
    const fn = inst.handler.response;
    if (fn === undefined) continue;
    let r: unknown;
    try {
      r = fn.call(inst.handler, ctx, res, inst.config, inst.state);
    } catch (err) {
      return Promise.reject(new PluginFailure(inst.name, 'response', err));
    }
    if (isThenable(r)) {
      const next = i + 1;
      return Promise.resolve(r).then(
        () => runResponse(ctx, res, plugins, next),
        (err) => {
          throw new PluginFailure(inst.name, 'response', err);
        },
      );
    }
  }
  return undefined;
}

/** Log phase: after the response finished, off the critical path. A failing plugin never affects others. */
export function runLog(ctx: RequestContext, plugins: PluginInstance[], log: LogSink): void {
  for (const inst of plugins) {
    const fn = inst.handler.log;
    if (fn === undefined) continue;
    try {
      fn.call(inst.handler, ctx, inst.config, inst.state);
    } catch (err) {
      log.error({ plugin: inst.name, phase: 'log', request_id: ctx.requestId, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'plugin log phase failed');
    }
  }
}
