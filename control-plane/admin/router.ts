// A tiny router: method + path pattern ("/services/:services/routes") → handler. Literal segments
// win over parameters at the same position (/plugins/enabled before /plugins/:plugins); a path that
// matches a pattern without the requested method answers 405, an unknown path 404.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** The request body as the transport gave it; handlers decode it against their schema (see body.ts). */
export type ParsedBody =
  | { kind: 'none' }
  | { kind: 'json'; value: Record<string, unknown> }
  | { kind: 'form'; pairs: Array<[string, unknown]>; multipart: boolean }
  | { kind: 'raw'; buffer: Buffer; contentType: string | undefined };

export interface AdminRequest {
  method: string;
  /** Decoded path without trailing slash. */
  path: string;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
  /** Path parameters exactly as they appeared in the URL (for `next` links). */
  rawParams: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: IncomingMessage;
  body: ParsedBody;
  /** The route pattern that matched, e.g. "/services/:services". */
  pattern: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** A non-JSON body sent as is (give its Content-Type in headers), e.g. /metrics. */
  text?: string;
  headers?: Record<string, string>;
}

export type Handler = (req: AdminRequest) => Promise<Reply> | Reply;

export interface AdminRoute {
  method: string;
  pattern: string;
  handler: Handler;
  /** Skip content-type checks and hand the body over as bytes (POST /config accepts YAML). */
  rawBody?: boolean;
}

interface Compiled {
  segments: Array<{ literal: string } | { param: string }>;
  pattern: string;
  methods: Map<string, AdminRoute>;
}

export type Match =
  | { kind: 'found'; route: AdminRoute; params: Record<string, string>; rawParams: Record<string, string> }
  | { kind: 'method_not_allowed' }
  /** OPTIONS on a path without its own OPTIONS handler: the methods it answers (Kong's `Allow`). */
  | { kind: 'options'; allow: string }
  | { kind: 'not_found' };

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** "/a/b/" → ["a","b"]; the root is []. */
export function splitPath(path: string): string[] {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? [] : trimmed.slice(1).split('/');
}

/** Kong's api_helpers: the handled methods, HEAD with GET, OPTIONS always, sorted, ", "-joined. */
function allowedMethods(methods: Map<string, AdminRoute>): string {
  const set = new Set(methods.keys());
  if (set.has('GET')) set.add('HEAD');
  set.add('OPTIONS');
  return [...set].sort().join(', ');
}

export class Router {
  private readonly byLength = new Map<number, Compiled[]>();

  add(route: AdminRoute): void {
    const segments = splitPath(route.pattern).map((s) => (s.startsWith(':') ? { param: s.slice(1) } : { literal: s }));
    const list = this.byLength.get(segments.length) ?? [];
    let c = list.find((x) => x.pattern === route.pattern);
    if (!c) {
      c = { segments, pattern: route.pattern, methods: new Map() };
      list.push(c);
      // literals before parameters, position by position
      list.sort((a, b) => {
        for (let i = 0; i < a.segments.length; i++) {
          const la = 'literal' in a.segments[i] ? 0 : 1;
          const lb = 'literal' in b.segments[i] ? 0 : 1;
          if (la !== lb) return la - lb;
        }
        return 0;
      });
      this.byLength.set(segments.length, list);
    }
    c.methods.set(route.method.toUpperCase(), route);
  }

  /** Every registered pattern (for /endpoints). */
  patterns(): string[] {
    return [...this.byLength.values()].flat().map((c) => c.pattern);
  }

  match(method: string, path: string): Match {
    const raw = splitPath(path);
    const candidates = this.byLength.get(raw.length) ?? [];
    for (const c of candidates) {
      const params: Record<string, string> = {};
      const rawParams: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < raw.length; i++) {
        const seg = c.segments[i];
        if ('literal' in seg) {
          if (decodeSegment(raw[i]) !== seg.literal) {
            ok = false;
            break;
          }
        } else {
          if (raw[i] === '') {
            ok = false;
            break;
          }
          params[seg.param] = decodeSegment(raw[i]);
          rawParams[seg.param] = raw[i];
        }
      }
      if (!ok) continue;
      const m = method.toUpperCase();
      const route = c.methods.get(m) ?? (m === 'HEAD' ? c.methods.get('GET') : undefined);
      if (!route) {
        if (m === 'OPTIONS') return { kind: 'options', allow: allowedMethods(c.methods) };
        return { kind: 'method_not_allowed' };
      }
      return { kind: 'found', route, params, rawParams };
    }
    return { kind: 'not_found' };
  }
}
