// Phase 6 when plugins see the response, and every answer the gateway makes itself: Kong's error
// bodies and messages, plugin exits, https redirects, and the headers a proxied response gets.
import type { Row } from '../../shared/snapshot.js';
import type { PluginResponse, UpstreamResponse } from '../plugins/types.js';
import { PluginFailure, hasResponsePhase, logFailure, runResponse, type PluginInstance } from '../plugins/pipeline.js';
import { decimalLength, firstValue, hostWithoutPort } from './headers.js';
import type { ProxyRequest } from './context.js';
import { SERVER_HEADER, VIA_VALUE } from './version.js';

export const MSG_NO_ROUTE = 'no Route matched with those values';
export const MSG_NO_SERVICE = 'no Service found with those values';
export const MSG_BAD_GATEWAY = 'An invalid response was received from the upstream server';
export const MSG_NO_PEER = 'failure to get a peer from the ring-balancer';
export const MSG_NAME_RESOLUTION = 'name resolution failed';
export const MSG_TIMEOUT = 'The upstream server is timing out';
export const MSG_INTERNAL = 'An unexpected error occurred';
export const JSON_TYPE = 'application/json; charset=utf-8';

function renderBody(body: unknown, headers: Record<string, string | string[]>): Buffer | string {
  if (body === undefined || body === null) return '';
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') {
    if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'text/plain; charset=utf-8';
    return body;
  }
  if (!hasHeader(headers, 'content-type')) headers['content-type'] = JSON_TYPE;
  return JSON.stringify(body);
}

function hasHeader(headers: Record<string, unknown>, lower: string): boolean {
  for (const k in headers) if (k.toLowerCase() === lower) return true;
  return false;
}

/** Proxied-response headers appended to the flat list from the upstream. */
export function addProxiedHeaders(ctx: ProxyRequest, list: string[]): void {
  const now = ctx.upstreamHeadersAt;
  list.push(
    'via', VIA_VALUE,
    'x-kong-upstream-latency', String(now - ctx.upstreamStartedAt),
    'x-kong-proxy-latency', String(ctx.upstreamStartedAt - ctx.startedAt),
    'x-kong-request-id', ctx.requestId,
  );
  if (ctx.proxy.debugHeader && ctx.req.headers['kong-debug'] !== undefined) pushDebugHeaders(ctx, list);
  if (ctx.hasResponseHeaders) overlayQueuedHeaders(ctx.responseHeaders, list, true);
}

/**
 * ctx.responseHeaders over a flat [name, value, …] list: each replaces the entries of its name (null
 * only removes them). `lowerCaseNames`: the list's names are lower-case already (no case folding).
 */
function overlayQueuedHeaders(extra: Record<string, string | string[] | null>, list: string[], lowerCaseNames: boolean): void {
  for (const k in extra) {
    const lower = k.toLowerCase();
    for (let i = list.length - 2; i >= 0; i -= 2) if ((lowerCaseNames ? list[i] : list[i].toLowerCase()) === lower) list.splice(i, 2);
    const v = extra[k];
    if (v === null) continue;
    if (Array.isArray(v)) for (const x of v) list.push(lower, x);
    else list.push(lower, v);
  }
}

/**
 * Headers queued during access (ctx.responseHeaders: rate-limit counts, the echoed correlation id)
 * put into the headers the response plugins see, so a later plugin can still edit or remove them,
 * as Kong's header_filter order allows. Names become lower-case; null removes. Returns what it took,
 * for the 500 that replaces the response when a plugin fails.
 */
function foldResponseHeaders(ctx: ProxyRequest, headers: Record<string, string | string[]>): Record<string, string | string[] | null> | null {
  const extra = ctx.takeResponseHeaders();
  if (extra === null) return null;
  for (const k in extra) {
    const lower = k.toLowerCase();
    for (const h in headers) if (h !== lower && h.toLowerCase() === lower) delete headers[h];
    const v = extra[k];
    if (v === null) delete headers[lower];
    else headers[lower] = v;
  }
  return extra;
}

function pushDebugHeaders(ctx: ProxyRequest, list: string[]): void {
  const r = ctx.route;
  const s = ctx.service;
  if (r?.id) list.push('kong-route-id', r.id);
  if (r?.name) list.push('kong-route-name', r.name);
  if (s?.id) list.push('kong-service-id', s.id);
  if (s?.name) list.push('kong-service-name', s.name);
}

/**
 * Upstream response through response-phase plugins (headers only, or with the buffered body).
 * Returns true when it went out at once (the plugins were synchronous): a streaming caller keeps
 * the upstream flowing. False: it goes out once the plugins settle (the caller paused the upstream).
 */
export function respondWithPlugins(ctx: ProxyRequest, up: UpstreamResponse, streaming: boolean): boolean {
  const queued = foldResponseHeaders(ctx, up.headers);
  const pending = runResponse(ctx, up, ctx.plugins as PluginInstance[]);
  if (pending === undefined) return sendUpstreamResponse(ctx, up, streaming, false);
  pending.then(
    () => {
      sendUpstreamResponse(ctx, up, streaming, true);
    },
    (err) => {
      // answer first: aborting the still-streaming upstream must not cut the 500 short
      if (queued !== null) ctx.responseHeaders = queued;
      internalError(ctx, err);
      if (streaming && ctx.abortUpstream) ctx.abortUpstream();
    },
  );
  return false;
}

function sendUpstreamResponse(ctx: ProxyRequest, up: UpstreamResponse, streaming: boolean, resumeUpstream: boolean): boolean {
  if (ctx.done || ctx.res.headersSent) return false;
  const list: string[] = [];
  let length = -1;
  let lengths = 0;
  for (const k in up.headers) {
    const v = up.headers[k];
    const lower = k.toLowerCase();
    if (lower === 'content-length') {
      if (!streaming) continue;
      lengths++;
      length = typeof v === 'string' ? decimalLength(v) : -1;
    } else if (!streaming && lower === 'transfer-encoding') continue;
    if (Array.isArray(v)) for (const x of v) list.push(lower, x);
    else if (v !== undefined && v !== null) list.push(lower, String(v));
  }
  if (!streaming) list.push('content-length', String(up.body ? up.body.length : 0));
  addProxiedHeaders(ctx, list);
  ctx.status = up.status;
  ctx.proxied = true;
  ctx.res.writeHead(up.status, list);
  if (!streaming) {
    ctx.res.end(ctx.method === 'HEAD' ? undefined : up.body);
    return true;
  }
  // as without plugins: a body that arrives in one chunk goes out with the end of the response
  ctx.expectLength = lengths === 1 ? length : -1;
  if (resumeUpstream) {
    ctx.drainHooked = true;
    ctx.res.on('drain', ctx.resume as () => void);
    (ctx.resume as () => void)();
  }
  return true;
}

// ---- answers generated by the gateway ----


export function httpsRedirect(ctx: ProxyRequest): void {
  const route = ctx.route as Row;
  const code = Number(route.https_redirect_status_code ?? 426);
  if (code === 426) {
    gatewayExit(ctx, 426, { message: 'Please use HTTPS protocol' }, { Connection: 'Upgrade', Upgrade: 'TLS/1.2, HTTP/1.1' });
    return;
  }
  const host = (ctx.trustedPeer && firstValue(ctx.req.headers['x-forwarded-host'])) || hostWithoutPort(ctx.host);
  gatewayExit(ctx, code, undefined, { Location: `https://${host}${ctx.req.url}` });
}

/** Kong's kong.response.error: {"message", "request_id"}. */
export function gatewayError(ctx: ProxyRequest, status: number, message: string): void {
  gatewayExit(ctx, status, { message, request_id: ctx.requestId });
}

/**
 * 500 for a failure past the plugin phases' own handling (a response-phase plugin threw, a bug):
 * logged with its cause; the response phase is not re-entered, the log phase still runs (Kong's
 * log_by_lua runs whatever failed before it).
 */
export function internalError(ctx: ProxyRequest, err: unknown): void {
  ctx.failed = true;
  if (err instanceof PluginFailure) logFailure(ctx.proxy.log, ctx, err);
  else ctx.proxy.log.error({ err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err), request_id: ctx.requestId }, 'request failed');
  if (ctx.res.headersSent) {
    ctx.res.destroy();
    return;
  }
  ctx.skipResponsePhase = true;
  gatewayError(ctx, 500, MSG_INTERNAL);
}

export function pluginExit(ctx: ProxyRequest, r: PluginResponse): Promise<void> | void {
  return gatewayExit(ctx, r.status, r.body, r.headers);
}

/** A response the gateway (or a plugin) produced itself: response-phase plugins still run, then log. */
export function gatewayExit(ctx: ProxyRequest, status: number, body: unknown, headers?: Record<string, string | string[]>): Promise<void> | void {
  if (ctx.done || ctx.res.headersSent) return;
  const hdrs: Record<string, string | string[]> = headers ? { ...headers } : {};
  const payload = renderBody(body, hdrs);
  const plugins = ctx.plugins;
  if (plugins !== null && plugins.length > 0 && !ctx.skipResponsePhase && hasResponsePhase(plugins)) {
    const up: UpstreamResponse = { status, headers: hdrs, body: Buffer.isBuffer(payload) ? payload : Buffer.from(payload) };
    const queued = foldResponseHeaders(ctx, up.headers);
    const pending = runResponse(ctx, up, plugins);
    if (pending === undefined) {
      writeGateway(ctx, up.status, up.headers, up.body ?? '');
      return;
    }
    return pending.then(
      () => writeGateway(ctx, up.status, up.headers, up.body ?? ''),
      (err) => {
        ctx.skipResponsePhase = true;
        if (err instanceof PluginFailure) logFailure(ctx.proxy.log, ctx, err);
        else ctx.proxy.log.error({ err, request_id: ctx.requestId }, 'response plugin failed');
        if (queued !== null) ctx.responseHeaders = queued;
        writeGateway(ctx, 500, { 'content-type': JSON_TYPE }, JSON.stringify({ message: MSG_INTERNAL, request_id: ctx.requestId }));
      },
    );
  }
  writeGateway(ctx, status, hdrs, payload);
}

function writeGateway(ctx: ProxyRequest, status: number, headers: Record<string, string | string[]>, payload: Buffer | string): void {
  if (ctx.done || ctx.res.headersSent) return;
  const res = ctx.res;
  const list: string[] = [];
  for (const k in headers) {
    const v = headers[k];
    if (Array.isArray(v)) for (const x of v) list.push(k, x);
    else if (v !== undefined && v !== null) list.push(k, String(v));
  }
  list.push(
    'content-length', String(typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length),
    'x-kong-response-latency', String(Date.now() - ctx.startedAt),
    'server', SERVER_HEADER,
    'x-kong-request-id', ctx.requestId,
  );
  if (ctx.proxy.debugHeader && ctx.route !== null && ctx.req.headers['kong-debug'] !== undefined) pushDebugHeaders(ctx, list);
  if (ctx.hasResponseHeaders) overlayQueuedHeaders(ctx.responseHeaders, list, false);
  ctx.status = status;
  res.writeHead(status, list);
  // the request body (if any) is not read: let node discard it rather than keep the socket busy
  res.end(ctx.method === 'HEAD' ? undefined : payload);
}
