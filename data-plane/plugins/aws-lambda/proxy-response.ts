// is_proxy_integration: the function answers {statusCode, headers, multiValueHeaders, body,
// isBase64Encoded} (API Gateway's Lambda proxy output) and that becomes the HTTP response.
// Checks and messages as Kong's request-util.lua validate_custom_response/extract_proxy_response.

export interface ProxyResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export type Extracted = { response: ProxyResponse } | { error: string };

/** cjson-style wording for the common decode failures, Node's otherwise. */
function decodeError(text: string, err: Error): string {
  if (text.trim() === '') return `Expected value but found T_END at character ${text.length + 1}`;
  return err.message;
}

function statusOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 100 && n <= 599 ? n : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const present = (v: unknown) => v !== undefined && v !== null;

function headerValue(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Throws when isBase64Encoded is true and the body is not base64 (Kong fails with a 500 there). */
export function extractProxyResponse(payload: Buffer): Extracted {
  const text = payload.toString('utf8');
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (err) {
    return { error: decodeError(text, err as Error) };
  }
  const r: Record<string, unknown> = isObject(content) ? content : {};
  const status = statusOf(r.statusCode);
  if (status === undefined) return { error: 'statusCode validation failed' };
  if (present(r.headers) && typeof r.headers !== 'object') return { error: 'headers must be a table' };
  if (present(r.body) && typeof r.body !== 'string') return { error: 'body must be a string' };
  if (present(r.isBase64Encoded) && typeof r.isBase64Encoded !== 'boolean') return { error: 'isBase64Encoded must be a boolean' };

  const headers = Object.create(null) as Record<string, string | string[]>; // a `__proto__` header is a header
  if (isObject(r.headers)) for (const [k, v] of Object.entries(r.headers)) if (present(v)) headers[k] = headerValue(v);
  if (isObject(r.multiValueHeaders)) {
    for (const [k, v] of Object.entries(r.multiValueHeaders)) {
      if (Array.isArray(v)) headers[k] = v.filter(present).map(headerValue);
      else if (present(v)) headers[k] = headerValue(v);
    }
  }
  const text64 = typeof r.body === 'string' ? r.body : '';
  let body: Buffer;
  if (r.isBase64Encoded === true) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text64) || text64.length % 4 === 1) throw new Error('Lambda proxy response: isBase64Encoded is true but body is not base64');
    body = Buffer.from(text64, 'base64');
  } else body = Buffer.from(text64, 'utf8');
  return { response: { status, headers, body } };
}
