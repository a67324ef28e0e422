// Kong's log serializer (kong.log.serialize): the record file-log, http-log and friends write for
// one request. Built in the log phase only, on first use, and shared by every log plugin of the
// request (treat it as read-only). Authorization and Proxy-Authorization are redacted, as Kong does.
import type { TLSSocket } from 'node:tls';
import type { Row } from '../../shared/snapshot.js';
import type { RequestContext } from './types.js';

export interface LogRecord {
  request: {
    id: string;
    uri: string;
    url: string;
    querystring: Record<string, string | boolean | (string | boolean)[]>;
    method: string;
    headers: Record<string, string | string[]>;
    size: number;
    tls?: { version: string | null; cipher: string | null; client_verify: string };
  };
  upstream_uri: string;
  upstream_status?: string;
  response: { status: number; headers: Record<string, string | string[]>; size: number };
  tries: { ip: string; port: number; balancer_start: number; balancer_latency: number }[];
  latencies: { kong: number; proxy: number; request: number; receive: number };
  authenticated_entity?: { id: string; consumer_id: string | null };
  route?: Row;
  service?: Row;
  consumer?: Row;
  client_ip: string;
  started_at: number;
  source: 'service' | 'exit' | 'error';
}

const REDACTED_HEADERS = ['authorization', 'proxy-authorization'];
const records = new WeakMap<RequestContext, LogRecord>();

/** The request's log record (built once per request, in the log phase). */
export function serialize(ctx: RequestContext): LogRecord {
  let rec = records.get(ctx);
  if (rec === undefined) {
    rec = build(ctx);
    records.set(ctx, rec);
  }
  return rec;
}

function build(ctx: RequestContext): LogRecord {
  const req = ctx.req;
  const socket = req.socket as TLSSocket;
  const uri = req.url ?? '/';
  const host = hostWithoutPort(ctx.host) || socket.localAddress || '';
  const l = ctx.latencies ?? { kong: 0, proxy: -1, request: Date.now() - ctx.startedAt };
  const rec: LogRecord = {
    request: {
      id: ctx.requestId,
      uri,
      url: `${ctx.scheme}://${host}:${serverPort(socket)}${uri}`,
      querystring: parseQuery(ctx.query),
      method: ctx.method,
      headers: requestHeaders(ctx),
      size: ctx.requestSize ?? 0,
    },
    upstream_uri: ctx.upstreamUri,
    response: {
      status: ctx.status ?? ctx.res.statusCode,
      headers: responseHeaders(ctx),
      size: ctx.responseSize ?? 0,
    },
    tries: ctx.tries ?? [],
    latencies: { kong: l.kong, proxy: l.proxy, request: l.request, receive: l.receive ?? 0 },
    client_ip: ctx.clientIp,
    started_at: ctx.startedAt,
    source: ctx.source ?? 'exit',
  };
  if (socket.encrypted) {
    rec.request.tls = { version: socket.getProtocol?.() ?? null, cipher: socket.getCipher?.()?.name ?? null, client_verify: 'NONE' };
  }
  if (ctx.upstreamStatus !== undefined) rec.upstream_status = String(ctx.upstreamStatus);
  const cred = ctx.credential;
  if (cred !== null) {
    const consumerId = cred.consumer && typeof cred.consumer === 'object' ? (cred.consumer.id ?? null) : (cred.consumer_id ?? null);
    rec.authenticated_entity = { id: cred.id, consumer_id: consumerId };
  }
  if (ctx.route !== null) rec.route = ctx.route;
  if (ctx.service !== null) rec.service = ctx.service;
  if (ctx.consumer !== null) rec.consumer = ctx.consumer;
  return rec;
}

/** The listener's port (the connection may be closed by now: then the server's address tells). */
function serverPort(socket: TLSSocket): number | string {
  if (socket.localPort !== undefined) return socket.localPort;
  const addr = (socket as unknown as { server?: { address(): unknown } }).server?.address();
  return addr !== null && typeof addr === 'object' ? (addr as { port: number }).port : '';
}

function hostWithoutPort(h: string): string {
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(0, end + 1).toLowerCase() : h.toLowerCase();
  }
  const colon = h.indexOf(':');
  return (colon >= 0 ? h.slice(0, colon) : h).toLowerCase();
}

/** Request headers as Kong's kong.request.get_headers(): lower-case names, repeated headers as arrays. */
function requestHeaders(ctx: RequestContext): Record<string, string | string[]> {
  const raw = ctx.req.rawHeaders;
  const out: Record<string, string | string[]> = Object.create(null); // client-chosen names: no prototype
  for (let i = 0; i + 1 < raw.length; i += 2) addHeader(out, raw[i].toLowerCase(), raw[i + 1]);
  for (const name of REDACTED_HEADERS) if (out[name] !== undefined) out[name] = 'REDACTED';
  return out;
}

/** Response headers as sent (parsed from the serialized header block: what the client got). */
function responseHeaders(ctx: RequestContext): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  const block = (ctx.res as unknown as { _header?: string | null })._header;
  if (typeof block !== 'string') {
    for (const [k, v] of Object.entries(ctx.res.getHeaders())) {
      if (v !== undefined) out[k] = Array.isArray(v) ? v.map(String) : String(v);
    }
    return out;
  }
  const lines = block.split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    addHeader(out, line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return out;
}

function addHeader(out: Record<string, string | string[]>, name: string, value: string): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[name] = [prev, value];
}

function decode(s: string): string {
  const plus = s.indexOf('+') >= 0 ? s.replace(/\+/g, ' ') : s;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/** Kong's kong.request.get_query(): `a=1&a=2` → array, a bare `a` → true. */
export function parseQuery(query: string): Record<string, string | boolean | (string | boolean)[]> {
  const out: Record<string, string | boolean | (string | boolean)[]> = Object.create(null);
  if (query === '') return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decode(eq >= 0 ? part.slice(0, eq) : part);
    if (key === '') continue;
    const value: string | boolean = eq >= 0 ? decode(part.slice(eq + 1)) : true;
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}
