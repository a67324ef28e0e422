// Kong's cache key (kong/plugins/proxy-cache/cache_key.lua): sha256 hex of
//   <consumer id>:<route id> | <method> | <path> | <query args> | <vary headers>
// where the prefix is the route id alone without a consumer ("default" without a route), the query
// part lists every argument sorted by name (or only vary_query_params, in their order) and the
// header part only vary_headers. Repeated values are sorted and joined with ','.
import { hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Row } from '../../../shared/snapshot.js';
import { parseQuery, type QueryValue } from '../request-transformer/query.js';

export interface KeyInput {
  consumer: Row | null;
  route: Row | null;
  method: string;
  path: string;
  query: string;
  req: { headers: IncomingHttpHeaders };
}

export interface KeyRules {
  ignoreUriCase: boolean;
  /** null: every query argument counts. */
  varyQuery: string[] | null;
  /** Lower-case header names; empty: headers do not count. */
  varyHeaders: string[];
  varyHeaderNames: string[];
}

function part(field: string, v: QueryValue | string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v === true) return field;
  if (Array.isArray(v)) return field + '=' + v.map((x) => (x === true ? 'true' : x)).sort().join(',');
  return field + '=' + v;
}

export function prefixOf(consumer: Row | null, route: Row | null): string {
  if (consumer && route) return `${consumer.id}:${route.id}`;
  if (route) return String(route.id);
  return 'default';
}

function paramsKey(query: string, rules: KeyRules): string {
  if (query === '') return '';
  const args = parseQuery(query);
  const fields = rules.varyQuery ?? [...args.keys()].sort();
  const out: string[] = [];
  for (const f of fields) {
    const p = part(f, args.get(f));
    if (p !== undefined) out.push(p);
  }
  return out.join(':');
}

function headersKey(headers: IncomingHttpHeaders, rules: KeyRules): string {
  const names = rules.varyHeaders;
  if (names.length === 0) return '';
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const p = part(rules.varyHeaderNames[i], headers[names[i]]);
    if (p !== undefined) out.push(p);
  }
  return out.join(':');
}

export function buildCacheKey(input: KeyInput, rules: KeyRules): string {
  const path = rules.ignoreUriCase ? input.path.toLowerCase() : input.path;
  const raw = `${prefixOf(input.consumer, input.route)}|${input.method}|${path}|${paramsKey(input.query, rules)}|${headersKey(input.req.headers, rules)}`;
  return hash('sha256', raw, 'hex'); // one-shot: cheaper than createHash per request
}
