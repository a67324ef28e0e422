// What the client gets in the API Gateway modes: the function's result mapped as API Gateway's
// Lambda proxy integration maps it (REST API payload 1.0 or HTTP API payload 2.0), and its own error
// answers when the function fails, the Invoke call is refused or times out. Each error answer
// carries its cause, which the handler logs (the client sees only API Gateway's generic body).
import type { PluginResponse } from '../types.js';
import type { InvokeResult } from './client.js';

export interface Mapped {
  response: PluginResponse;
  /** Why an error answer was given (logged, never sent). */
  cause?: string;
}

const JSON_TYPE = 'application/json';
/** Headers the proxy frames itself: a function's values are not passed on. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade']);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const present = (v: unknown) => v !== undefined && v !== null;

export type ErrorKind = 'functionError' | 'malformed' | 'rejected' | 'throttled' | 'timeout' | 'tooLarge';

/** What differs between REST APIs (payload 1.0) and HTTP APIs (payload 2.0). */
export interface Flavour {
  /** Status and exact body of each gateway-made error. */
  errors: Record<ErrorKind, { status: number; body: string }>;
  /** Headers API Gateway adds to every response. */
  ids(requestId: string): Record<string, string>;
  /** 2.0: JSON without statusCode is a 200 application/json body; 1.0: a malformed response. */
  infer: boolean;
  /** 2.0: the response's `cookies` become Set-Cookie headers. */
  cookies: boolean;
  /** REST adds Content-Type: application/json when the function gave none. */
  defaultContentType: boolean;
}

export const HTTP_API: Flavour = {
  errors: {
    functionError: { status: 500, body: '{"message":"Internal Server Error"}' },
    malformed: { status: 500, body: '{"message":"Internal Server Error"}' },
    rejected: { status: 500, body: '{"message":"Internal Server Error"}' },
    throttled: { status: 429, body: '{"message":"Too Many Requests"}' },
    timeout: { status: 503, body: '{"message":"Service Unavailable"}' },
    tooLarge: { status: 413, body: '{"message":"Request Entity Too Large"}' },
  },
  ids: (requestId) => ({ 'apigw-requestid': requestId }),
  infer: true,
  cookies: true,
  defaultContentType: false,
};

/** REST: Lambda throttling is not passed through (any refused Invoke is a 500). */
export const REST_API: Flavour = {
  errors: {
    functionError: { status: 502, body: '{"message": "Internal server error"}' },
    malformed: { status: 502, body: '{"message": "Internal server error"}' },
    rejected: { status: 500, body: '{"message": "Internal server error"}' },
    throttled: { status: 500, body: '{"message": "Internal server error"}' },
    timeout: { status: 504, body: '{"message": "Endpoint request timed out"}' },
    tooLarge: { status: 413, body: '{"message": "Request Entity Too Large"}' },
  },
  ids: (requestId) => ({ 'x-amzn-RequestId': requestId, 'x-amz-apigw-id': requestId }),
  infer: false,
  cookies: false,
  defaultContentType: true,
};

export function errorAnswer(f: Flavour, kind: ErrorKind, requestId: string, cause: string): Mapped {
  const e = f.errors[kind];
  return { response: { status: e.status, body: Buffer.from(e.body), headers: { 'Content-Type': JSON_TYPE, ...f.ids(requestId) } }, cause };
}

/** Which API Gateway error an Invoke failure (thrown by the SDK) becomes. */
export function invokeFailure(f: Flavour, err: unknown, requestId: string): Mapped {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const cause = `${name}: ${e?.message ?? String(err)}`;
  if (name === 'TimeoutError') return errorAnswer(f, 'timeout', requestId, cause);
  if (name === 'TooManyRequestsException' || e?.$metadata?.httpStatusCode === 429) return errorAnswer(f, 'throttled', requestId, cause);
  return errorAnswer(f, 'rejected', requestId, cause);
}

function headerText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** A function error's errorType/errorMessage for the log. */
function functionErrorCause(result: InvokeResult): string {
  const text = result.payload.toString('utf8');
  try {
    const v = JSON.parse(text);
    if (isObject(v)) return `function error (${result.functionError}): ${String(v.errorType ?? 'Error')}: ${String(v.errorMessage ?? '')}`;
  } catch {
    // not JSON: log it as it came
  }
  return `function error (${result.functionError}): ${text.slice(0, 1000)}`;
}

function base64Body(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) return undefined;
  return Buffer.from(compact, 'base64');
}

/** The structured 2.0 response {statusCode, headers, multiValueHeaders, cookies, body, isBase64Encoded}. */
function structured(f: Flavour, r: Record<string, unknown>, requestId: string): Mapped {
  const malformed = (why: string) => errorAnswer(f, 'malformed', requestId, `malformed Lambda proxy response: ${why}`);
  const status = typeof r.statusCode === 'number' ? r.statusCode : NaN;
  if (!Number.isInteger(status) || status < 100 || status > 599) return malformed('statusCode must be an integer between 100 and 599');
  if (present(r.headers) && !isObject(r.headers)) return malformed('headers must be an object');
  if (present(r.multiValueHeaders) && !isObject(r.multiValueHeaders)) return malformed('multiValueHeaders must be an object');
  if (f.cookies && present(r.cookies) && !(Array.isArray(r.cookies) && r.cookies.every((c) => typeof c === 'string'))) return malformed('cookies must be an array of strings');
  if (present(r.body) && typeof r.body !== 'string') return malformed('body must be a string');
  if (present(r.isBase64Encoded) && typeof r.isBase64Encoded !== 'boolean') return malformed('isBase64Encoded must be a boolean');

  // no prototype: a function's `__proto__` header is a header like any other
  const headers = Object.create(null) as Record<string, string | string[]>;
  const names = new Map<string, string>();
  const put = (name: string, value: string | string[]) => {
    const lower = name.toLowerCase();
    if (FRAMING.has(lower)) return;
    const prev = names.get(lower);
    if (prev !== undefined) delete headers[prev];
    names.set(lower, name);
    headers[name] = value;
  };
  for (const [k, v] of Object.entries((r.headers as Record<string, unknown>) ?? {})) {
    const text = headerText(v);
    if (text !== undefined) put(k, text);
  }
  for (const [k, v] of Object.entries((r.multiValueHeaders as Record<string, unknown>) ?? {})) {
    const values = (Array.isArray(v) ? v : [v]).map(headerText).filter((x): x is string => x !== undefined);
    if (values.length > 0) put(k, values);
  }
  const cookies = f.cookies ? ((r.cookies as string[] | undefined) ?? []) : [];
  if (cookies.length > 0) {
    const existing = names.get('set-cookie');
    const prev = existing === undefined ? [] : ([] as string[]).concat(headers[existing]);
    put('Set-Cookie', [...prev, ...cookies]);
  }

  const text = typeof r.body === 'string' ? r.body : '';
  let body: Buffer;
  if (r.isBase64Encoded === true) {
    const decoded = base64Body(text);
    if (decoded === undefined) return malformed('isBase64Encoded is true but body is not base64');
    body = decoded;
  } else body = Buffer.from(text, 'utf8');
  if (f.defaultContentType && !names.has('content-type')) headers['Content-Type'] = JSON_TYPE;
  Object.assign(headers, f.ids(requestId));
  return { response: { status, headers, body } };
}

/** The function's result as the client's response. */
export function proxyResponse(f: Flavour, result: InvokeResult, requestId: string): Mapped {
  if (result.functionError) return errorAnswer(f, 'functionError', requestId, functionErrorCause(result));
  // Event (202) and DryRun (204): nothing to map
  if (result.status !== 200) return { response: { status: result.status, headers: f.ids(requestId) } };
  const text = result.payload.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return errorAnswer(f, 'malformed', requestId, `malformed Lambda proxy response: not JSON (${(err as Error).message})`);
  }
  if (isObject(value) && 'statusCode' in value) return structured(f, value, requestId);
  if (!f.infer) return errorAnswer(f, 'malformed', requestId, 'malformed Lambda proxy response: no statusCode');
  // inferred format: valid JSON without a statusCode is a 200 application/json body
  const body = typeof value === 'string' ? value : text.trim();
  return { response: { status: 200, headers: { 'Content-Type': JSON_TYPE, ...f.ids(requestId) }, body: Buffer.from(body, 'utf8') } };
}
