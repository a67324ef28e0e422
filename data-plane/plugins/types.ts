// The one interface every data-plane plugin implements (Kong's handler.lua shape).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Row, Snapshot } from '../../shared/snapshot.js';

/** What a phase sees of the request in flight. Owned by the proxy; plugins read and edit it. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Client IP after trusted_ips/real_ip_header resolution. */
  clientIp: string;
  /** 'http' | 'https' as seen by the client (trusted X-Forwarded-Proto honoured). */
  scheme: string;
  method: string;
  /** Normalized request path (no query) and raw query string (without '?', '' when none). */
  path: string;
  query: string;
  host: string;
  route: Row | null;
  service: Row | null;
  /** Named regex captures of the matched route path. */
  uriCaptures: Record<string, string>;
  consumer: Row | null;
  credential: Row | null;
  authenticatedGroups?: string[];
  /** Verified JWT set by the jwt plugin: later plugins (aws-lambda's requestContext.authorizer) read it. */
  authenticatedJwt?: { token: string; header: Record<string, unknown>; claims: Record<string, unknown>; scopes: string[] };
  /** Set by proxy-cache (X-Cache-Status value) for metrics and logs. */
  cacheStatus?: 'Hit' | 'Miss' | 'Bypass' | 'Refresh';
  /** Set by rate-limiting when it refused the request (for metrics and logs). */
  rateLimited?: boolean;
  /** Request headers to send upstream (lower-case names). Plugins edit this, not req.headers. */
  upstreamHeaders: Record<string, string | string[]>;
  /** Path + query sent upstream; plugins may rewrite it. */
  upstreamUri: string;
  upstreamMethod: string;
  /** A plugin that needs the body buffered sets this (undefined = stream). */
  upstreamBody?: Buffer;
  /**
   * Cap on request body bytes, enforced while the body streams upstream (request-size-limiting on
   * bodies without Content-Length): once more bytes arrive the proxy stops reading, aborts the
   * upstream request and answers `response` instead (if nothing was sent to the client yet).
   */
  requestBodyLimit?: { bytes: number; response: PluginResponse };
  /** Headers to add/replace (null: remove) on the response to the client, over the upstream ones; response-phase plugins find them in res.headers. */
  responseHeaders: Record<string, string | string[] | null>;
  /** Per-request scratch space shared between plugins (kong.ctx.shared). */
  shared: Record<string, unknown>;
  startedAt: number;
  requestId: string;
  /** Set by the proxy for the log phase. */
  status?: number;
  upstreamStatus?: number;
  latencies?: { kong: number; proxy: number; request: number; receive?: number };
  /** Set by the proxy for the log phase: bytes read from and written to the client for this request (headers included). */
  requestSize?: number;
  responseSize?: number;
  /** Set by the proxy for the log phase: who produced the response (Kong's kong.response.get_source()). */
  source?: 'service' | 'exit' | 'error';
  /** Set by the proxy for the log phase: the upstream addresses tried, in order (Kong's balancer tries). */
  tries?: { ip: string; port: number; balancer_start: number; balancer_latency: number }[];
}

/** What a phase may return to answer the request itself (auth failure, cache hit, Lambda). */
export interface PluginResponse {
  status: number;
  body?: unknown; // object → JSON; string/Buffer → as is
  headers?: Record<string, string | string[]>;
}

/** Response-phase view of the upstream response: plugins edit status, headers and (if they asked) the body. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[]>;
  /** Only present when the plugin declared `bufferResponse`. */
  body?: Buffer;
}

export type PhaseResult = PluginResponse | void | undefined;

/**
 * Snapshot-wide data for plugin init (credentials by key, consumers by username...): one per
 * compiled snapshot, shared by every plugin instance, so an index is built once, not per instance.
 */
export interface SnapshotIndex {
  readonly snapshot: Snapshot;
  readonly consumersById: ReadonlyMap<string, Row>;
  /** The value built by `build` for `key`, built on the first call for this snapshot and then reused. */
  memo<T>(key: string, build: (snapshot: Snapshot) => T): T;
}

export interface PluginHandler<C = any> {
  name: string;
  version: string;
  priority: number;
  /** Build per-instance state once when a snapshot is applied (compiled regexes, key maps...). */
  init?(config: C, instance: Row, index: SnapshotIndex): unknown;
  rewrite?(ctx: RequestContext, config: C, state: any): PhaseResult | Promise<PhaseResult>;
  access?(ctx: RequestContext, config: C, state: any): PhaseResult | Promise<PhaseResult>;
  /** Called when the upstream response headers arrived (or the body, with bufferResponse). */
  response?(ctx: RequestContext, res: UpstreamResponse, config: C, state: any): void | Promise<void>;
  /**
   * Whether a proxied response still needs this plugin's response phase once its access ran
   * (default: yes). False lets the response stream out on the path without response plugins, e.g.
   * when access already put its headers in ctx.responseHeaders.
   */
  wantsResponse?(config: C, ctx: RequestContext): boolean;
  /** Called after the response finished; never on the critical path. */
  log?(ctx: RequestContext, config: C, state: any): void;
  /**
   * Ask the proxy to buffer the upstream response body for this plugin (e.g. response-transformer json).
   * `res` (status and headers, no body) is given when asked after the upstream answered, so a plugin
   * can limit buffering to the responses it edits (JSON only); without it the answer is conservative.
   */
  bufferResponse?(config: C, ctx: RequestContext, res?: UpstreamResponse): boolean;
  /** Ask the proxy to buffer the request body before access (e.g. request-transformer body edits). */
  bufferRequest?(config: C, ctx: RequestContext): boolean;
}
