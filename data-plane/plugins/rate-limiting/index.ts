// rate-limiting (priority 910): count each request against the configured periods for its
// identity (consumer, credential, ip, service, header or path) and answer `error_code` once a
// limit is reached. Counters live in this process (`local`) or in Redis shared by all data planes
// (`redis`, and `cluster` when a Redis is configured). Every store checks and counts in one atomic
// step, so the limit is exact. Window: Kong's fixed windows, or sliding (the previous window's
// count weighted by how much of it still overlaps), which has no 2× burst at a window edge.
import { PERIODS, type Period } from '../../../shared/plugins/rate-limiting.js';
import type { PluginHandler, PluginResponse, RequestContext } from '../types.js';
import type { CounterStore, Outcome, PeriodCheck } from './counters.js';
import { rateLimitHeaders } from './headers.js';
import { counterKey, identify, keyPrefix, scopeOf, type LimitBy } from './identifier.js';
import { localStore } from './local-store.js';
import { logThrottled } from './log.js';
import { redisCounters, type RedisConfig } from './redis-store.js';
import { windowOf, type Window } from './windows.js';

export { closeRedisStores } from './redis-store.js';

export interface RateLimitingConfig extends Partial<Record<Period, number | null>> {
  limit_by: LimitBy;
  header_name: string | null;
  path: string | null;
  policy: 'local' | 'cluster' | 'redis';
  fault_tolerant: boolean;
  redis: RedisConfig;
  hide_client_headers: boolean;
  error_code: number;
  error_message: string;
  window_type: 'fixed' | 'sliding';
}

interface Limit {
  period: Period;
  limit: number;
}

/** The counter keys of one identity in the windows they were made for. */
interface IdentityKeys {
  starts: number[];
  keys: string[];
  prevKeys: string[];
}

/** Identities whose keys are kept (a flood of client IPs just starts the cache over). */
const KEY_CACHE_SIZE = 10_000;

interface RateLimitState {
  limits: Limit[];
  scope: string;
  /** Keys by identifier: a returning client reuses its strings, whose hashes are already known. */
  keyCache: Map<string, IdentityKeys>;
  store: CounterStore;
  sliding: boolean;
  headerName: string | null;
}

function usesRedis(conf: RateLimitingConfig): boolean {
  if (conf.policy === 'redis') return true;
  // `cluster` (Kong's database policy) uses Redis when one is configured; data planes have no database
  const r = conf.redis;
  return conf.policy === 'cluster' && r != null && Boolean(r.host || r.sentinel_nodes?.length || r.cluster_nodes?.length);
}

const INTERNAL_ERROR = 'An unexpected error occurred';

function keysOf(state: RateLimitState, identifier: string): IdentityKeys {
  let k = state.keyCache.get(identifier);
  if (k === undefined) {
    if (state.keyCache.size >= KEY_CACHE_SIZE) state.keyCache.clear();
    const n = state.limits.length;
    k = { starts: new Array<number>(n).fill(NaN), keys: new Array<string>(n), prevKeys: new Array<string>(n) };
    state.keyCache.set(identifier, k);
  }
  return k;
}

function buildChecks(state: RateLimitState, identifier: string, now: number, windows: Window[]): PeriodCheck[] {
  const checks = new Array<PeriodCheck>(state.limits.length);
  const cached = keysOf(state, identifier);
  for (let i = 0; i < state.limits.length; i++) {
    const { period, limit } = state.limits[i];
    const w = windowOf(period, now);
    windows[i] = w;
    if (cached.starts[i] !== w.start) {
      const prefix = keyPrefix(state.scope, identifier);
      cached.keys[i] = counterKey(prefix, w.start, period);
      cached.prevKeys[i] = counterKey(prefix, w.prevStart, period);
      cached.starts[i] = w.start;
    }
    const len = w.end - w.start;
    checks[i] = {
      period,
      limit,
      key: cached.keys[i],
      prevKey: cached.prevKeys[i],
      weight: state.sliding ? Math.max(0, (w.end - now) / len) : 0,
      // a sliding window's counter is read again as the previous one during the next window
      ttlMs: state.sliding ? w.end - now + len + 1000 : w.end - now + 1000,
    };
  }
  return checks;
}

function decide(
  ctx: RequestContext,
  conf: RateLimitingConfig,
  state: RateLimitState,
  checks: PeriodCheck[],
  windows: Window[],
  now: number,
  outcome: Outcome,
): PluginResponse | undefined {
  if (!conf.hide_client_headers || outcome.blocked) {
    const headers: Record<string, string | string[] | null> = conf.hide_client_headers ? {} : ctx.responseHeaders;
    const reset = rateLimitHeaders({ checks, windows, outcome, now, sliding: state.sliding }, headers);
    if (outcome.blocked) {
      ctx.rateLimited = true;
      return {
        status: conf.error_code,
        body: { message: conf.error_message, request_id: ctx.requestId },
        // Kong: no Retry-After either when the client headers are hidden
        headers: conf.hide_client_headers ? undefined : { 'Retry-After': String(reset) },
      };
    }
  }
  return undefined;
}

function storeFailed(ctx: RequestContext, conf: RateLimitingConfig, err: unknown): PluginResponse | undefined {
  const error = err instanceof Error ? err.message : String(err);
  logThrottled('error', `store:${error}`, { error, fault_tolerant: conf.fault_tolerant }, 'rate-limiting: failed to count the request');
  // fault tolerant: proxy without rate-limit headers; otherwise Kong's 500
  if (conf.fault_tolerant) return undefined;
  return { status: 500, body: { message: INTERNAL_ERROR, request_id: ctx.requestId } };
}

export const rateLimiting: PluginHandler<RateLimitingConfig> = {
  name: 'rate-limiting',
  version: '3.9.0',
  priority: 910,

  init(conf, instance): RateLimitState {
    const limits: Limit[] = [];
    for (const period of PERIODS) {
      const v = conf[period];
      if (typeof v === 'number' && v > 0) limits.push({ period, limit: v });
    }
    return {
      limits,
      scope: scopeOf(instance as any),
      keyCache: new Map(),
      store: usesRedis(conf) ? redisCounters(conf.redis) : localStore,
      sliding: conf.window_type === 'sliding',
      headerName: conf.header_name ? conf.header_name.toLowerCase().replace(/_/g, '-') : null,
    };
  },

  access(ctx, conf, state: RateLimitState) {
    if (state.limits.length === 0) return undefined;
    const now = Date.now();
    const identifier = identify(ctx, conf.limit_by, state.headerName, conf.path);
    const windows = new Array<Window>(state.limits.length);
    const checks = buildChecks(state, identifier, now, windows);
    let r: Outcome | Promise<Outcome>;
    try {
      r = state.store.consume(checks);
    } catch (err) {
      return storeFailed(ctx, conf, err);
    }
    if (r instanceof Promise) {
      return r.then(
        (outcome) => decide(ctx, conf, state, checks, windows, now, outcome),
        (err) => storeFailed(ctx, conf, err),
      );
    }
    return decide(ctx, conf, state, checks, windows, now, r);
  },
};

export default rateLimiting;
