// What the client gets in the API Gateway modes: the function's result mapped as API Gateway's
// Lambda proxy integration maps it (HTTP API, payload format 2.0), and API Gateway's own error
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

/** HTTP API's error answers. */
export const HTTP_API_ERRORS = {
  internal: { status: 500, message: 'Internal Server Error' },
  throttled: { status: 429, message: 'Too Many Requests' },
  timeout: { status: 503, message: 'Service Unavailable' },
  tooLarge: { status: 413, message: 'Request Entity Too Large' },
} as const;

export type ErrorKind = keyof typeof HTTP_API_ERRORS;

export function errorAnswer(kind: ErrorKind, requestId: string, cause: string): Mapped {
  const e = HTTP_API_ERRORS[kind];
  return { response: { status: e.status, body: { message: e.message }, headers: { 'Content-Type': JSON_TYPE, 'apigw-requestid': requestId } }, cause };
}

/** Which API Gateway error an Invoke failure (thrown by the SDK) becomes. */
export function invokeFailure(err: unknown, requestId: string): Mapped {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const cause = `${name}: ${e?.message ?? String(err)}`;
  if (name === 'TimeoutError') return errorAnswer('timeout', requestId, cause);
  if (name === 'TooManyRequestsException' || e?.$metadata?.httpStatusCode === 429) return errorAnswer('throttled', requestId, cause);
  return errorAnswer('internal', requestId, cause);
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
function structured(r: Record<string, unknown>, requestId: string): Mapped {
  const malformed = (why: string) => errorAnswer('internal', requestId, `malformed Lambda proxy response: ${why}`);
  const status = typeof r.statusCode === 'number' ? r.statusCode : NaN;
  if (!Number.isInteger(status) || status < 100 || status > 599) return malformed('statusCode must be an integer between 100 and 599');
  if (present(r.headers) && !isObject(r.headers)) return malformed('headers must be an object');
  if (present(r.multiValueHeaders) && !isObject(r.multiValueHeaders)) return malformed('multiValueHeaders must be an object');
  if (present(r.cookies) && !(Array.isArray(r.cookies) && r.cookies.every((c) => typeof c === 'string'))) return malformed('cookies must be an array of strings');
  if (present(r.body) && typeof r.body !== 'string') return malformed('body must be a string');
  if (present(r.isBase64Encoded) && typeof r.isBase64Encoded !== 'boolean') return malformed('isBase64Encoded must be a boolean');

  const headers: Record<string, string | string[]> = {};
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
  const cookies = (r.cookies as string[] | undefined) ?? [];
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
  headers['apigw-requestid'] = requestId;
  return { response: { status, headers, body } };
}

/** The function's result as the client's response (HTTP API, payload format 2.0). */
export function httpApiResponse(result: InvokeResult, requestId: string): Mapped {
  if (result.functionError) return errorAnswer('internal', requestId, functionErrorCause(result));
  // Event (202) and DryRun (204): nothing to map
  if (result.status !== 200) return { response: { status: result.status, headers: { 'apigw-requestid': requestId } } };
  const text = result.payload.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return errorAnswer('internal', requestId, `malformed Lambda proxy response: not JSON (${(err as Error).message})`);
  }
  if (isObject(value) && 'statusCode' in value) return structured(value, requestId);
  // inferred format: valid JSON without a statusCode is a 200 application/json body
  const body = typeof value === 'string' ? value : text.trim();
  return { response: { status: 200, headers: { 'Content-Type': JSON_TYPE, 'apigw-requestid': requestId }, body: Buffer.from(body, 'utf8') } };
}
