// The proxy listener: node:http(s) servers in front of the compiled runtime. Request lifecycle:
//   rewrite (global plugins) → route → access (route chain) → upstream (undici, streamed both ways)
//   → response (plugins edit headers, or the body when one asked) → log (deferred, after the end).
// The hot path avoids per-request closures: the request object is also the undici dispatch handler.
import http, { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { emptySnapshot, type Snapshot, type Row } from '../../shared/snapshot.js';
import { compileRuntime, type PluginRegistry, type Runtime } from '../runtime.js';
import { handlers as defaultRegistry } from '../plugins/registry.js';
import { normalizePath, type RouteMatch } from '../router/index.js';
import type { PluginResponse, RequestContext, UpstreamResponse } from '../plugins/types.js';
import {
  EMPTY_CHAIN,
  hasResponsePhase,
  resolveRest,
  runAccess,
  runLog,
  runResponse,
  runRewrite,
  wantsRequestBody,
  wantsResponseBody,
  type PluginChain,
  type PluginInstance,
} from '../plugins/pipeline.js';
import type { Balancer, Peer } from '../balancer/index.js';
import { createClientIpResolver, type ClientIpResolver } from './client-ip.js';
import {
  PROXY_HEADER_NAMES,
  firstValue,
  forwardableHeaderList,
  forwardableHeaders,
  hostWithoutPort,
  rawResponseHeaders,
  responseHeaderObject,
} from './headers.js';
import { nextRequestId } from './request-id.js';
import { buildSniTable, type DefaultCert, type SniTable } from './tls.js';
import { UpstreamPools } from './pools.js';
import { SERVER_HEADER, VIA_VALUE } from './version.js';

export interface ProxyConfig {
  trusted_ips: readonly string[];
  real_ip_header: string;
  real_ip_recursive: boolean;
  /** Client keep-alive timeout, ms (default 75 000, above an ALB's 60 s idle timeout). */
  keepalive_timeout?: number;
  allow_debug_header: boolean;
  /** Default certificate/key PEM files for ssl listeners. */
  ssl_cert?: string | null;
  ssl_cert_key?: string | null;
}

export interface ProxyLog {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

export interface ProxyOptions {
  config: ProxyConfig;
  log: ProxyLog;
  /** Plugin handlers by name (default: data-plane/plugins/registry.ts). */
  registry?: PluginRegistry;
  /** Structured access log: one record per request, written after the response (null/absent: off). */
  accessLog?: AccessLog | null;
}

export interface AccessLog {
  info(obj: object, msg?: string): void;
}

export interface Proxy {
  /** Start a listener; `tls` true uses config.ssl_cert/ssl_cert_key as the default certificate. */
  listen(host: string, port: number, tls?: boolean | DefaultCert): Promise<{ host: string; port: number }>;
  /** Compile and swap the runtime. Throws (and keeps the current one) when the snapshot cannot be compiled. */
  applySnapshot(snapshot: Snapshot): Runtime;
  readonly runtime: Runtime;
  /** Stop keeping connections alive: every further response carries Connection: close. */
  beginDrain(): void;
  /** The first listener's server (the others are in `servers`). */
  readonly server: http.Server | https.Server | null;
  readonly servers: (http.Server | https.Server)[];
  close(): Promise<void>;
}

const MSG_NO_ROUTE = 'no Route matched with those values';
const MSG_NO_SERVICE = 'no Service found with those values';
const MSG_BAD_GATEWAY = 'An invalid response was received from the upstream server';
const MSG_UNAVAILABLE = 'The upstream server is currently unavailable';
const MSG_NO_PEER = 'failure to get a peer from the ring-balancer';
const MSG_NAME_RESOLUTION = 'name resolution failed';
const MSG_TIMEOUT = 'The upstream server is timing out';
const MSG_INTERNAL = 'An unexpected error occurred';

const JSON_TYPE = 'application/json; charset=utf-8';
const NO_HEADERS: Record<string, string | string[]> = Object.freeze({}) as Record<string, string | string[]>;

/** ServerResponse that knows its request context (no per-request closures for listeners). */
class ProxyResponse extends ServerResponse {
  ctx: ProxyRequest | null = null;
}

function onResponseClose(this: ProxyResponse): void {
  const ctx = this.ctx;
  if (ctx !== null) ctx.finished();
}

function ignoreStreamError(): void {
  // undici sees the failed body stream itself; this listener only keeps 'error' from being unhandled
}

/** How long the rest of a refused request body is read and dropped before the connection is cut. */
const DISCARD_BODY_MS = 5_000;
const BODY_LIMIT_ERROR = Object.assign(new Error('request body larger than the limit'), { code: 'SB_BODY_LIMIT' });
const CLIENT_GONE_ERROR = Object.assign(new Error('client closed the request'), { code: 'SB_CLIENT_GONE' });

const WRITE_TIMEOUT_ERROR = Object.assign(new Error('upstream stopped accepting the request body'), { code: 'SB_WRITE_TIMEOUT' });
/** A body with a Content-Length up to this is buffered before dispatch so a connection failure can be retried. */
const REPLAYABLE_BODY_MAX = 64 * 1024;

/**
 * The request body on its way upstream, counted: past `limit` bytes it stops and the proxy answers
 * ctx.requestBodyLimit's response. It also enforces service.write_timeout (nginx proxy_send_timeout):
 * once undici reads it, data left unconsumed by the upstream for writeTimeout ms fails the request.
 */
class LimitedBody extends Transform {
  private seen = 0;
  /** When a chunk last moved on towards the upstream (only kept while the write timeout is armed). */
  private movedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  constructor(
    readonly ctx: ProxyRequest,
    readonly limit: number,
    readonly writeTimeout: number,
  ) {
    super();
    this.on('error', ignoreStreamError);
    // armed when undici starts reading (connected): the connect phase has its own timeout
    if (writeTimeout > 0) this.once('resume', this.armWriteTimeout);
  }

  private armWriteTimeout(): void {
    if (this.destroyed || this.readableEnded) return;
    this.movedAt = Date.now();
    this.timer = setTimeout(checkWriteTimeout, this.writeTimeout, this);
    this.once('end', this.disarm);
    this.once('close', this.disarm);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Timer tick: fails the body when data has waited for the upstream for writeTimeout ms. */
  checkWriteTimeout(): void {
    this.timer = null;
    if (this.destroyed || this.readableEnded) return;
    const now = Date.now();
    // data waiting in the readable buffer means the upstream (through undici) is not taking it;
    // an empty buffer means the client is the slow side, which is not a write timeout
    if (this.readableLength === 0) this.movedAt = now;
    const idle = now - this.movedAt;
    if (idle >= this.writeTimeout) {
      this.ctx.proxy.requestWriteTimedOut(this.ctx, this);
      return;
    }
    this.timer = setTimeout(checkWriteTimeout, this.writeTimeout - idle, this);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.ctx.bodyLimitExceeded) return cb();
    if (this.timer !== null) this.movedAt = Date.now();
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      cb();
      this.ctx.proxy.requestBodyTooLarge(this.ctx, this);
      return;
    }
    cb(null, chunk);
  }
}

function checkWriteTimeout(body: LimitedBody): void {
  body.checkWriteTimeout();
}

function cutUnfinishedBody(req: IncomingMessage): void {
  if (!req.complete) req.socket.destroy();
}

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

/** One request in flight: Kong's ngx.ctx + the undici dispatch handler for its upstream call. */
class ProxyRequest implements RequestContext {
  // RequestContext
  clientIp: string;
  scheme: string;
  method: string;
  path: string;
  query: string;
  host: string;
  route: Row | null = null;
  service: Row | null = null;
  uriCaptures: Record<string, string> = {};
  consumer: Row | null = null;
  credential: Row | null = null;
  authenticatedGroups?: string[];
  upstreamHeaders: Record<string, string | string[]> = NO_HEADERS;
  /** Without plugins the upstream headers go to undici as a flat list (no object is built). */
  headerList: (string | string[])[] | null = null;
  /** Index of the Host value in headerList, -1 when there is none. */
  hostAt = -1;
  upstreamUri = '';
  upstreamMethod: string;
  upstreamBody?: Buffer;
  /** A small request body buffered by the proxy itself so connection failures can be retried. */
  replayBody: Buffer | null = null;
  requestBodyLimit?: { bytes: number; response: PluginResponse } = undefined;
  startedAt: number;
  requestId: string;
  status?: number;
  upstreamStatus?: number;
  latencies?: { kong: number; proxy: number; request: number; receive?: number };
  requestSize?: number;
  responseSize?: number;
  source?: 'service' | 'exit' | 'error';
  tries?: { ip: string; port: number; balancer_start: number; balancer_latency: number }[];
  // router input
  readonly headers: http.IncomingHttpHeaders;
  readonly sni: string | null;
  // internal
  rawPath: string;
  peer: string;
  trustedPeer: boolean;
  match: RouteMatch | null = null;
  chain: PluginChain = EMPTY_CHAIN;
  plugins: PluginInstance[] | null = null;
  private _responseHeaders: Record<string, string | string[] | null> | null = null;
  private _shared: Record<string, unknown> | null = null;
  // upstream call state
  abortUpstream: ((err?: Error) => void) | null = null;
  done = false;
  headersStarted = false;
  triesLeft = 0;
  tried: Set<string> | null = null;
  balancer: Balancer | null = null;
  target: Peer | null = null;
  upstreamStartedAt = 0;
  upstreamHeadersAt = 0;
  /** A plugin may buffer the response body: asked again, with the response, when its headers arrive. */
  mayBufferResponse = false;
  responsePlugins = false;
  chunks: Buffer[] | null = null;
  pendingHeaders: UpstreamResponse | null = null;
  resume: (() => void) | null = null;
  /** Content-Length of a streamed response until the first body chunk (-1: unknown or past it). */
  expectLength = -1;
  /** A body chunk that is the whole response: sent with res.end() (one write, no cork tick). */
  lastChunk: Buffer | null = null;
  drainHooked = false;
  bodyLimitExceeded = false;
  writeTimedOut = false;
  limitedBody: LimitedBody | null = null;
  /** The client sent `Expect: 100-continue` and no 100 went out yet (see continueBody). */
  awaitingContinue = false;
  // for the log phase: the response came from the upstream / the request failed (Kong's response source)
  proxied = false;
  failed = false;
  /** Upstream attempts, the address of the last one, and the earlier ones (only kept when there was a retry). */
  attempts = 0;
  upstreamHost = '';
  upstreamPort = 0;
  earlierTries: { ip: string; port: number }[] | null = null;

  constructor(
    readonly proxy: ProxyImpl,
    readonly rt: Runtime,
    readonly req: IncomingMessage,
    readonly res: ProxyResponse,
  ) {
    this.startedAt = Date.now();
    this.requestId = nextRequestId();
    this.method = req.method as string;
    this.upstreamMethod = this.method;
    this.headers = req.headers;
    const socket = req.socket as TLSSocket;
    this.sni = socket.encrypted ? ((socket.servername as string | false) || null) : null;
    let peer = socket.remoteAddress ?? '';
    if (peer.startsWith('::ffff:') && peer.indexOf('.') > 0) peer = peer.slice(7);
    this.peer = peer;
    const ips = proxy.clientIps;
    this.trustedPeer = ips.trusted(peer);
    this.clientIp = this.trustedPeer ? ips.resolve(peer, req.headers) : peer;
    let scheme = socket.encrypted ? 'https' : 'http';
    if (this.trustedPeer) {
      const xfp = firstValue(req.headers['x-forwarded-proto']);
      if (xfp !== undefined) scheme = xfp.toLowerCase() === 'https' ? 'https' : scheme;
    }
    this.scheme = scheme;
    this.host = req.headers.host ?? '';
    let url = req.url as string;
    if (url.charCodeAt(0) !== 0x2f) {
      // absolute-form (proxy style) or '*'
      try {
        const u = new URL(url);
        url = u.pathname + u.search;
        if (!this.host) this.host = u.host;
      } catch {
        url = '/';
      }
    }
    const q = url.indexOf('?');
    this.rawPath = q >= 0 ? url.slice(0, q) : url;
    this.query = q >= 0 ? url.slice(q + 1) : '';
    this.path = normalizePath(this.rawPath);
  }

  get responseHeaders(): Record<string, string | string[] | null> {
    return (this._responseHeaders ??= {});
  }
  set responseHeaders(v: Record<string, string | string[] | null>) {
    this._responseHeaders = v;
  }
  get shared(): Record<string, unknown> {
    return (this._shared ??= {});
  }
  set shared(v: Record<string, unknown>) {
    this._shared = v;
  }
  get hasResponseHeaders(): boolean {
    return this._responseHeaders !== null;
  }

  // ---- undici dispatch handler (legacy API: what Pool calls natively) ----

  onConnect(abort: (err?: Error) => void): void {
    if (this.done) {
      abort();
      return;
    }
    this.abortUpstream = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    if (this.done) return false;
    this.headersStarted = true;
    this.upstreamHeadersAt = Date.now();
    this.upstreamStatus = statusCode;
    if (this.target !== null && this.balancer !== null) this.balancer.report(this.target.id, { status: statusCode });
    if (!this.responsePlugins) {
      const res = this.res;
      const list: string[] = [];
      this.expectLength = rawResponseHeaders(rawHeaders, list);
      this.proxy.addProxiedHeaders(this, list);
      this.status = statusCode;
      this.proxied = true;
      this.resume = resume;
      res.writeHead(statusCode, list);
      return true;
    }
    // Plugins see (and may change) the response before it goes out.
    this.resume = resume;
    const up: UpstreamResponse = { status: statusCode, headers: responseHeaderObject(rawHeaders) };
    this.pendingHeaders = up;
    if (this.mayBufferResponse && wantsResponseBody(this, this.plugins as PluginInstance[], up)) {
      this.chunks = [];
      return true;
    }
    this.proxy.respondWithPlugins(this, up, true);
    return false;
  }

  onData(chunk: Buffer): boolean {
    if (this.chunks !== null) {
      this.chunks.push(chunk);
      return true;
    }
    // The whole body in one chunk: undici completes the response in the same parser call, so
    // keep it for res.end() instead of a separate write.
    const expect = this.expectLength;
    if (expect !== -1) {
      this.expectLength = -1;
      if (chunk.length === expect) {
        this.lastChunk = chunk;
        return true;
      }
    }
    const res = this.res;
    if (res.write(chunk)) return true;
    // backpressure: undici pauses until the client socket drains
    if (!this.drainHooked) {
      this.drainHooked = true;
      res.on('drain', this.resume as () => void);
    }
    return false;
  }

  onComplete(): void {
    this.release();
    if (this.chunks !== null) {
      const up = this.pendingHeaders as UpstreamResponse;
      up.body = Buffer.concat(this.chunks);
      this.chunks = null;
      this.proxy.respondWithPlugins(this, up, false);
      return;
    }
    const last = this.lastChunk;
    if (last !== null) {
      this.lastChunk = null;
      this.res.end(last);
    } else this.res.end();
  }

  onError(err: Error & { code?: string }): void {
    this.proxy.upstreamFailed(this, err);
  }

  /** res 'close': the response ended, or the client went away first. */
  finished(): void {
    if (!this.done) {
      this.done = true;
      if (!this.res.writableFinished) {
        this.status = 499; // nginx's "client closed request"
        const abort = this.abortUpstream;
        if (abort !== null) abort();
        // a counted body does not end with the client's request: fail it so undici gives up even before connecting
        if (this.limitedBody !== null) this.limitedBody.destroy(CLIENT_GONE_ERROR);
        this.release();
      }
      // bytes of this request and response on the connection (a client sends its next request only after this response)
      const socket = this.req.socket as Socket & { sbRead?: number; sbWritten?: number };
      const read = socket.bytesRead;
      const written = socket.bytesWritten;
      this.requestSize = read - (socket.sbRead ?? 0);
      this.responseSize = written - (socket.sbWritten ?? 0);
      socket.sbRead = read;
      socket.sbWritten = written;
    }
    const plugins = this.plugins;
    if ((plugins !== null && plugins.length > 0) || this.proxy.accessLog !== null) setImmediate(logPhase, this);
  }

  /** Invite the body (100 Continue) now that it is going to be read: after rewrite and access passed. */
  continueBody(): void {
    if (this.awaitingContinue) {
      this.awaitingContinue = false;
      this.res.writeContinue();
    }
  }

  release(): void {
    const b = this.balancer;
    if (b !== null && this.target !== null) {
      b.release?.(this.target.id);
      this.target = null;
    }
  }
}

function logPhase(ctx: ProxyRequest): void {
  const now = Date.now();
  const up = ctx.upstreamStartedAt;
  ctx.status ??= ctx.res.statusCode;
  ctx.latencies = {
    request: now - ctx.startedAt,
    proxy: ctx.upstreamHeadersAt && up ? ctx.upstreamHeadersAt - up : -1,
    kong: up ? up - ctx.startedAt : now - ctx.startedAt,
    receive: ctx.upstreamHeadersAt ? now - ctx.upstreamHeadersAt : 0,
  };
  ctx.source = ctx.proxied ? 'service' : ctx.failed ? 'error' : 'exit';
  const plugins = ctx.plugins;
  if (plugins !== null && plugins.length > 0) {
    if (ctx.attempts > 0) {
      const tries: { ip: string; port: number; balancer_start: number; balancer_latency: number }[] = [];
      if (ctx.earlierTries !== null) for (const t of ctx.earlierTries) tries.push({ ip: t.ip, port: t.port, balancer_start: up, balancer_latency: 0 });
      tries.push({ ip: ctx.upstreamHost, port: ctx.upstreamPort, balancer_start: up, balancer_latency: 0 });
      ctx.tries = tries;
    } else ctx.tries = [];
    runLog(ctx, plugins, ctx.proxy.log);
  }
  const access = ctx.proxy.accessLog;
  if (access !== null) {
    try {
      access.info(accessRecord(ctx));
    } catch (err) {
      ctx.proxy.log.error({ err }, 'access log failed');
    }
  }
}

/** One access-log record: flat, small, no headers (the log plugins carry those). */
function accessRecord(ctx: ProxyRequest): object {
  const l = ctx.latencies as { kong: number; proxy: number; request: number };
  return {
    request_id: ctx.requestId,
    client_ip: ctx.clientIp,
    method: ctx.method,
    host: ctx.host,
    uri: ctx.req.url,
    status: ctx.status,
    request_size: ctx.requestSize,
    response_size: ctx.responseSize,
    latency_request: l.request,
    latency_kong: l.kong,
    latency_proxy: l.proxy,
    source: ctx.source,
    route: ctx.route !== null ? ctx.route.id : null,
    service: ctx.service !== null ? ctx.service.id : null,
    consumer: ctx.consumer !== null ? ctx.consumer.id : null,
    upstream: ctx.attempts > 0 ? `${ctx.upstreamHost}:${ctx.upstreamPort}` : null,
    upstream_status: ctx.upstreamStatus ?? null,
    tries: ctx.attempts,
    user_agent: ctx.req.headers['user-agent'] ?? null,
  };
}

function hasRequestBody(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const cl = h['content-length'];
  return cl !== undefined && cl !== '0';
}

/** A Content-Length body small enough to buffer for retries (and within a request-size limit, which streams). */
function isSmallBody(ctx: ProxyRequest): boolean {
  const h = ctx.req.headers;
  if (h['transfer-encoding'] !== undefined) return false;
  const n = Number(h['content-length']);
  if (!(n <= REPLAYABLE_BODY_MAX)) return false;
  return ctx.requestBodyLimit === undefined || n <= ctx.requestBodyLimit.bytes;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('client aborted')));
  });
}

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

class ProxyImpl implements Proxy {
  runtime: Runtime;
  readonly servers: (http.Server | https.Server)[] = [];
  readonly clientIps: ClientIpResolver;
  readonly pools: UpstreamPools;
  readonly registry: PluginRegistry;
  readonly log: ProxyLog;
  readonly debugHeader: boolean;
  readonly accessLog: AccessLog | null;
  private sniTable: SniTable;
  private readonly keepAliveTimeout: number;
  private readonly sockets = new Set<Socket>();
  private draining = false;

  constructor(readonly opts: ProxyOptions) {
    const c = opts.config;
    this.log = opts.log;
    this.registry = opts.registry ?? defaultRegistry;
    this.clientIps = createClientIpResolver(c.trusted_ips ?? [], c.real_ip_header || 'X-Real-IP', !!c.real_ip_recursive);
    this.debugHeader = !!c.allow_debug_header;
    this.accessLog = opts.accessLog ?? null;
    this.keepAliveTimeout = c.keepalive_timeout ?? 75_000;
    this.pools = new UpstreamPools();
    const empty = emptySnapshot();
    this.runtime = compileRuntime(empty, this.registry, { log: this.log as any });
    this.sniTable = buildSniTable(empty, () => {});
    this.onRequest = this.onRequest.bind(this);
    this.onCheckContinue = this.onCheckContinue.bind(this);
  }

  get server(): http.Server | https.Server | null {
    return this.servers[0] ?? null;
  }

  applySnapshot(snapshot: Snapshot): Runtime {
    const previous = this.runtime;
    const next = compileRuntime(snapshot, this.registry, { log: this.log as any, previous });
    for (const w of next.warnings) this.log.warn({ warning: w }, 'route skipped');
    this.sniTable = buildSniTable(snapshot, (msg) => this.log.error({ error: msg }, 'certificate skipped'));
    this.runtime = next;
    previous.close();
    return next;
  }

  listen(host: string, port: number, tls?: boolean | DefaultCert): Promise<{ host: string; port: number }> {
    let server: http.Server | https.Server;
    const common = {
      ServerResponse: ProxyResponse as typeof ServerResponse,
      requestTimeout: 0, // long uploads/downloads are governed by service timeouts, not a global cap
      headersTimeout: 60_000,
      keepAliveTimeout: this.keepAliveTimeout,
    };
    if (tls) {
      let def: DefaultCert | undefined = typeof tls === 'object' ? tls : undefined;
      const c = this.opts.config;
      if (!def && c.ssl_cert && c.ssl_cert_key) def = { cert: readFileSync(c.ssl_cert), key: readFileSync(c.ssl_cert_key) };
      server = https.createServer(
        {
          ...common,
          ...(def ?? {}),
          SNICallback: (servername, cb) => cb(null, this.sniTable.lookup(servername)),
        },
        this.onRequest,
      );
    } else {
      server = http.createServer(common, this.onRequest);
    }
    server.keepAliveTimeout = this.keepAliveTimeout;
    // Without this listener node sends 100 Continue before any plugin ran (a 417/401 would follow a 100).
    server.on('checkContinue', this.onCheckContinue);
    server.on('clientError', (err: Error & { code?: string }, socket: Socket) => this.onClientError(err, socket));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const a = server.address() as { address: string; port: number };
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  beginDrain(): void {
    this.draining = true;
  }

  async close(): Promise<void> {
    this.draining = true;
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          }),
      ),
    );
    for (const s of this.sockets) s.destroy();
    this.runtime.close();
    await this.pools.close();
  }

  private onClientError(err: Error & { code?: string }, socket: Socket): void {
    if (!socket.writable || (socket as any)._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const code = err.code;
    const [status, reason] =
      code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
    const body = JSON.stringify({ message: reason });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nServer: ${SERVER_HEADER}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    socket.destroySoon?.();
  }

  // ---- request lifecycle ----

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.draining) res.shouldKeepAlive = false;
    this.start(new ProxyRequest(this, this.runtime, req, res as ProxyResponse));
  }

  /**
   * `Expect: 100-continue`: the 100 goes out only once the body is going to be read (continueBody).
   * A final answer without a 100 makes node close the connection (the client never sends the body).
   */
  onCheckContinue(req: IncomingMessage, res: ServerResponse): void {
    if (this.draining) res.shouldKeepAlive = false;
    const ctx = new ProxyRequest(this, this.runtime, req, res as ProxyResponse);
    ctx.awaitingContinue = true;
    this.start(ctx);
  }

  private start(ctx: ProxyRequest): void {
    const rt = ctx.rt;
    const res = ctx.res;
    res.ctx = ctx;
    res.on('close', onResponseClose);
    if (rt.globals.length > 0) {
      ctx.plugins = rt.globals.filter((p) => (ctx.scheme === 'https' ? p.https : p.http));
      runRewrite(ctx, ctx.plugins).then(
        (r) => (r ? this.pluginExit(ctx, r) : this.route(ctx)),
        (err) => this.internalError(ctx, err),
      );
      return;
    }
    this.route(ctx);
  }

  private route(ctx: ProxyRequest): void {
    const rt = ctx.rt;
    const m = rt.router.match(ctx);
    if (m === null) {
      this.gatewayError(ctx, 404, MSG_NO_ROUTE);
      return;
    }
    ctx.match = m;
    const route = m.route;
    ctx.route = route;
    ctx.service = m.service;
    ctx.uriCaptures = m.uriCaptures;
    ctx.upstreamUri = ctx.query === '' ? m.upstreamPath : m.upstreamPath + '?' + ctx.query;

    if (ctx.scheme !== 'https') {
      const protocols: string[] | null = route.protocols;
      if (protocols && protocols.includes('https') && !protocols.includes('http')) {
        this.httpsRedirect(ctx);
        return;
      }
    }

    const chain = rt.chainFor(route);
    ctx.chain = chain;
    if (chain.empty) {
      ctx.plugins = null;
      this.toUpstream(ctx);
      return;
    }
    this.access(ctx, chain).catch((err) => this.internalError(ctx, err));
  }

  private async access(ctx: ProxyRequest, chain: PluginChain): Promise<void> {
    ctx.upstreamHeaders = forwardableHeaders(ctx.req.headers);
    const pre: PluginInstance[] = [];
    resolveRest(ctx, chain, pre);
    if (wantsRequestBody(ctx, pre) && hasRequestBody(ctx.req)) {
      ctx.continueBody();
      ctx.upstreamBody = await readBody(ctx.req);
    }
    const out: PluginInstance[] = [];
    ctx.plugins = out;
    const r = await runAccess(ctx, chain, out);
    if (ctx.done) return;
    if (r) {
      resolveRest(ctx, chain, out);
      await this.pluginExit(ctx, r);
      return;
    }
    ctx.responsePlugins = hasResponsePhase(out);
    ctx.mayBufferResponse = ctx.responsePlugins && wantsResponseBody(ctx, out);
    this.toUpstream(ctx);
  }

  private toUpstream(ctx: ProxyRequest): void {
    const service = ctx.service;
    if (service === null) {
      this.gatewayExit(ctx, 503, { message: MSG_NO_SERVICE });
      return;
    }
    const values = this.proxyHeaderValues(ctx);
    if (ctx.upstreamHeaders === NO_HEADERS) {
      // no plugin saw the request: build undici's header list directly
      const list: (string | string[])[] = [];
      ctx.hostAt = forwardableHeaderList(ctx.req.headers, values, list);
      ctx.headerList = list;
    } else {
      const h = ctx.upstreamHeaders;
      for (let i = 0; i < PROXY_HEADER_NAMES.length; i++) {
        const v = values[i];
        if (v !== undefined) h[PROXY_HEADER_NAMES[i]] = v;
        else delete h[PROXY_HEADER_NAMES[i]];
      }
    }
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
            this.dispatch(ctx);
          },
          () => {
            if (!ctx.done) ctx.res.destroy(); // the client aborted its body
          },
        );
        return;
      }
    }
    ctx.upstreamStartedAt = Date.now();
    this.dispatch(ctx);
  }

  /**
   * X-Forwarded-*, X-Real-IP, Via and X-Kong-Request-Id as Kong sets them upstream, by
   * PROXY_HEADER_NAMES index (undefined: the header is removed).
   */
  private proxyHeaderValues(ctx: ProxyRequest): (string | undefined)[] {
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
  dispatch(ctx: ProxyRequest): void {
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
        this.gatewayError(ctx, 503, MSG_NO_PEER);
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
    const list = ctx.headerList;
    if (list !== null) {
      const current = ctx.hostAt >= 0 ? list[ctx.hostAt] : undefined;
      let host: string | undefined;
      if (route.preserve_host && ctx.host) host = ctx.host;
      else if (current === ctx.req.headers.host || current === undefined) host = hostHeader;
      if (host !== undefined) {
        if (ctx.hostAt >= 0) list[ctx.hostAt] = host;
        else ctx.hostAt = list.push('host', host) - 1;
      }
    } else {
      const h = ctx.upstreamHeaders;
      if (route.preserve_host && ctx.host) h.host = ctx.host;
      else if (h.host === ctx.req.headers.host || h.host === undefined) h.host = hostHeader;
    }

    const pool = ctx.balancer !== null ? this.pools.get(protocol, host, port, service, hostHeader) : this.pools.forService(service, protocol, port, hostHeader);
    const readTimeout = service.read_timeout ?? 60_000;
    let body: Buffer | IncomingMessage | LimitedBody | null = null;
    if (ctx.upstreamBody !== undefined) {
      // only plugins (which see the header object) set a buffered body
      body = ctx.upstreamBody;
      ctx.upstreamHeaders['content-length'] = String(ctx.upstreamBody.length);
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
        headers: (list ?? ctx.upstreamHeaders) as Record<string, string | string[]>,
        body,
        headersTimeout: readTimeout,
        bodyTimeout: readTimeout,
      },
      ctx as any,
    );
  }

  /**
   * The streamed request body passed ctx.requestBodyLimit: stop forwarding it, abort the upstream
   * request and answer the limit's response (or cut the connection when the response already began).
   */
  requestBodyTooLarge(ctx: ProxyRequest, body: LimitedBody): void {
    ctx.bodyLimitExceeded = true;
    const req = ctx.req;
    req.unpipe(body);
    // Drop the rest of the body rather than close at once: a client still sending would get a reset
    // that can swallow the answer. A client that keeps sending is cut after DISCARD_BODY_MS.
    req.resume();
    setTimeout(cutUnfinishedBody, DISCARD_BODY_MS, req).unref();
    if (!ctx.done) {
      if (ctx.res.headersSent) {
        ctx.status = ctx.res.statusCode;
        ctx.res.destroy();
      } else {
        const r = (ctx.requestBodyLimit as { response: PluginResponse }).response;
        this.gatewayExit(ctx, r.status, r.body, r.headers);
      }
    }
    // undici aborts the upstream request when its body stream fails (now, or once connected)
    body.destroy(BODY_LIMIT_ERROR);
  }

  /** The upstream took no request body data for service.write_timeout ms: abort, answer 504 (see upstreamFailed). */
  requestWriteTimedOut(ctx: ProxyRequest, body: LimitedBody): void {
    ctx.writeTimedOut = true;
    const req = ctx.req;
    req.unpipe(body);
    req.resume();
    setTimeout(cutUnfinishedBody, DISCARD_BODY_MS, req).unref();
    const abort = ctx.abortUpstream;
    if (abort !== null) abort(WRITE_TIMEOUT_ERROR);
    body.destroy(WRITE_TIMEOUT_ERROR);
  }

  upstreamFailed(ctx: ProxyRequest, err: Error & { code?: string }): void {
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
    if (ctx.headersStarted) {
      // the response is partly sent: all we can do is cut it so the client sees the failure
      ctx.status = ctx.res.statusCode;
      ctx.res.destroy(err);
      return;
    }
    const replayable = ctx.upstreamBody !== undefined || ctx.replayBody !== null || !hasRequestBody(ctx.req);
    if (ctx.triesLeft > 0 && replayable && isConnectFailure(code)) {
      ctx.triesLeft--;
      this.dispatch(ctx);
      return;
    }
    ctx.failed = true;
    if (isTimeout(code)) this.gatewayError(ctx, 504, MSG_TIMEOUT);
    else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') this.gatewayError(ctx, 503, MSG_NAME_RESOLUTION);
    else this.gatewayError(ctx, 502, MSG_BAD_GATEWAY);
    this.log.debug({ err: err.message, code, request_id: ctx.requestId }, 'upstream request failed');
  }

  /** Proxied-response headers appended to the flat list from the upstream. */
  addProxiedHeaders(ctx: ProxyRequest, list: string[]): void {
    const now = ctx.upstreamHeadersAt;
    list.push(
      'via', VIA_VALUE,
      'x-kong-upstream-latency', String(now - ctx.upstreamStartedAt),
      'x-kong-proxy-latency', String(ctx.upstreamStartedAt - ctx.startedAt),
      'x-kong-request-id', ctx.requestId,
    );
    if (this.debugHeader && ctx.req.headers['kong-debug'] !== undefined) this.pushDebugHeaders(ctx, list);
    if (ctx.hasResponseHeaders) {
      const extra = ctx.responseHeaders;
      for (const k in extra) {
        const lower = k.toLowerCase();
        for (let i = list.length - 2; i >= 0; i -= 2) if (list[i] === lower) list.splice(i, 2);
        const v = extra[k];
        if (v === null) continue;
        if (Array.isArray(v)) for (const x of v) list.push(lower, x);
        else list.push(lower, v);
      }
    }
  }

  private pushDebugHeaders(ctx: ProxyRequest, list: string[]): void {
    const r = ctx.route;
    const s = ctx.service;
    if (r?.id) list.push('kong-route-id', r.id);
    if (r?.name) list.push('kong-route-name', r.name);
    if (s?.id) list.push('kong-service-id', s.id);
    if (s?.name) list.push('kong-service-name', s.name);
  }

  /** Upstream response through response-phase plugins (headers only, or with the buffered body). */
  respondWithPlugins(ctx: ProxyRequest, up: UpstreamResponse, streaming: boolean): void {
    runResponse(ctx, up, ctx.plugins as PluginInstance[]).then(
      () => {
        if (ctx.done || ctx.res.headersSent) return;
        const list: string[] = [];
        for (const k in up.headers) {
          const v = up.headers[k];
          const lower = k.toLowerCase();
          if (streaming === false && (lower === 'content-length' || lower === 'transfer-encoding')) continue;
          if (Array.isArray(v)) for (const x of v) list.push(lower, x);
          else if (v !== undefined && v !== null) list.push(lower, String(v));
        }
        if (!streaming) list.push('content-length', String(up.body ? up.body.length : 0));
        this.addProxiedHeaders(ctx, list);
        ctx.status = up.status;
        ctx.proxied = true;
        ctx.res.writeHead(up.status, list);
        if (streaming) {
          ctx.drainHooked = true;
          ctx.res.on('drain', ctx.resume as () => void);
          (ctx.resume as () => void)();
        } else ctx.res.end(ctx.method === 'HEAD' ? undefined : up.body);
      },
      (err) => {
        if (streaming && ctx.abortUpstream) ctx.abortUpstream();
        this.internalError(ctx, err);
      },
    );
  }

  // ---- answers generated by the gateway ----

  private httpsRedirect(ctx: ProxyRequest): void {
    const route = ctx.route as Row;
    const code = Number(route.https_redirect_status_code ?? 426);
    if (code === 426) {
      this.gatewayExit(ctx, 426, { message: 'Please use HTTPS protocol' }, { Connection: 'Upgrade', Upgrade: 'TLS/1.2, HTTP/1.1' });
      return;
    }
    const host = (ctx.trustedPeer && firstValue(ctx.req.headers['x-forwarded-host'])) || hostWithoutPort(ctx.host);
    this.gatewayExit(ctx, code, undefined, { Location: `https://${host}${ctx.req.url}` });
  }

  /** Kong's kong.response.error: {"message", "request_id"}. */
  gatewayError(ctx: ProxyRequest, status: number, message: string): void {
    this.gatewayExit(ctx, status, { message, request_id: ctx.requestId });
  }

  private internalError(ctx: ProxyRequest, err: unknown): void {
    this.log.error({ err, request_id: ctx.requestId }, 'request failed');
    ctx.failed = true;
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    ctx.plugins = null; // do not re-enter failing plugins
    this.gatewayError(ctx, 500, MSG_INTERNAL);
  }

  private pluginExit(ctx: ProxyRequest, r: PluginResponse): Promise<void> | void {
    return this.gatewayExit(ctx, r.status, r.body, r.headers);
  }

  /** A response the gateway (or a plugin) produced itself: response-phase plugins still run, then log. */
  gatewayExit(ctx: ProxyRequest, status: number, body: unknown, headers?: Record<string, string | string[]>): Promise<void> | void {
    if (ctx.done || ctx.res.headersSent) return;
    const hdrs: Record<string, string | string[]> = headers ? { ...headers } : {};
    const payload = renderBody(body, hdrs);
    const plugins = ctx.plugins;
    if (plugins !== null && plugins.length > 0 && hasResponsePhase(plugins)) {
      const up: UpstreamResponse = { status, headers: hdrs, body: Buffer.isBuffer(payload) ? payload : Buffer.from(payload) };
      return runResponse(ctx, up, plugins).then(
        () => this.writeGateway(ctx, up.status, up.headers, up.body ?? ''),
        (err) => {
          ctx.plugins = null;
          this.log.error({ err, request_id: ctx.requestId }, 'response plugin failed');
          this.writeGateway(ctx, 500, { 'content-type': JSON_TYPE }, JSON.stringify({ message: MSG_INTERNAL, request_id: ctx.requestId }));
        },
      );
    }
    this.writeGateway(ctx, status, hdrs, payload);
  }

  private writeGateway(ctx: ProxyRequest, status: number, headers: Record<string, string | string[]>, payload: Buffer | string): void {
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
    if (this.debugHeader && ctx.route !== null && ctx.req.headers['kong-debug'] !== undefined) this.pushDebugHeaders(ctx, list);
    if (ctx.hasResponseHeaders) {
      const extra = ctx.responseHeaders;
      for (const k in extra) {
        const lower = k.toLowerCase();
        for (let i = list.length - 2; i >= 0; i -= 2) if (list[i].toLowerCase() === lower) list.splice(i, 2);
        const v = extra[k];
        if (v === null) continue;
        if (Array.isArray(v)) for (const x of v) list.push(lower, x);
        else list.push(lower, v);
      }
    }
    ctx.status = status;
    res.writeHead(status, list);
    // the request body (if any) is not read: let node discard it rather than keep the socket busy
    res.end(ctx.method === 'HEAD' ? undefined : payload);
  }
}

export function createProxy(opts: ProxyOptions): Proxy {
  return new ProxyImpl(opts);
}

export type { DefaultCert } from './tls.js';
