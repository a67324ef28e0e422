// One request in flight: Kong's ngx.ctx (the RequestContext plugins see) and, to avoid per-request
// closures on the hot path, also the undici dispatch handler of its upstream call (phase 6 streams
// through its onHeaders/onData/onComplete).
import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Row } from '../../shared/snapshot.js';
import type { Runtime } from '../runtime.js';
import { EMPTY_CAPTURES, normalizePath, type RouteMatch } from '../router/index.js';
import type { PluginResponse, RequestContext, UpstreamResponse } from '../plugins/types.js';
import { EMPTY_CHAIN, hasLogPhase, wantsResponseBody, type PluginChain, type PluginInstance } from '../plugins/pipeline.js';
import type { Balancer, Peer } from '../balancer/index.js';
import type { ClientIpResolver } from './client-ip.js';
import { NO_HEADERS, firstValue, rawResponseHeaders, responseHeaderObject } from './headers.js';
import { nextRequestId } from './request-id.js';
import type { UpstreamPools } from './pools.js';
import type { LimitedBody } from './request-body.js';
import { upstreamFailed } from './upstream.js';
import { addProxiedHeaders, respondWithPlugins } from './respond.js';
import { logPhase } from './log-phase.js';

/** What a request needs of the proxy that accepted it. */
export interface ProxyHost {
  readonly clientIps: ClientIpResolver;
  readonly pools: UpstreamPools;
  readonly log: { error(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void; debug(obj: unknown, msg?: string): void; info(obj: unknown, msg?: string): void };
  readonly debugHeader: boolean;
  readonly accessLog: { info(obj: object, msg?: string): void } | null;
}

/** ServerResponse that knows its request context (no per-request closures for listeners). */
export class ProxyResponse extends ServerResponse {
  ctx: ProxyRequest | null = null;
}

export function onResponseClose(this: ProxyResponse): void {
  const ctx = this.ctx;
  if (ctx !== null) ctx.finished();
}

const CLIENT_GONE_ERROR = Object.assign(new Error('client closed the request'), { code: 'SB_CLIENT_GONE' });

/** One request in flight: Kong's ngx.ctx + the undici dispatch handler for its upstream call. */
export class ProxyRequest implements RequestContext {
  // RequestContext
  clientIp: string;
  scheme: string;
  method: string;
  path: string;
  query: string;
  host: string;
  route: Row | null = null;
  service: Row | null = null;
  uriCaptures: Record<string, string> = EMPTY_CAPTURES;
  consumer: Row | null = null;
  credential: Row | null = null;
  authenticatedGroups?: string[];
  upstreamHeaders: Record<string, string | string[]> = NO_HEADERS;
  /** The upstream headers as undici gets them, a flat list (built in toUpstream, from the client's or the plugins' headers). */
  headerList: (string | string[])[] | null = null;
  /** The Host the request has before an attempt picks its own (the client's, or what plugins set). */
  requestHost: string | undefined = undefined;
  /** headerList ends with a Host pair (pushed by the last attempt). */
  hostInList = false;
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
  /** A response-phase plugin failed: the 500 that follows does not run response plugins again. */
  skipResponsePhase = false;
  // for the log phase: the response came from the upstream / the request failed (Kong's response source)
  proxied = false;
  failed = false;
  /** Upstream attempts, the address of the last one, and the earlier ones (only kept when there was a retry). */
  attempts = 0;
  upstreamHost = '';
  upstreamPort = 0;
  earlierTries: { ip: string; port: number }[] | null = null;

  constructor(
    readonly proxy: ProxyHost,
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

  /** Router input: every header line as received (a repeated header matches on any of its lines). */
  get rawHeaders(): string[] {
    return this.req.rawHeaders;
  }
  /** Router input: the port this request came in on (Kong's net.dst.port when Host has no port). */
  get localPort(): number | undefined {
    return this.req.socket.localPort;
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
  /** The queued response headers, handed over once (later ones queue anew). */
  takeResponseHeaders(): Record<string, string | string[] | null> | null {
    const h = this._responseHeaders;
    this._responseHeaders = null;
    return h;
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
      addProxiedHeaders(this, list);
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
    // synchronous plugins: the response went out, the body streams on; else undici waits for them
    return respondWithPlugins(this, up, true);
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
      respondWithPlugins(this, up, false);
      return;
    }
    const last = this.lastChunk;
    if (last !== null) {
      this.lastChunk = null;
      this.res.end(last);
    } else this.res.end();
  }

  onError(err: Error & { code?: string }): void {
    upstreamFailed(this, err);
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
    // the log phase (latencies, log records) only when something reads it: no timer per request otherwise
    if ((plugins !== null && hasLogPhase(plugins)) || this.proxy.accessLog !== null) setImmediate(logPhase, this);
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
