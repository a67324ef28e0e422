// The JSON event sent to the function, in Kong's three shapes (request-util.lua build_request_payload):
//   awsgateway_compatible → Amazon API Gateway REST (payload 1.0) proxy event
//   any forward_request_* → {request_method, request_headers, request_uri, request_uri_args, request_body...}
//   otherwise (legacy)    → query arguments merged with the parsed body arguments
import type { Row } from '../../../shared/snapshot.js';
import type { RequestContext } from '../types.js';
import { parseQuery, type QueryValue } from '../request-transformer/query.js';
import { hostWithoutPort } from '../../proxy/headers.js';
import { boundaryOf, parseMultipart, partValue } from '../request-transformer/multipart.js';

export interface PayloadConfig {
  awsgateway_compatible: boolean;
  forward_request_method: boolean;
  forward_request_uri: boolean;
  forward_request_headers: boolean;
  forward_request_body: boolean;
  base64_encode_body: boolean;
}

/** Bodies Kong forwards as text even though kong.request.get_body cannot parse them (exact header match). */
const RAW_CONTENT_TYPES = new Set(['text/plain', 'text/html', 'application/xml', 'text/xml', 'application/soap+xml']);

type Args = Record<string, QueryValue>;

/** kong.request.get_query(): valueless keys are `true`, repeated keys arrays. */
export function queryArgs(ctx: RequestContext): Args {
  return Object.fromEntries(parseQuery(ctx.query));
}

/** kong.request.get_headers(): lower-case names, repeated headers as arrays. */
export function requestHeaders(ctx: RequestContext): Record<string, string | string[]> {
  // no prototype: a `__proto__` or `constructor` header is a header like any other
  const out = Object.create(null) as Record<string, string | string[]>;
  const raw = ctx.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const prev = out[name];
    if (prev === undefined) out[name] = raw[i + 1];
    else if (Array.isArray(prev)) prev.push(raw[i + 1]);
    else out[name] = [prev, raw[i + 1]];
  }
  return out;
}

type BodyArgs = { args: unknown } | { error: 'content type' | 'invalid' };

/** kong.request.get_body(): form, JSON or multipart arguments, or why there are none. */
function bodyArgs(ctx: RequestContext): BodyArgs {
  const type = ctx.req.headers['content-type'];
  if (!type) return { error: 'content type' };
  const lower = type.toLowerCase();
  const body = ctx.upstreamBody ?? Buffer.alloc(0);
  if (lower.includes('application/x-www-form-urlencoded')) return { args: Object.fromEntries(parseQuery(body.toString('utf8'))) };
  if (lower.includes('application/json')) {
    try {
      return { args: JSON.parse(body.toString('utf8')) };
    } catch {
      return { error: 'invalid' };
    }
  }
  if (lower.includes('multipart/form-data')) {
    const boundary = boundaryOf(type);
    if (!boundary) return { error: 'invalid' };
    const args: Args = {};
    for (const part of parseMultipart(body, boundary)) if (part.name !== null) args[part.name] = partValue(part);
    return { args };
  }
  return { error: 'content type' };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Legacy event: query args, overridden by body args (kong.table.merge). */
function legacyPayload(ctx: RequestContext): unknown {
  const query = queryArgs(ctx);
  const body = bodyArgs(ctx);
  if (!('args' in body)) return query;
  if (isPlainObject(body.args)) return { ...query, ...body.args };
  // a JSON array body with no query arguments stays an array (Lua: a merged sequence)
  if (Array.isArray(body.args) && Object.keys(query).length === 0) return body.args;
  return query;
}

function forwardPayload(ctx: RequestContext, conf: PayloadConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (conf.forward_request_method) out.request_method = ctx.method;
  if (conf.forward_request_headers) out.request_headers = requestHeaders(ctx);
  if (conf.forward_request_uri) {
    out.request_uri = ctx.req.url ?? '/';
    out.request_uri_args = queryArgs(ctx);
  }
  if (conf.forward_request_body) {
    const raw = ctx.upstreamBody ?? Buffer.alloc(0);
    const parsed = bodyArgs(ctx);
    const type = ctx.req.headers['content-type'];
    if ('error' in parsed && parsed.error === 'content type') {
      if (!(type !== undefined && RAW_CONTENT_TYPES.has(type)) && conf.base64_encode_body) {
        out.request_body = raw.toString('base64');
        out.request_body_base64 = true;
      } else out.request_body = raw.toString('utf8');
      out.request_body_args = {};
    } else {
      out.request_body = raw.toString('utf8');
      if ('args' in parsed) out.request_body_args = parsed.args;
    }
  }
  return out;
}

/** Split values into first-value and all-values maps, as API Gateway's REST event does. */
function splitMulti<V>(values: Record<string, V | V[]>): [Record<string, V>, Record<string, V[]>] {
  const single: Record<string, V> = {};
  const multi: Record<string, V[]> = {};
  for (const [k, v] of Object.entries(values)) {
    if (Array.isArray(v)) {
      single[k] = v[0];
      multi[k] = v;
    } else {
      single[k] = v;
      multi[k] = [v];
    }
  }
  return [single, multi];
}

/** The route path that matched: the longest matching prefix path, else the first matching regex path. */
export function matchedRoutePath(route: Row | null, path: string): string | undefined {
  const paths: unknown = route?.paths;
  if (!Array.isArray(paths)) return undefined;
  let best: string | undefined;
  for (const p of paths) {
    if (typeof p !== 'string' || p.startsWith('~')) continue;
    if (path.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
  }
  if (best !== undefined) return best;
  for (const p of paths) {
    if (typeof p !== 'string' || !p.startsWith('~')) continue;
    try {
      if (new RegExp(`^${p.slice(1)}`).test(path)) return p.slice(1);
    } catch {
      // the router refused it already
    }
  }
  return undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** CLF time, UTC: 09/Apr/2015:12:34:56 +0000. */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function peerAddress(ctx: RequestContext): string {
  const a = ctx.req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** API Gateway REST proxy event (payload 1.0) as Kong's aws_serializer builds it. */
function apiGatewayEvent(ctx: RequestContext, conf: PayloadConfig): Record<string, unknown> {
  const [headers, multiValueHeaders] = splitMulti(requestHeaders(ctx));
  const [queryStringParameters, multiValueQueryStringParameters] = splitMulti(queryArgs(ctx));
  const pathParameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.uriCaptures)) if (!/^\d+$/.test(k)) pathParameters[k] = v;

  // Kong: a missing body is nil, and ngx.encode_base64(nil) is "" (so GETs carry body "" + isBase64Encoded)
  const raw = ctx.upstreamBody;
  let body: string | undefined;
  let isBase64Encoded: boolean;
  if (conf.base64_encode_body && (raw === undefined || raw.length > 0)) {
    body = raw === undefined ? '' : raw.toString('base64');
    isBase64Encoded = true;
  } else {
    body = raw === undefined ? undefined : raw.toString('utf8');
    isBase64Encoded = false;
  }

  const uri = ctx.upstreamUri || ctx.req.url || '/';
  const q = uri.indexOf('?');
  const path = q >= 0 ? uri.slice(0, q) : uri;
  const domainName = hostWithoutPort(ctx.host);
  const resource = matchedRoutePath(ctx.route, ctx.path);
  const ua = headers['user-agent'];
  return {
    version: '1.0',
    resource,
    path,
    httpMethod: ctx.method,
    headers,
    multiValueHeaders,
    pathParameters,
    queryStringParameters,
    multiValueQueryStringParameters,
    body,
    isBase64Encoded,
    requestContext: {
      path,
      protocol: `HTTP/${ctx.req.httpVersion}`,
      httpMethod: ctx.method,
      domainName,
      domainPrefix: domainName.split('.')[0],
      identity: { sourceIp: peerAddress(ctx), userAgent: ua },
      requestId: ctx.requestId,
      requestTime: clfTime(ctx.startedAt),
      requestTimeEpoch: ctx.startedAt,
      resourcePath: path,
    },
  };
}

export function usesForwarding(conf: PayloadConfig): boolean {
  return conf.forward_request_body || conf.forward_request_headers || conf.forward_request_method || conf.forward_request_uri;
}

export function buildPayload(ctx: RequestContext, conf: PayloadConfig): string {
  if (conf.awsgateway_compatible) return JSON.stringify(apiGatewayEvent(ctx, conf));
  if (usesForwarding(conf)) return JSON.stringify(forwardPayload(ctx, conf));
  return JSON.stringify(legacyPayload(ctx));
}
