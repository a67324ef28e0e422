// cors (priority 2000): answer CORS preflights in access (before auth plugins, so they need no
// credentials) and add the CORS headers to every other response.
import type { PluginHandler, RequestContext, UpstreamResponse } from '../types.js';

export interface CorsConfig {
  origins: string[] | null;
  headers: string[] | null;
  exposed_headers: string[] | null;
  methods: string[] | null;
  max_age: number | null;
  credentials: boolean;
  private_network: boolean;
  preflight_continue: boolean;
  allow_origin_absent: boolean;
}

type AllowedOrigin = { regex: RegExp; byHost: boolean } | { domain: string };

interface CorsState {
  /** ACAO is always '*'. */
  allowAll: boolean;
  /** A single literal origin: sent as is whatever the request's origin. */
  single: string | null;
  origins: AllowedOrigin[];
  /** '*' appears among several origins: any request origin is allowed with '*'. */
  starAmong: boolean;
}

const ALL_METHODS = 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT';
const LITERAL_ORIGIN = /^[A-Za-z0-9.:/-]+$/;
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** scheme://host[:port] without default ports; origins that do not parse as URLs stay as they are. */
function normalizeOrigin(origin: string): { domain: string; host: string } {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return { domain: origin, host: origin };
  }
  if (!url.host) return { domain: origin, host: origin };
  const port = url.port && url.port !== DEFAULT_PORTS[url.protocol] ? `:${url.port}` : '';
  return { domain: `${url.protocol}//${url.hostname}${port}`, host: url.hostname };
}

function compile(conf: CorsConfig): CorsState {
  const list = conf.origins ?? [];
  const state: CorsState = { allowAll: false, single: null, origins: [], starAmong: false };
  if (list.length === 0 || (list.length === 1 && list[0] === '*')) {
    state.allowAll = true;
    return state;
  }
  if (list.length === 1 && LITERAL_ORIGIN.test(list[0])) {
    state.single = list[0];
    return state;
  }
  for (let entry of list) {
    if (entry === '*') {
      state.starAmong = true;
      continue;
    }
    const byHost = !entry.includes(':');
    if (LITERAL_ORIGIN.test(entry)) {
      state.origins.push({ domain: normalizeOrigin(entry).domain });
      continue;
    }
    // Kong 0.x did not anchor regexes; anchor both ends, honouring a user's own anchors.
    if (!entry.endsWith('$')) entry += '$';
    if (entry.startsWith('^')) entry = entry.slice(1);
    state.origins.push({ regex: new RegExp(`^(?:${entry})`), byHost });
  }
  return state;
}

type HeaderSink = {
  set(name: string, value: string): void;
  clear(name: string): void;
  /** Vary: Origin — added to what is there in the response phase, set in a preflight. */
  vary(): void;
};

/** Sets Access-Control-Allow-Origin; returns true when it is '*'. */
function configureOrigin(state: CorsState, out: HeaderSink, reqOrigin: string | undefined): boolean {
  if (state.allowAll) {
    out.set('access-control-allow-origin', '*');
    return true;
  }
  // Always vary on Origin: caches must not mix answers for different origins.
  out.vary();
  if (state.single !== null) {
    out.set('access-control-allow-origin', state.single);
    return false;
  }
  if (reqOrigin !== undefined) {
    if (state.starAmong) {
      out.set('access-control-allow-origin', '*');
      return true;
    }
    const req = normalizeOrigin(reqOrigin);
    for (const o of state.origins) {
      const found = 'regex' in o ? o.regex.test(o.byHost ? req.host : req.domain) : o.domain === req.domain;
      if (found) {
        out.set('access-control-allow-origin', req.domain);
        return false;
      }
    }
  }
  out.clear('access-control-allow-origin');
  return false;
}

function configureCredentials(conf: CorsConfig, allowAll: boolean, out: HeaderSink, reqOrigin: string | undefined): void {
  if (!conf.credentials) return;
  if (!allowAll) {
    out.set('access-control-allow-credentials', 'true');
    return;
  }
  // ACAC cannot be true with ACAO '*': answer with the request's origin instead.
  if (reqOrigin !== undefined) {
    out.vary();
    out.set('access-control-allow-origin', reqOrigin);
    out.set('access-control-allow-credentials', 'true');
  }
}

function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Preflights whose headers were already sent (or left to the upstream): no headers in the response phase. */
const skipResponse = new WeakSet<RequestContext>();

function responseSink(res: UpstreamResponse): HeaderSink {
  return {
    set: (n, v) => void (res.headers[n] = v),
    clear: (n) => void delete res.headers[n],
    vary: () => {
      const cur = res.headers['vary'];
      res.headers['vary'] = cur === undefined ? 'Origin' : Array.isArray(cur) ? [...cur, 'Origin'] : [cur, 'Origin'];
    },
  };
}

export const cors: PluginHandler<CorsConfig> = {
  name: 'cors',
  version: '3.9.0',
  priority: 2000,

  init: (conf) => compile(conf),

  access(ctx, conf, state: CorsState) {
    const origin = header(ctx, 'origin');
    if (ctx.method !== 'OPTIONS' || origin === undefined || header(ctx, 'access-control-request-method') === undefined) return;
    skipResponse.add(ctx);
    if (conf.preflight_continue) return;

    const headers: Record<string, string> = {};
    const sink: HeaderSink = {
      set: (n, v) => void (headers[n] = v),
      clear: (n) => void delete headers[n],
      vary: () => void (headers['vary'] = 'Origin'),
    };
    const allowAll = configureOrigin(state, sink, origin);
    configureCredentials(conf, allowAll, sink, origin);

    if (conf.headers && conf.headers.length > 0) headers['access-control-allow-headers'] = conf.headers.join(',');
    else {
      const acrh = header(ctx, 'access-control-request-headers');
      if (acrh !== undefined) headers['access-control-allow-headers'] = acrh;
    }
    headers['access-control-allow-methods'] = conf.methods ? conf.methods.join(',') : ALL_METHODS;
    if (conf.max_age !== null && conf.max_age !== undefined) headers['access-control-max-age'] = String(conf.max_age);
    if (conf.private_network && header(ctx, 'access-control-request-private-network') === 'true') {
      headers['access-control-allow-private-network'] = 'true';
    }
    return { status: 200, headers };
  },

  response(ctx, res, conf, state: CorsState) {
    if (skipResponse.has(ctx)) return;
    const origin = header(ctx, 'origin');
    if (origin === undefined && !conf.allow_origin_absent) return;
    const sink = responseSink(res);
    const allowAll = configureOrigin(state, sink, origin);
    configureCredentials(conf, allowAll, sink, origin);
    if (conf.exposed_headers && conf.exposed_headers.length > 0) {
      res.headers['access-control-expose-headers'] = conf.exposed_headers.join(',');
    }
  },
};

export default cors;
