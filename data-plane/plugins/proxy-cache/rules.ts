// Which requests and responses may be cached (Kong's cacheable_request / cacheable_response), with
// RFC 7234 Cache-Control directives honoured when config.cache_control is on.
import type { IncomingHttpHeaders } from 'node:http';

export type Directives = Record<string, string | number | true>;

const EMPTY: Directives = Object.freeze({}) as Directives;

/** "max-age=60, public" → {"max-age": 60, public: true} (numbers as numbers, names lower-case). */
export function parseDirectives(h: string | string[] | undefined): Directives {
  if (h === undefined) return EMPTY;
  const s = Array.isArray(h) ? h.join(', ') : h;
  const out: Directives = {};
  for (const item of s.split(',')) {
    const m = /^\s*([^=]+?)\s*(?:=\s*(.+?))?\s*$/.exec(item);
    if (!m) continue;
    const name = m[1].toLowerCase();
    const raw = m[2];
    if (raw === undefined) out[name] = true;
    else {
      const v = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw;
      const n = Number(v);
      out[name] = v !== '' && Number.isFinite(n) ? n : v;
    }
  }
  return out;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** Seconds the response may be served (s-maxage, max-age, then Expires), at least 0. */
export function resourceTtl(cc: Directives, headers: Record<string, string | string[]>, now: number): number {
  let maxAge = num(cc['s-maxage']) ?? num(cc['max-age']);
  if (maxAge === undefined) {
    let expires = headers['expires'];
    if (Array.isArray(expires)) expires = expires[expires.length - 1];
    if (typeof expires === 'string') {
      const at = Date.parse(expires);
      if (Number.isFinite(at)) maxAge = Math.floor((at - now) / 1000);
    }
  }
  return maxAge !== undefined ? Math.max(maxAge, 0) : 0;
}

export interface MediaType {
  type: string;
  subtype: string;
  params: Record<string, string>;
}

/** "application/json; charset=utf-8" → {application, json, {charset: "utf-8"}} (kong.tools.mime_type). */
export function parseMediaType(s: string): MediaType | undefined {
  const parts = s.split(';');
  const m = /^\s*([^/\s]+)\s*\/\s*([^/\s]+)\s*$/.exec(parts[0]);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (let i = 1; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq < 0) continue;
    const k = parts[i].slice(0, eq).trim().toLowerCase();
    let v = parts[i].slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    if (k) params[k] = v;
  }
  return { type: m[1].toLowerCase(), subtype: m[2].toLowerCase(), params };
}

/** Kong's match: type and subtype equal (or '*'), and exactly the same parameters. */
export function contentTypeMatches(actual: MediaType, expected: MediaType[]): boolean {
  const n = Object.keys(actual.params).length;
  for (const e of expected) {
    if (e.type !== '*' && e.type !== actual.type) continue;
    if (e.subtype !== '*' && e.subtype !== actual.subtype) continue;
    const keys = Object.keys(e.params);
    if (keys.length !== n) continue;
    if (keys.every((k) => actual.params[k] === e.params[k])) return true;
  }
  return false;
}

export interface Rules {
  methods: ReadonlySet<string>;
  codes: ReadonlySet<number>;
  contentTypes: MediaType[];
  cacheControl: boolean;
  cacheSetCookie: boolean;
  cacheAuthenticated: boolean;
}

/** Whether the request may be answered from (and stored in) the cache. */
export function cacheableRequest(rules: Rules, method: string, headers: IncomingHttpHeaders, cc: Directives, authenticated: boolean): boolean {
  if (!rules.methods.has(method)) return false;
  if (rules.cacheControl && (cc['no-store'] || cc['no-cache'] || headers.authorization !== undefined)) return false;
  if (authenticated && !rules.cacheAuthenticated) return false;
  return true;
}

/** Whether the upstream response may be stored. */
export function cacheableResponse(rules: Rules, status: number, headers: Record<string, string | string[]>, cc: Directives, now: number): boolean {
  if (!rules.codes.has(status)) return false;
  const ct = headers['content-type'];
  if (typeof ct !== 'string' || ct === '') return false;
  const mt = parseMediaType(ct);
  if (mt === undefined || !contentTypeMatches(mt, rules.contentTypes)) return false;
  if (headers['set-cookie'] !== undefined && !rules.cacheSetCookie) return false;
  const vary = headers['vary'];
  if (vary !== undefined && (Array.isArray(vary) ? vary.join(',') : vary).split(',').some((v) => v.trim() === '*')) return false;
  if (rules.cacheControl) {
    if (cc['private'] || cc['no-store'] || cc['no-cache']) return false;
    if (resourceTtl(cc, headers, now) <= 0) return false;
  }
  return true;
}

export const NO_DIRECTIVES = EMPTY;
