// proxy-cache (priority 100): Kong's proxy-cache. Access looks the request up (Hit: answered from
// the cache with Age; Miss/Refresh: proxied and marked for storing; Bypass: not cacheable); the
// response phase stores cacheable upstream responses, asking the proxy to buffer only those.
// X-Cache-Status / X-Cache-Key go to the client as Kong sends them; ctx.cacheStatus is for metrics.
import type { PluginHandler, PluginResponse, RequestContext, UpstreamResponse } from '../types.js';
import type { ProxyCacheConfig } from './config.js';
import { buildCacheKey, type KeyRules } from './key.js';
import { memoryStore } from './memory-store.js';
import { redisStore } from './redis-store.js';
import { cacheableRequest, cacheableResponse, NO_DIRECTIVES, parseDirectives, parseMediaType, resourceTtl, type Directives, type Rules } from './rules.js';
import { entrySize, type CacheEntry, type CacheStore } from './store.js';

type Status = 'Hit' | 'Miss' | 'Bypass' | 'Refresh';

interface State {
  rules: Rules;
  key: KeyRules;
  store: CacheStore;
  /** Largest body worth buffering for the store (the memory bound; 512 MiB, Redis's value limit). */
  maxBody: number;
}

/** What access leaves for the response phase (kong.ctx.plugin.proxy_cache). */
interface Pending {
  key: string;
  state: State;
}

const SLOT = 'proxy-cache';

// not replayed from the cache (Kong's hop_by_hop_headers, and rate-limit counters of the original request)
const NOT_REPLAYED = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers', 'transfer-encoding', 'upgrade', 'content-length']);

function storeLog(err: unknown, msg: string): void {
  const e = err as { message?: string; code?: string } | undefined;
  process.stderr.write(JSON.stringify({ level: 40, time: Date.now(), msg, err: e?.message ?? String(err), code: e?.code }) + '\n');
}

/** X-Cache-Status (and X-Cache-Key once computed) on a proxied response. */
function setStatus(ctx: RequestContext, conf: ProxyCacheConfig, status: Status, key?: string): void {
  ctx.cacheStatus = status;
  if (conf.response_headers['X-Cache-Status']) ctx.responseHeaders['X-Cache-Status'] = status;
  if (key !== undefined && conf.response_headers['X-Cache-Key']) ctx.responseHeaders['X-Cache-Key'] = key;
}

function pending(ctx: RequestContext): Pending | undefined {
  return ctx.cacheStatus === 'Miss' || ctx.cacheStatus === 'Refresh' ? (ctx.shared[SLOT] as Pending | undefined) : undefined;
}

function authenticated(ctx: RequestContext): boolean {
  return ctx.consumer !== null || ctx.req.headers.authorization !== undefined;
}

/** Kong's freshness checks: the client's max-age/max-stale/min-fresh with cache_control, else cache_ttl. */
function stale(conf: ProxyCacheConfig, cc: Directives, e: CacheEntry, now: number): boolean {
  const age = (now - e.timestamp) / 1000;
  if (conf.cache_control) {
    const maxAge = cc['max-age'];
    if (typeof maxAge === 'number' && age > maxAge) return true;
    const maxStale = cc['max-stale'];
    if (typeof maxStale === 'number' && age - e.ttl > maxStale) return true;
    const minFresh = cc['min-fresh'];
    if (typeof minFresh === 'number' && e.ttl - age < minFresh) return true;
    return false;
  }
  return age > conf.cache_ttl;
}

function hit(ctx: RequestContext, conf: ProxyCacheConfig, key: string, e: CacheEntry, now: number): PluginResponse {
  // entry headers were filtered when stored: one copy plus Kong's diagnostic headers (a for-in
  // copy: a spread followed by new keys measured ~15x slower, a dictionary-mode object)
  const headers: Record<string, string | string[]> = {};
  const stored = e.headers;
  for (const k in stored) headers[k] = stored[k];
  if (conf.response_headers.age) headers['age'] = String(Math.floor((now - e.timestamp) / 1000));
  ctx.cacheStatus = 'Hit';
  if (conf.response_headers['X-Cache-Status']) headers['x-cache-status'] = 'Hit';
  if (conf.response_headers['X-Cache-Key']) headers['x-cache-key'] = key;
  return { status: e.status, body: e.body, headers };
}

function lookedUp(ctx: RequestContext, conf: ProxyCacheConfig, state: State, cc: Directives, key: string, e: CacheEntry | undefined): PluginResponse | undefined {
  if (e === undefined) {
    // RFC 7234 5.2.1.7: the client only wants a cached answer
    if (conf.cache_control && cc['only-if-cached']) return { status: 504 };
    ctx.shared[SLOT] = { key, state } satisfies Pending;
    setStatus(ctx, conf, 'Miss', key);
    return undefined;
  }
  const now = Date.now();
  if (stale(conf, cc, e, now)) {
    ctx.shared[SLOT] = { key, state } satisfies Pending;
    setStatus(ctx, conf, 'Refresh', key);
    return undefined;
  }
  return hit(ctx, conf, key, e, now);
}

function responseDirectives(conf: ProxyCacheConfig, res: UpstreamResponse): Directives {
  return conf.cache_control ? parseDirectives(res.headers['cache-control']) : NO_DIRECTIVES;
}

function tooLarge(state: State, res: UpstreamResponse): boolean {
  const cl = res.headers['content-length'];
  return typeof cl === 'string' && Number(cl) > state.maxBody;
}

export const proxyCache: PluginHandler<ProxyCacheConfig> = {
  name: 'proxy-cache',
  version: '3.9.0',
  priority: 100,

  init(conf): State {
    const rules: Rules = {
      methods: new Set(conf.request_method),
      codes: new Set(conf.response_code),
      contentTypes: conf.content_type.map(parseMediaType).filter((m) => m !== undefined),
      cacheControl: conf.cache_control,
      cacheSetCookie: conf.cache_set_cookie,
      cacheAuthenticated: conf.cache_authenticated,
    };
    const vary = conf.vary_headers ?? [];
    const key: KeyRules = {
      ignoreUriCase: !!conf.ignore_uri_case,
      varyQuery: conf.vary_query_params && conf.vary_query_params.length > 0 ? conf.vary_query_params : null,
      varyHeaders: vary.map((h) => h.toLowerCase()),
      varyHeaderNames: vary,
    };
    if (conf.strategy === 'redis') return { rules, key, store: redisStore(conf.redis, storeLog), maxBody: 512 * 1024 * 1024 };
    return { rules, key, store: memoryStore(conf.memory.dictionary_name, conf.memory.max_bytes), maxBody: conf.memory.max_bytes };
  },

  access(ctx, conf, state: State) {
    const cc = conf.cache_control ? parseDirectives(ctx.req.headers['cache-control']) : NO_DIRECTIVES;
    if (!cacheableRequest(state.rules, ctx.method, ctx.req.headers, cc, authenticated(ctx))) {
      setStatus(ctx, conf, 'Bypass');
      return;
    }
    const key = buildCacheKey(ctx, state.key);
    let found: CacheEntry | undefined | Promise<CacheEntry | undefined>;
    try {
      found = state.store.get(key);
    } catch {
      found = undefined;
    }
    if (found instanceof Promise) {
      return found.then(
        (e) => lookedUp(ctx, conf, state, cc, key, e),
        () => {
          // the store cannot answer: proxy as if there were no cache (and do not try to store)
          setStatus(ctx, conf, 'Bypass', key);
          return undefined;
        },
      );
    }
    return lookedUp(ctx, conf, state, cc, key, found);
  },

  bufferResponse(conf, ctx, res) {
    const p = pending(ctx);
    if (p === undefined) return false;
    if (res === undefined) return true;
    const s = p.state;
    return !tooLarge(s, res) && cacheableResponse(s.rules, res.status, res.headers, responseDirectives(conf, res), Date.now());
  },

  response(ctx, res, conf, state: State) {
    const p = pending(ctx);
    if (p === undefined) return;
    const now = Date.now();
    const cc = responseDirectives(conf, res);
    if (res.body === undefined || tooLarge(state, res) || !cacheableResponse(state.rules, res.status, res.headers, cc, now)) {
      setStatus(ctx, conf, 'Bypass', p.key);
      ctx.shared[SLOT] = undefined;
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const k in res.headers) if (!NOT_REPLAYED.has(k) && !k.includes('ratelimit-remaining')) headers[k] = res.headers[k];
    const ttl = conf.cache_control ? resourceTtl(cc, res.headers, now) : conf.cache_ttl;
    const entry: CacheEntry = { status: res.status, headers, body: res.body, timestamp: now, ttl };
    if (entrySize(entry) > state.maxBody) return;
    state.store.set(p.key, entry, conf.storage_ttl ?? ttl);
  },
};

export default proxyCache;
