// Phase 5, the upstream call: Kong's proxy headers, the balancer's pick, the undici dispatch (the
// request context is its handler) and what a failed attempt becomes (a retry, 502/503/504).
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Row } from '../../shared/snapshot.js';
import { NO_HEADERS, firstValue, hostWithoutPort, upstreamHeaderList } from './headers.js';
import type { ProxyRequest } from './context.js';
import { LimitedBody, hasRequestBody, ignoreStreamError, isSmallBody, readBody } from './request-body.js';
import { gatewayError, gatewayExit, MSG_BAD_GATEWAY, MSG_NAME_RESOLUTION, MSG_NO_PEER, MSG_NO_SERVICE, MSG_TIMEOUT } from './respond.js';
import { VIA_VALUE } from './version.js';

function isTimeout(code: string | undefined): boolean {
  return code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'ETIMEDOUT' || code === 'SB_WRITE_TIMEOUT';
}

function isConnectFailure(code: string | undefined): boolean {
  return (
    code === 'ECONNREFUSED' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'ETIMEDOUT'
  );
}

export function toUpstream(ctx: ProxyRequest): void {
  const service = ctx.service;
  if (service === null) {
    gatewayExit(ctx, 503, { message: MSG_NO_SERVICE });
    return;
  }
  const values = proxyHeaderValues(ctx);
  // undici gets a flat list: no header object is built when no plugin saw the request, and the
  // object plugins edited is read once, not written to (it is megamorphic by then)
  const list: (string | string[])[] = [];
  const fromClient = ctx.upstreamHeaders === NO_HEADERS;
  if (!fromClient && ctx.upstreamBody !== undefined) {
    // only plugins set a buffered body
    ctx.upstreamHeaders['content-length'] = String(ctx.upstreamBody.length);
  }
  ctx.requestHost = upstreamHeaderList(fromClient ? ctx.req.headers : ctx.upstreamHeaders, values, list, fromClient);
  ctx.headerList = list;
  const retries = Number(service.retries);
  ctx.triesLeft = Number.isFinite(retries) && retries >= 0 ? retries : 5;
  const balancer = ctx.rt.balancers.get(service.host);
  if (balancer !== undefined) {
    ctx.balancer = balancer;
    ctx.tried = new Set();
  }
  if (ctx.upstreamBody === undefined && hasRequestBody(ctx.req)) {
    ctx.req.on('error', ignoreStreamError);
    ctx.continueBody();
    if (ctx.triesLeft > 0 && isSmallBody(ctx)) {
      readBody(ctx.req).then(
        (b) => {
          if (ctx.done) return;
          ctx.replayBody = b;
          ctx.upstreamStartedAt = Date.now();
          dispatch(ctx);
        },
        () => {
          if (!ctx.done) ctx.res.destroy(); // the client aborted its body
        },
      );
      return;
    }
  }
  ctx.upstreamStartedAt = Date.now();
  dispatch(ctx);
}

/**
 * X-Forwarded-*, X-Real-IP, Via and X-Kong-Request-Id as Kong sets them upstream, by
 * PROXY_HEADER_NAMES index (undefined: the header is removed).
 */
function proxyHeaderValues(ctx: ProxyRequest): (string | undefined)[] {
  const req = ctx.req.headers;
  const trusted = ctx.trustedPeer;
  const xff = req['x-forwarded-for'];
  const via = req['via'];
  return [
    xff !== undefined ? xff + ', ' + ctx.peer : ctx.peer,
    (trusted && firstValue(req['x-forwarded-proto'])) || ((ctx.req.socket as TLSSocket).encrypted ? 'https' : 'http'),
    (trusted && firstValue(req['x-forwarded-host'])) || hostWithoutPort(ctx.host),
    (trusted && firstValue(req['x-forwarded-port'])) || String(ctx.req.socket.localPort),
    (trusted && firstValue(req['x-forwarded-path'])) || ctx.rawPath,
    (trusted && firstValue(req['x-forwarded-prefix'])) || ctx.match?.strippedPrefix || undefined,
    ctx.clientIp,
    via !== undefined ? via + ', ' + VIA_VALUE : VIA_VALUE,
    ctx.requestId,
  ];
}

/** One attempt: pick the peer (balancer or service host), set Host, dispatch on its pool. */
export function dispatch(ctx: ProxyRequest): void {
  const service = ctx.service as Row;
  const protocol: string = service.protocol === 'https' ? 'https' : 'http';
  let host: string;
  let port: number;
  let hostHeader: string;
  const defPort = protocol === 'https' ? 443 : 80;
  if (ctx.balancer !== null) {
    const peer = ctx.balancer.pick(ctx, ctx.tried as Set<string>);
    if (peer === null) {
      ctx.failed = true;
      gatewayError(ctx, 503, MSG_NO_PEER);
      return;
    }
    ctx.target = peer;
    (ctx.tried as Set<string>).add(peer.id);
    host = peer.host;
    port = peer.port;
    const hh = peer.hostHeader ?? ctx.balancer.hostHeader ?? peer.host;
    hostHeader = port === defPort ? hh : hh + ':' + port;
    if (peer.setCookie) ctx.responseHeaders['set-cookie'] = peer.setCookie;
  } else {
    host = service.host;
    port = service.port ?? defPort;
    hostHeader = port === defPort ? host : host + ':' + port;
  }
  if (ctx.attempts > 0) (ctx.earlierTries ??= []).push({ ip: ctx.upstreamHost, port: ctx.upstreamPort });
  ctx.attempts++;
  ctx.upstreamHost = host;
  ctx.upstreamPort = port;
  const route = ctx.route as Row;
  const entry = ctx.balancer !== null ? ctx.proxy.pools.get(protocol, host, port, service, hostHeader) : ctx.proxy.pools.forService(service, protocol, port, hostHeader);
  const current = ctx.requestHost;
  let hostValue: string;
  if (route.preserve_host && ctx.host) hostValue = ctx.host;
  else if (current === ctx.req.headers.host || current === undefined) hostValue = hostHeader;
  else hostValue = current; // a plugin set it
  // undici sends its origin's Host itself, from a string built once per pool: only another value goes in the list
  const list = ctx.headerList as (string | string[])[];
  if (hostValue === entry.hostHeader) {
    if (ctx.hostInList) {
      list.length -= 2;
      ctx.hostInList = false;
    }
  } else if (ctx.hostInList) list[list.length - 1] = hostValue;
  else {
    list.push('host', hostValue);
    ctx.hostInList = true;
  }

  const pool = entry.pool;
  const readTimeout = service.read_timeout ?? 60_000;
  let body: Buffer | IncomingMessage | LimitedBody | null = null;
  if (ctx.upstreamBody !== undefined) {
    body = ctx.upstreamBody; // its content-length went into the list in toUpstream
  } else if (ctx.replayBody !== null) {
    body = ctx.replayBody;
  } else if (hasRequestBody(ctx.req)) {
    const limit = ctx.requestBodyLimit;
    body = ctx.limitedBody = new LimitedBody(ctx, limit === undefined ? Infinity : limit.bytes, service.write_timeout ?? 60_000);
    ctx.req.pipe(body);
  }
  ctx.abortUpstream = null;
  pool.dispatch(
    {
      path: ctx.upstreamUri,
      method: ctx.upstreamMethod as any,
      headers: list as unknown as Record<string, string>,
      body,
      headersTimeout: readTimeout,
      bodyTimeout: readTimeout,
    },
    ctx as any,
  );
}

export function upstreamFailed(ctx: ProxyRequest, err: Error & { code?: string }): void {
  if (ctx.bodyLimitExceeded) {
    ctx.release(); // not the upstream's fault: no health report, already answered
    return;
  }
  const code = ctx.writeTimedOut ? 'SB_WRITE_TIMEOUT' : err.code;
  if (ctx.target !== null && ctx.balancer !== null) {
    ctx.balancer.report(ctx.target.id, { error: isTimeout(code) ? 'timeout' : 'tcp' });
  }
  ctx.release();
  if (ctx.done) return; // client went away: nothing to answer
  if (ctx.res.writableEnded) return; // already answered (a response plugin failed and the upstream was cut)
  if (ctx.headersStarted) {
    // the response is partly sent: all we can do is cut it so the client sees the failure
    ctx.status = ctx.res.statusCode;
    ctx.res.destroy(err);
    return;
  }
  const replayable = ctx.upstreamBody !== undefined || ctx.replayBody !== null || !hasRequestBody(ctx.req);
  if (ctx.triesLeft > 0 && replayable && isConnectFailure(code)) {
    ctx.triesLeft--;
    dispatch(ctx);
    return;
  }
  ctx.failed = true;
  if (isTimeout(code)) gatewayError(ctx, 504, MSG_TIMEOUT);
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') gatewayError(ctx, 503, MSG_NAME_RESOLUTION);
  else gatewayError(ctx, 502, MSG_BAD_GATEWAY);
  ctx.proxy.log.debug({ err: err.message, code, request_id: ctx.requestId }, 'upstream request failed');
}
