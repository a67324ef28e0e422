// The Kong-compatible Admin API: node:http with keep-alive, one router, one place that renders
// errors. Request lifecycle: route match (404/405) → preHandler (auth) → body (415/413/400) →
// handler → JSON reply. A handler error is never a crash or a hang: HttpError/KongError are
// rendered as they are, anything else is logged and answered 500 "An unexpected error occurred".
import { randomUUID } from 'node:crypto';
import { SILVERBACK_VERSION } from '../../shared/version.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Config, Role } from '../../shared/config.js';
import { HttpError, unexpected } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { Dao } from '../store/types.js';
import { DEFAULT_BODY_LIMIT, parseRequestBody } from './body.js';
import { createCrudRoutes } from './crud.js';
import { createInfoRoutes, type ServerCounters } from './info.js';
import { checkArgCount } from './paging.js';
import { Router, type AdminRequest, type AdminRoute, type Reply } from './router.js';
import { createSchemaRoutes } from './schemas.js';
import { storageError } from './storage-errors.js';
import { adminRequestStats } from './request-stats.js';

export type { AdminRequest, AdminRoute, Reply } from './router.js';

/** Runs before every matched route; a returned Reply answers the request instead (auth). */
export type PreHandler = (req: AdminRequest) => Promise<Reply | void> | Reply | void;

export interface AdminApiOptions {
  config: Config;
  dao: Dao;
  log: Logger;
  role: Role;
  listen: { host: string; port: number };
  /** More routes (cluster endpoints, ...); they win over built-in ones with the same method and pattern. */
  extraRoutes?: AdminRoute[];
  preHandler?: PreHandler;
  /** Request body limit in bytes (413 beyond), 10 MiB by default. */
  bodyLimit?: number;
  /** Defaults to config.node_id, else a random uuid. */
  nodeId?: string;
}

export interface AdminApi {
  server: Server;
  url: string;
  /** Adds a route after start (same rules as extraRoutes). */
  addRoute(route: AdminRoute): void;
  close(): Promise<void>;
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Silverback's version (kept as a function: other admin modules call it). */
export function silverbackVersion(): string {
  return SILVERBACK_VERSION;
}

/**
 * Kong's Admin API cors_filter, on every response: the request's Origin (or `*`) with credentials, and
 * on OPTIONS the requested headers echoed.
 */
function corsHeaders(req: IncomingMessage, method: string): Record<string, string> {
  const origin = req.headers.origin;
  const out: Record<string, string> = { 'Access-Control-Allow-Origin': typeof origin === 'string' && origin !== '' ? origin : '*', 'Access-Control-Allow-Credentials': 'true' };
  if (method === 'OPTIONS') {
    const wanted = req.headers['access-control-request-headers'];
    if (typeof wanted === 'string' && wanted !== '') out['Access-Control-Allow-Headers'] = wanted;
  }
  return out;
}

export async function startAdminApi(opts: AdminApiOptions): Promise<AdminApi> {
  const { config, dao, log } = opts;
  const version = silverbackVersion();
  const serverHeader = `silverback/${version}`;
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const router = new Router();
  const counters: ServerCounters = { accepted: 0, active: 0, inFlight: 0, totalRequests: 0 };

  for (const r of createCrudRoutes(dao)) router.add(r);
  for (const r of createSchemaRoutes()) router.add(r);
  for (const r of createInfoRoutes({
    config,
    dao,
    role: opts.role,
    version,
    nodeId: opts.nodeId ?? config.node_id ?? randomUUID(),
    counters: () => ({ ...counters }),
    patterns: () => router.patterns(),
  }))
    router.add(r);
  for (const r of opts.extraRoutes ?? []) router.add(r);

  function send(res: ServerResponse, reply: Reply, head: boolean, cors?: Record<string, string>): void {
    if (res.headersSent || res.destroyed) return;
    adminRequestStats.record(res.req?.method ?? 'GET', reply.status);
    const headers: Record<string, string | number> = { Server: serverHeader, ...cors, ...reply.headers };
    if (reply.text !== undefined) {
      const text = Buffer.from(reply.text);
      headers['Content-Length'] = text.length;
      res.writeHead(reply.status, headers);
      res.end(head ? undefined : text);
      return;
    }
    if (reply.status === 204 || reply.status === 304 || reply.body === undefined) {
      if (reply.status !== 204 && reply.status !== 304) headers['Content-Length'] = 0;
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    const payload = Buffer.from(JSON.stringify(reply.body));
    headers['Content-Type'] = JSON_CONTENT_TYPE;
    headers['Content-Length'] = payload.length;
    res.writeHead(reply.status, headers);
    res.end(head ? undefined : payload);
  }

  function errorReply(err: unknown, req: IncomingMessage): Reply {
    const mapped = storageError(err);
    if (mapped) {
      log.warn({ err: mapped.cause, method: req.method, url: req.url }, 'admin request rejected by the database');
      return { status: mapped.error.status, body: mapped.error.body };
    }
    if (err instanceof HttpError) {
      if (err.status >= 500) log.error({ err: (err as any).cause?.message ?? err.message, method: req.method, url: req.url }, 'admin request failed');
      return { status: err.status, body: err.body, headers: err.headers };
    }
    log.error({ err: (err as Error)?.stack ?? String(err), method: req.method, url: req.url }, 'admin request failed');
    const e = unexpected();
    return { status: e.status, body: e.body };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.totalRequests++;
    counters.inFlight++;
    const method = (req.method ?? 'GET').toUpperCase();
    const head = method === 'HEAD';
    try {
      const rawUrl = req.url ?? '/';
      const q = rawUrl.indexOf('?');
      const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
      const cors = corsHeaders(req, method);
      const match = router.match(method, path);
      if (match.kind === 'options') {
        // Kong answers OPTIONS itself on every route (a CORS preflight needs no credentials)
        req.resume();
        send(res, { status: 204, headers: { Allow: match.allow, 'Access-Control-Allow-Methods': match.allow, 'Access-Control-Allow-Headers': cors['Access-Control-Allow-Headers'] ?? 'Content-Type' } }, head, cors);
        return;
      }
      if (match.kind !== 'found') {
        req.resume();
        send(res, match.kind === 'not_found' ? { status: 404, body: { message: 'Not found' } } : { status: 405, body: { message: 'Method not allowed' } }, head, cors);
        return;
      }
      const areq: AdminRequest = {
        method,
        path,
        params: match.params,
        rawParams: match.rawParams,
        query,
        headers: req.headers,
        raw: req,
        body: { kind: 'none' },
        pattern: match.route.pattern,
      };
      if (opts.preHandler) {
        const early = await opts.preHandler(areq);
        if (early) {
          req.resume();
          send(res, early, head, cors);
          return;
        }
      }
      checkArgCount(query);
      areq.body = await parseRequestBody(req, bodyLimit, match.route.rawBody);
      send(res, await match.route.handler(areq), head, cors);
    } catch (err) {
      const reply = errorReply(err, req);
      // unread body (413, 415 before reading): close rather than keep a half-read connection
      if (!req.complete) reply.headers = { ...reply.headers, Connection: 'close' };
      send(res, reply, head, corsHeaders(req, method));
      if (!req.complete) req.resume();
    } finally {
      counters.inFlight--;
    }
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((err) => {
      log.error({ err: (err as Error)?.stack ?? String(err) }, 'admin request crashed');
      try {
        send(res, { status: 500, body: unexpected().body }, false);
      } catch {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = config.keepalive_timeout;
  server.headersTimeout = Math.max(config.keepalive_timeout + 1000, 60_000);
  server.requestTimeout = 120_000;
  server.on('connection', (socket: Socket) => {
    counters.accepted++;
    counters.active++;
    socket.once('close', () => counters.active--);
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
    void err;
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err: err.message }, 'admin listener error'));
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  log.info({ url, role: opts.role }, 'admin API listening');

  return {
    server,
    url,
    addRoute: (r) => router.add(r),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}

