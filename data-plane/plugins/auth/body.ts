// A named field of the buffered request body as Kong's kong.request.get_body sees it (form,
// JSON object or multipart), and the same body without that field (hide_credentials).
import type { RequestContext } from '../types.js';
import { parseQuery } from '../request-transformer/query.js';
import { boundaryOf, parseMultipart, partValue, serializeMultipart } from '../request-transformer/multipart.js';

const MANY = { many: true } as const;
/** A string value, MANY when the field is given several times (or is a JSON array/object), else undefined. */
export type FieldValue = string | typeof MANY | undefined;

type Kind = 'form' | 'json' | 'multipart' | null;

function kindOf(ctx: RequestContext): Kind {
  const ct = ctx.req.headers['content-type'];
  if (typeof ct !== 'string') return null;
  const t = ct.toLowerCase();
  if (t.startsWith('application/x-www-form-urlencoded')) return 'form';
  if (t.startsWith('application/json') || /^application\/[^;]*\+json/.test(t)) return 'json';
  if (t.startsWith('multipart/form-data')) return 'multipart';
  return null;
}

function jsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The value of `name` in the request body (undefined when absent, unparsable or no body). */
export function bodyField(ctx: RequestContext, name: string): FieldValue {
  const body = ctx.upstreamBody;
  if (body === undefined || body.length === 0) return undefined;
  switch (kindOf(ctx)) {
    case 'form': {
      const v = parseQuery(body.toString('utf8')).get(name);
      if (Array.isArray(v)) return MANY;
      return typeof v === 'string' ? v : undefined;
    }
    case 'json': {
      const v = jsonObject(body)?.[name];
      if (v !== null && typeof v === 'object') return MANY;
      return typeof v === 'string' ? v : undefined;
    }
    case 'multipart': {
      const boundary = boundaryOf(ctx.req.headers['content-type'] as string);
      if (!boundary) return undefined;
      const parts = parseMultipart(body, boundary).filter((p) => p.name === name);
      if (parts.length > 1) return MANY;
      return parts.length === 1 ? partValue(parts[0]) : undefined;
    }
    default:
      return undefined;
  }
}

export const isMany = (v: unknown): v is typeof MANY => v === MANY;

/** Drop `name` from the body sent upstream (others kept as they were). */
export function removeBodyField(ctx: RequestContext, name: string): void {
  const body = ctx.upstreamBody;
  if (body === undefined || body.length === 0) return;
  switch (kindOf(ctx)) {
    case 'form': {
      const kept = body
        .toString('utf8')
        .split('&')
        .filter((part) => {
          const eq = part.indexOf('=');
          return decodeKey(eq < 0 ? part : part.slice(0, eq)) !== name;
        });
      ctx.upstreamBody = Buffer.from(kept.join('&'));
      return;
    }
    case 'json': {
      const obj = jsonObject(body);
      if (obj === undefined || !(name in obj)) return;
      delete obj[name];
      ctx.upstreamBody = Buffer.from(JSON.stringify(obj));
      return;
    }
    case 'multipart': {
      const boundary = boundaryOf(ctx.req.headers['content-type'] as string);
      if (!boundary) return;
      ctx.upstreamBody = serializeMultipart(parseMultipart(body, boundary).filter((p) => p.name !== name), boundary);
      return;
    }
  }
}

function decodeKey(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** `path?query` without the query arguments named `name` (the others kept byte for byte, in order). */
export function withoutQueryArg(uri: string, name: string): string {
  const q = uri.indexOf('?');
  if (q < 0) return uri;
  const kept = uri
    .slice(q + 1)
    .split('&')
    .filter((part) => {
      if (part === '') return false;
      const eq = part.indexOf('=');
      return decodeKey(eq < 0 ? part : part.slice(0, eq)) !== name;
    });
  return kept.length ? `${uri.slice(0, q)}?${kept.join('&')}` : uri.slice(0, q);
}
