// Hash functions for the consistent-hashing ring and the per-request "value to hash" (Kong's
// hash_on / hash_fallback), written to avoid allocations on the request path.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../plugins/types.js';
import type { Row } from '../../shared/snapshot.js';

/** murmur3 finalizer: spreads the bits of a 32-bit integer. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, finalized with fmix32. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let i = 0;
  const n = header.length;
  while (i < n) {
    while (i < n && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 59)) i++; // ' ' ';'
    const eq = header.indexOf('=', i);
    let end = header.indexOf(';', i);
    if (end < 0) end = n;
    if (eq > 0 && eq < end && eq - i === name.length && header.startsWith(name, i)) {
      let v = header.slice(eq + 1, end).trim();
      if (v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34) v = v.slice(1, -1);
      return v;
    }
    i = end + 1;
  }
  return undefined;
}

function decode(s: string): string {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Value(s) of query argument `name` in a raw query string; several values are joined with ','. */
export function queryArg(query: string, name: string): string | undefined {
  if (!query) return undefined;
  let out: string | undefined;
  let i = 0;
  const n = query.length;
  while (i <= n) {
    let end = query.indexOf('&', i);
    if (end < 0) end = n;
    let eq = query.indexOf('=', i);
    if (eq < 0 || eq > end) eq = end;
    const k = query.slice(i, eq);
    if (k === name || (k.indexOf('%') >= 0 && decode(k) === name)) {
      const v = eq < end ? decode(query.slice(eq + 1, end)) : '';
      out = out === undefined ? v : `${out},${v}`;
    }
    i = end + 1;
  }
  return out;
}

/** Turns upstream hash settings into `(ctx) → key | undefined`; a generated cookie is left in `cookie`. */
export class HashKey {
  /** Set-Cookie value produced by the last get() (cookie hashing without a client cookie), else undefined. */
  cookie: string | undefined;
  private readonly steps: Array<(ctx: RequestContext) => string | undefined>;

  constructor(upstream: Row) {
    this.steps = [];
    const on = this.step(upstream.hash_on, upstream, 'on');
    if (on) this.steps.push(on);
    const fb = this.step(upstream.hash_fallback, upstream, 'fallback');
    if (fb) this.steps.push(fb);
  }

  get enabled(): boolean {
    return this.steps.length > 0;
  }

  get(ctx: RequestContext): string | undefined {
    this.cookie = undefined;
    for (let i = 0; i < this.steps.length; i++) {
      const v = this.steps[i]!(ctx);
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  }

  private step(kind: string | null | undefined, u: Row, which: 'on' | 'fallback'): ((ctx: RequestContext) => string | undefined) | null {
    switch (kind) {
      case 'consumer':
        return (ctx) => ctx.consumer?.id ?? ctx.credential?.id ?? undefined;
      case 'ip':
        return (ctx) => ctx.clientIp;
      case 'path':
        return (ctx) => ctx.path;
      case 'header': {
        const name = String(u[`hash_${which}_header`] ?? '').toLowerCase();
        return (ctx) => {
          const v = ctx.req.headers[name];
          return Array.isArray(v) ? v.join('') : v;
        };
      }
      case 'query_arg': {
        const name = String(u[`hash_${which}_query_arg`] ?? '');
        return (ctx) => queryArg(ctx.query, name);
      }
      case 'uri_capture': {
        const name = String(u[`hash_${which}_uri_capture`] ?? '');
        return (ctx) => ctx.uriCaptures?.[name];
      }
      case 'cookie': {
        // Kong: a client without the cookie gets a fresh uuid, hashed now and set on the response.
        const name = String(u.hash_on_cookie ?? '');
        const path = String(u.hash_on_cookie_path ?? '/');
        return (ctx) => {
          const v = cookieValue(ctx.req.headers.cookie, name);
          if (v) return v;
          const id = randomUUID();
          this.cookie = `${name}=${id}; Path=${path}`;
          return id;
        };
      }
      default:
        return null;
    }
  }
}
