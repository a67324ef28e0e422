// Amazon API Gateway's own Lambda proxy events (awsgateway_compatible_payload_version), field by
// field as AWS documents them, so a function written for API Gateway (or an adapter such as
// serverless-http, serverless-express, Mangum) runs unchanged:
//   "1.0" → REST API payload 1.0 (no version, last value wins in single-value maps, null for absent
//           maps, multiValue* maps, requestContext.identity, authorizer.claims)
//   "2.0" → HTTP API payload 2.0 (version, routeKey, rawPath, cookies, comma-joined headers...)
// Kong's own serializer (awsgateway_compatible alone) stays in payload.ts.
import type { RequestContext } from '../types.js';
import { hostWithoutPort } from '../../proxy/headers.js';
import { clfTime, matchedRoutePath } from './payload.js';

/** Maps keyed by client input (header names, query keys): no prototype, so `__proto__` or `constructor` are plain keys. */
const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** HTTP API: bodies of these types arrive as text, every other body (no Content-Type included) as base64. */
export function isTextType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  return type.startsWith('text/') || type === 'application/json' || type === 'application/xml' || type === 'application/javascript';
}

/** Percent-decoding that keeps malformed sequences as they are ('+' is a space, as API Gateway decodes). */
function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Path of the upstream URI (the route's strip_path and request-transformer edits apply), raw. */
function upstreamPath(ctx: RequestContext): string {
  const uri = ctx.upstreamUri || ctx.req.url || '/';
  const q = uri.indexOf('?');
  return q >= 0 ? uri.slice(0, q) : uri;
}

/**
 * A route's regex path as API Gateway's resource template when it reads as one: each named group
 * becomes {name} ({name+} for a greedy `.*`/`.+`), anchors dropped. Any other regex stays as written.
 */
export function resourceTemplate(path: string): string {
  let out = '';
  let i = path.startsWith('^') ? 1 : 0;
  const end = path.endsWith('$') && !path.endsWith('\\$') ? path.length - 1 : path.length;
  while (i < end) {
    const m = /^\(\?<([A-Za-z][A-Za-z0-9_]*)>/.exec(path.slice(i, end));
    if (m === null) {
      out += path[i++];
      continue;
    }
    let depth = 1;
    let j = i + m[0].length;
    for (; j < end && depth > 0; j++) {
      if (path[j] === '\\') j++;
      else if (path[j] === '(') depth++;
      else if (path[j] === ')') depth--;
    }
    if (depth !== 0) return path;
    const inner = path.slice(i + m[0].length, j - 1);
    out += inner === '.*' || inner === '.+' ? `{${m[1]}+}` : `{${m[1]}}`;
    i = j;
  }
  return /[()[\]*+?|\\^$]/.test(out.replace(/\{[A-Za-z][A-Za-z0-9_]*\+?\}/g, '')) ? path : out;
}

/** "METHOD /path" of the matched route ("ANY" when the route takes every method), "$default" without a path. */
export function routeKey(ctx: RequestContext): string {
  const matched = matchedRoutePath(ctx.route, ctx.path);
  if (matched === undefined) return '$default';
  const path = resourceTemplate(matched);
  const methods: unknown = ctx.route?.methods;
  const method = Array.isArray(methods) && methods.length > 0 ? ctx.method : 'ANY';
  return `${method} ${path}`;
}

/** Named regex captures of the route path (API Gateway's {param} values). */
function pathParameters(ctx: RequestContext): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(ctx.uriCaptures)) {
    if (/^\d+$/.test(k)) continue;
    (out ??= dict())[k] = v;
  }
  return out;
}

/** JWT authorizer claims as API Gateway passes them: every value a string, arrays as "[a b c]". */
export function stringifyClaim(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(stringifyClaim).join(' ')}]`;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function stringClaims(claims: Record<string, unknown>): Record<string, string> {
  const out = dict<string>();
  for (const [k, v] of Object.entries(claims)) if (v !== undefined) out[k] = stringifyClaim(v);
  return out;
}

function body(ctx: RequestContext): { body?: string; isBase64Encoded: boolean } {
  const raw = ctx.upstreamBody;
  if (raw === undefined || raw.length === 0) return { isBase64Encoded: false };
  const type = ctx.req.headers['content-type'];
  if (isTextType(type)) return { body: raw.toString('utf8'), isBase64Encoded: false };
  return { body: raw.toString('base64'), isBase64Encoded: true };
}

/** HTTP API payload format 2.0. */
export function httpApiEvent(ctx: RequestContext): Record<string, unknown> {
  const headers = dict<string>();
  const cookies: string[] = [];
  const raw = ctx.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (name === 'cookie') {
      for (const c of value.split(';')) {
        const t = c.trim();
        if (t !== '') cookies.push(t);
      }
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }

  let query: Record<string, string> | undefined;
  if (ctx.query !== '') {
    for (const part of ctx.query.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const key = decode(eq < 0 ? part : part.slice(0, eq));
      const value = eq < 0 ? '' : decode(part.slice(eq + 1));
      query ??= dict();
      query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
    }
  }

  const key = routeKey(ctx);
  const path = upstreamPath(ctx);
  const domainName = hostWithoutPort(ctx.host);
  const jwt = ctx.authenticatedJwt;
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey: key,
    rawPath: path,
    rawQueryString: ctx.query,
  };
  if (cookies.length > 0) event.cookies = cookies;
  event.headers = headers;
  if (query !== undefined) event.queryStringParameters = query;
  const requestContext: Record<string, unknown> = {
    domainName,
    domainPrefix: domainName.split('.')[0],
    http: {
      method: ctx.method,
      path,
      protocol: `HTTP/${ctx.req.httpVersion}`,
      sourceIp: ctx.clientIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: ctx.requestId,
    routeKey: key,
    stage: '$default',
    time: clfTime(ctx.startedAt),
    timeEpoch: ctx.startedAt,
  };
  if (jwt !== undefined) {
    requestContext.authorizer = { jwt: { claims: stringClaims(jwt.claims), scopes: jwt.scopes.length > 0 ? jwt.scopes : null } };
  }
  event.requestContext = requestContext;
  const params = pathParameters(ctx);
  if (params !== undefined) event.pathParameters = params;
  Object.assign(event, body(ctx));
  return event;
}

/** REST has binaryMediaTypes, Silverback does not: text-like bodies go as text, others as base64. */
function isRestText(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  return isTextType(type) || type === 'application/x-www-form-urlencoded' || type.endsWith('+json') || type.endsWith('+xml');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** exp/iat as a REST Cognito authorizer renders them: Java's Date.toString(), "Tue Apr 04 18:39:39 UTC 2023". */
export function javaDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

function restClaims(claims: Record<string, unknown>): Record<string, string> {
  const out = stringClaims(claims);
  for (const k of ['exp', 'iat']) if (typeof claims[k] === 'number' && Number.isFinite(claims[k])) out[k] = javaDate(claims[k] as number);
  return out;
}

const IDENTITY_KEYS = [
  'cognitoIdentityPoolId', 'accountId', 'cognitoIdentityId', 'caller', 'apiKey', 'apiKeyId', 'accessKey', 'cognitoAuthenticationType',
  'cognitoAuthenticationProvider', 'userArn', 'user', 'principalOrgId', 'clientCert',
];

/** REST API payload format 1.0. */
export function restApiEvent(ctx: RequestContext): Record<string, unknown> {
  const headers = dict<string>();
  const multiValueHeaders = dict<string[]>();
  const raw = ctx.req.rawHeaders;
  let userAgent: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    headers[name] = raw[i + 1];
    (multiValueHeaders[name] ??= []).push(raw[i + 1]);
    if (name.toLowerCase() === 'user-agent') userAgent = raw[i + 1];
  }

  let query: Record<string, string> | null = null;
  let multiQuery: Record<string, string[]> | null = null;
  for (const part of ctx.query === '' ? [] : ctx.query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    (query ??= dict())[key] = value;
    ((multiQuery ??= dict())[key] ??= []).push(value);
  }

  const rawBody = ctx.upstreamBody;
  let body: string | null = null;
  let isBase64Encoded = false;
  if (rawBody !== undefined && rawBody.length > 0) {
    isBase64Encoded = !isRestText(ctx.req.headers['content-type']);
    body = rawBody.toString(isBase64Encoded ? 'base64' : 'utf8');
  }

  const matched = matchedRoutePath(ctx.route, ctx.path);
  const resource = matched === undefined ? '/{proxy+}' : resourceTemplate(matched);
  const path = upstreamPath(ctx);
  const domainName = hostWithoutPort(ctx.host);
  const identity: Record<string, unknown> = {};
  for (const k of IDENTITY_KEYS) identity[k] = null;
  identity.sourceIp = ctx.clientIp;
  identity.userAgent = userAgent;
  const requestContext: Record<string, unknown> = {
    resourcePath: resource,
    httpMethod: ctx.method,
    extendedRequestId: ctx.requestId,
    requestTime: clfTime(ctx.startedAt),
    path,
    protocol: `HTTP/${ctx.req.httpVersion}`,
    stage: '$default',
    domainPrefix: domainName.split('.')[0],
    requestTimeEpoch: ctx.startedAt,
    requestId: ctx.requestId,
    identity,
    domainName,
  };
  if (ctx.authenticatedJwt !== undefined) requestContext.authorizer = { claims: restClaims(ctx.authenticatedJwt.claims) };
  return {
    resource,
    path,
    httpMethod: ctx.method,
    headers,
    multiValueHeaders,
    queryStringParameters: query,
    multiValueQueryStringParameters: multiQuery,
    pathParameters: pathParameters(ctx) ?? null,
    stageVariables: null,
    requestContext,
    body,
    isBase64Encoded,
  };
}
