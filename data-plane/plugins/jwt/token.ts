// Finding and decoding the JWT of a request the way Kong's jwt plugin does (handler.lua
// retrieve_tokens + jwt_parser.lua decode_token), including its lenient base64 and its error words.
import type { RequestContext } from '../types.js';
import { queryValues } from '../request-transformer/query.js';

/** Public-key algorithms: the only ones a JWKS (or a consumer-less issuer) may verify. */
export const ASYMMETRIC_ALGS: ReadonlySet<string> = new Set(['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA']);

/** Algorithms Kong's jwt parser can verify; any other `alg` is "invalid alg". */
export const SUPPORTED_ALGS: ReadonlySet<string> = new Set([
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'ES256', 'ES384', 'ES512',
  'PS256', 'PS384', 'PS512',
  'EdDSA',
]);

export interface TokenSources {
  uri_param_names: string[] | null;
  cookie_names: string[] | null;
  header_names: string[] | null;
}

/**
 * Distinct tokens of the request, from query parameters, cookies and `Bearer` headers, in that order.
 * A query parameter given without a value counts as the token `true` (Kong: "Unrecognizable token").
 */
export function retrieveTokens(ctx: RequestContext, conf: TokenSources): (string | true)[] {
  const found = new Set<string | true>();
  if (conf.uri_param_names?.length && ctx.query !== '') {
    for (const name of conf.uri_param_names) for (const t of queryValues(ctx.query, name)) if (t !== '') found.add(t);
  }
  if (conf.cookie_names?.length) {
    const header = ctx.req.headers.cookie;
    if (header) {
      for (const name of conf.cookie_names) {
        const v = cookieValue(header, name);
        if (v) found.add(v);
      }
    }
  }
  if (conf.header_names?.length) {
    for (const name of conf.header_names) {
      const value = firstHeader(ctx.req.rawHeaders, name);
      if (value === undefined) continue;
      const m = BEARER.exec(value);
      if (m && m[1] !== '') found.add(m[1]);
    }
  }
  return [...found];
}

// Unanchored and only the first letter case-insensitive, as Kong's `\s*[Bb]earer\s+(.+)`.
const BEARER = /\s*[Bb]earer\s+(.+)/;

/** First occurrence of a request header (Kong takes the first of duplicated headers); `_` matches `-`. */
function firstHeader(raw: string[], name: string): string | undefined {
  const want = name.toLowerCase().replace(/_/g, '-');
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === want.length && raw[i].toLowerCase() === want) return raw[i + 1];
  }
  return undefined;
}

/** nginx's $cookie_<name>: the first cookie of that name (names compared case-insensitively), raw value. */
function cookieValue(header: string, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim().toLowerCase() === want) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Kong's jwt base64: pad to a multiple of 4, accept the url-safe alphabet, then decode strictly
 * (undefined when the input is not valid base64).
 */
export function lenientBase64(input: string): Buffer | undefined {
  let s = input;
  const rem = s.length % 4;
  if (rem > 0) s += '='.repeat(4 - rem);
  s = s.replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

export interface DecodedJwt {
  token: string;
  header64: string;
  claims64: string;
  signature64: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

export type DecodeResult = { jwt: DecodedJwt } | { error: string };

function parseJson(part: string | undefined): { value: unknown } | undefined {
  if (part === undefined) return undefined;
  const bytes = lenientBase64(part);
  if (bytes === undefined) return undefined;
  try {
    return { value: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return undefined;
  }
}

/** Split into header, claims and "the rest" (so `a.b.c.d` has signature `c.d`), as Kong's tokenizer. */
function tokenize(token: string): (string | undefined)[] {
  const a = token.indexOf('.');
  if (a < 0) return [token, undefined, undefined];
  const b = token.indexOf('.', a + 1);
  if (b < 0) return [token.slice(0, a), token.slice(a + 1), undefined];
  return [token.slice(0, a), token.slice(a + 1, b), token.slice(b + 1)];
}

/** Errors are the words after "Bad token; ". */
export function decodeToken(token: string): DecodeResult {
  const [header64, claims64, signature64] = tokenize(token);
  const header = parseJson(header64);
  const claims = parseJson(claims64);
  if (header === undefined || claims === undefined || signature64 === undefined) return { error: 'invalid JSON' };
  const h = header.value;
  if (h === null || typeof h !== 'object') return { error: 'invalid JSON' };
  const hdr = h as Record<string, unknown>;
  if (hdr.typ !== undefined && (typeof hdr.typ !== 'string' || hdr.typ.toUpperCase() !== 'JWT')) return { error: 'invalid typ' };
  if (typeof hdr.alg !== 'string' || !SUPPORTED_ALGS.has(hdr.alg)) return { error: 'invalid alg' };
  const c = claims.value;
  if (c === null || typeof c !== 'object') return { error: 'invalid claims' };
  if (lenientBase64(signature64) === undefined) return { error: 'invalid signature' };
  return {
    jwt: {
      token,
      header64: header64 as string,
      claims64: claims64 as string,
      signature64,
      header: hdr,
      claims: c as Record<string, unknown>,
    },
  };
}

/** Kong's verify_registered_claims: an error map ({"exp":"token expired"}) or null. */
export function verifyRegisteredClaims(claims: Record<string, unknown>, toVerify: Iterable<string> | null, nowSec: number, leeway = 0): Record<string, string> | null {
  let errors: Record<string, string> | null = null;
  for (const name of toVerify ?? []) {
    const v = claims[name];
    let err: string | undefined;
    if (typeof v !== 'number') err = 'must be a number';
    else if (name === 'exp' && v + leeway <= nowSec) err = 'token expired';
    else if (name === 'nbf' && v - leeway > nowSec) err = 'token not valid yet';
    if (err !== undefined) (errors ??= {})[name] = err;
  }
  return errors;
}

/** Kong's check_maximum_expiration (claims_to_verify contains exp whenever this is > 0). */
export function checkMaximumExpiration(claims: Record<string, unknown>, maximum: number, nowSec: number): Record<string, string> | null {
  if (!(maximum > 0)) return null;
  const exp = claims.exp;
  if (typeof exp !== 'number' || exp - nowSec > maximum) return { exp: 'exceeds maximum allowed expiration' };
  return null;
}
