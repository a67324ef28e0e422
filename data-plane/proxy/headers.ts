// Header plumbing between client and upstream: hop-by-hop removal both ways, and the
// X-Forwarded-* / X-Real-IP / Via / X-Kong-Request-Id set Kong sends upstream.
import type { IncomingHttpHeaders } from 'node:http';
import { util as undiciUtil } from 'undici';
import { knownHeaderNames } from './header-names.js';

// undici's lookup of well-known names: an interned lower-case string without decoding the bytes
const headerName = undiciUtil.headerNameToString;

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus ones we must not forward as is. Names are lower-case. */
export function isHopByHop(name: string): boolean {
  switch (name.length) {
    case 2:
      return name === 'te';
    case 6:
      return name === 'expect'; // node answers 100-continue itself; undici refuses the header
    case 7:
      return name === 'trailer' || name === 'upgrade';
    case 10:
      return name === 'connection' || name === 'keep-alive';
    case 16:
      return name === 'proxy-connection';
    case 17:
      return name === 'transfer-encoding';
    case 18:
      return name === 'proxy-authenticate';
    case 19:
      return name === 'proxy-authorization';
    default:
      return false;
  }
}

/** Client headers minus hop-by-hop ones (and those the Connection header lists). */
export function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    if (isHopByHop(k)) continue;
    const v = headers[k];
    if (v !== undefined) out[k] = v;
  }
  const listed = connectionListed(headers.connection);
  if (listed !== null) for (const name of listed) delete out[name];
  return out;
}

/** The header names a Connection header lists (hop-by-hop for this connection), or null for none. */
function connectionListed(conn: string | string[] | undefined): string[] | null {
  if (typeof conn !== 'string') return null;
  const lc = conn.toLowerCase();
  return lc === 'keep-alive' || lc === 'close' ? null : lc.split(',').map((n) => n.trim());
}

/** Headers the proxy sets upstream (Kong's X-Forwarded-* set and friends), in the order they are set. */
export const PROXY_HEADER_NAMES = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-path',
  'x-forwarded-prefix',
  'x-real-ip',
  'via',
  'x-kong-request-id',
] as const;
knownHeaderNames(PROXY_HEADER_NAMES);

/** Index of a lower-case name in PROXY_HEADER_NAMES, or -1. */
function proxyHeaderIndex(name: string): number {
  switch (name.length) {
    case 3:
      return name === 'via' ? 7 : -1;
    case 9:
      return name === 'x-real-ip' ? 6 : -1;
    case 15:
      return name === 'x-forwarded-for' ? 0 : -1;
    case 16:
      return name === 'x-forwarded-host' ? 2 : name === 'x-forwarded-port' ? 3 : name === 'x-forwarded-path' ? 4 : -1;
    case 17:
      return name === 'x-forwarded-proto' ? 1 : name === 'x-kong-request-id' ? 8 : -1;
    case 18:
      return name === 'x-forwarded-prefix' ? 5 : -1;
    default:
      return -1;
  }
}

/**
 * The upstream header list as a flat [name, value, …] list, built in one pass: `headers` with the
 * proxy's own `values` (by PROXY_HEADER_NAMES index; undefined = removed) laid over them. A header
 * already there keeps its place, the others follow. `fromClient`: `headers` are the client's, so
 * hop-by-hop ones (and those its Connection header lists) are dropped, as forwardableHeaders does;
 * otherwise they are what plugins made of that. Host is left out of `out` and returned (the attempt
 * decides it: see dispatch).
 */
export function upstreamHeaderList(
  headers: IncomingHttpHeaders | Record<string, string | string[]>,
  values: (string | undefined)[],
  out: (string | string[])[],
  fromClient: boolean,
): string | undefined {
  const listed = fromClient ? connectionListed(headers.connection) : null;
  let placed = 0;
  let host: string | undefined;
  for (const k in headers) {
    if (fromClient && isHopByHop(k)) continue;
    const v = headers[k];
    if (v === undefined || (listed !== null && listed.includes(k))) continue;
    const pi = proxyHeaderIndex(k);
    if (pi >= 0) {
      placed |= 1 << pi;
      const pv = values[pi];
      if (pv !== undefined) out.push(k, pv);
      continue;
    }
    if (k === 'host') host = typeof v === 'string' ? v : v[0];
    else out.push(k, v);
  }
  for (let i = 0; i < PROXY_HEADER_NAMES.length; i++) {
    const pv = values[i];
    if ((placed & (1 << i)) === 0 && pv !== undefined) out.push(PROXY_HEADER_NAMES[i], pv);
  }
  return host;
}

/** Host without port, lower-case (nginx's $host). */
export function hostWithoutPort(host: string): string {
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const end = host.indexOf(']');
    return (end > 0 ? host.slice(0, end + 1) : host).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon >= 0 ? host.slice(0, colon) : host).toLowerCase();
}

export function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A Content-Length value as a number, -1 unless it is 1–15 decimal digits. */
export function decimalLength(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Upstream response headers (undici raw Buffer pairs) to a flat [name, value, …] list for
 * writeHead, without hop-by-hop ones. Repeated headers (Set-Cookie) stay separate.
 * Returns the Content-Length when there is exactly one valid one, else -1.
 */
export function rawResponseHeaders(raw: Buffer[], out: string[]): number {
  let length = -1;
  let lengths = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = headerName(raw[i]);
    if (isHopByHop(lower)) continue;
    const value = raw[i + 1].toString('latin1');
    if (lower.length === 14 && lower === 'content-length') {
      lengths++;
      length = decimalLength(value);
    }
    out.push(lower, value);
  }
  return lengths === 1 ? length : -1;
}

/** The same as an object (what response-phase plugins edit). */
export function responseHeaderObject(raw: Buffer[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = headerName(raw[i]);
    if (isHopByHop(name)) continue;
    const value = raw[i + 1].toString('latin1');
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/** "No header object was built" (the upstream headers go as a flat list): compared by identity. */
export const NO_HEADERS: Record<string, string | string[]> = Object.freeze({}) as Record<string, string | string[]>;
