// Values of request-transformer entries may hold `$(...)` templates, as Kong renders them with
// penlight: lookups in headers, query_params, uri_captures and shared, optionally joined with `or`
// (a missing value falls through; nothing found renders as ''). The schema only admits these forms.
import type { RequestContext } from '../types.js';
import { parseQuery, type Query } from './query.js';

export interface TemplateEnv {
  headers: Record<string, string | string[] | undefined>;
  query: Query;
  uriCaptures: Record<string, string>;
  shared: Record<string, unknown>;
}

/** A request's template environment: the query is parsed, and `shared` made, only when a template reads them. */
export class RequestEnv implements TemplateEnv {
  private parsedQuery: Query | null = null;
  constructor(private readonly ctx: RequestContext) {}
  get headers(): Record<string, string | string[] | undefined> {
    return this.ctx.req.headers;
  }
  get query(): Query {
    return (this.parsedQuery ??= parseQuery(this.ctx.query));
  }
  get uriCaptures(): Record<string, string> {
    return this.ctx.uriCaptures;
  }
  get shared(): Record<string, unknown> {
    return this.ctx.shared;
  }
}

type Part = string | Term[][]; // literal text, or alternatives (`or`) each a single term
type Term = { source: 'headers' | 'query_params' | 'uri_captures' | 'shared'; key: string } | { literal: string };

const TERM_RE = /\s*(?:(headers|query_params|uri_captures|shared)(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:"([^"]*)"|'([^']*)'|(\d+))\s*\])|"([^"]*)"|'([^']*)')\s*/y;

function parseExpr(expr: string): Term[] {
  const terms: Term[] = [];
  const alternatives = expr.split(/\s+or\s+/);
  for (const alt of alternatives) {
    TERM_RE.lastIndex = 0;
    const m = TERM_RE.exec(alt);
    if (!m || TERM_RE.lastIndex !== alt.length) return [{ literal: '' }];
    if (m[1]) terms.push({ source: m[1] as any, key: m[2] ?? m[3] ?? m[4] ?? m[5] });
    else terms.push({ literal: m[6] ?? m[7] });
  }
  return terms;
}

export interface Template {
  /** No `$(` in the value: render() returns it unchanged. */
  constant: boolean;
  parts: Part[];
}

export function compileTemplate(value: string): Template {
  if (!value.includes('$(')) return { constant: true, parts: [value] };
  const parts: Part[] = [];
  let i = 0;
  while (i < value.length) {
    const start = value.indexOf('$(', i);
    if (start < 0) {
      parts.push(value.slice(i));
      break;
    }
    if (start > i) parts.push(value.slice(i, start));
    let depth = 0;
    let j = start + 1;
    for (; j < value.length; j++) {
      if (value[j] === '(') depth++;
      else if (value[j] === ')' && --depth === 0) break;
    }
    parts.push([parseExpr(value.slice(start + 2, j))]);
    i = j + 1;
  }
  return { constant: false, parts };
}

function lookup(term: Term, env: TemplateEnv): string | undefined {
  if ('literal' in term) return term.literal;
  let v: unknown;
  switch (term.source) {
    case 'headers':
      // ngx's header table: case-insensitive, '_' matches '-'.
      v = env.headers[term.key.toLowerCase().replace(/_/g, '-')];
      break;
    case 'query_params':
      v = env.query.get(term.key);
      break;
    case 'uri_captures':
      v = env.uriCaptures[term.key];
      break;
    case 'shared':
      v = env.shared[term.key];
      break;
  }
  if (v === undefined || v === null || v === false) return undefined;
  if (Array.isArray(v)) return v.map(String).join(', ');
  return String(v);
}

export function render(t: Template, env: TemplateEnv): string {
  if (t.constant) return t.parts[0] as string;
  let out = '';
  for (const p of t.parts) {
    if (typeof p === 'string') out += p;
    else {
      let found: string | undefined;
      for (const term of p[0]) if ((found = lookup(term, env)) !== undefined) break;
      out += found ?? '';
    }
  }
  return out;
}
