import * as t from '../typedefs.js';
import type { EntitySchema, Field } from '../types.js';
import { quoteList } from '../validate.js';

const HTTPS_LIKE = ['grpcs', 'https', 'tls', 'tls_passthrough'];
const STREAM = ['tcp', 'tls', 'udp'];
const EXCLUSIVE_SUBSETS = [['http', 'https'], ['tcp', 'tls', 'udp'], ['tls_passthrough'], ['grpc', 'grpcs']];

/** Kong normalizes prefix paths: percent-decodes unreserved characters, upper-cases escapes, resolves dot segments. */
export function normalizePrefixPath(p: string): string {
  let s = p.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${hex.toUpperCase()}`;
  });
  const out: string[] = [];
  const segs = s.split('/');
  for (let i = 1; i < segs.length; i++) {
    const seg = segs[i];
    if (seg === '.') {
      if (i === segs.length - 1) out.push('');
      continue;
    }
    if (seg === '..') {
      out.pop();
      if (i === segs.length - 1) out.push('');
      continue;
    }
    out.push(seg);
  }
  s = '/' + out.join('/');
  return s;
}

function validateRoutePath(p: string): string | undefined {
  if (p.startsWith('~')) {
    const re = p.slice(1);
    if (!re.startsWith('/')) return 'should start with: / (fixed path) or ~/ (regex path)';
    try {
      new RegExp(re);
    } catch (e) {
      return `invalid regex: '${re}' (PCRE returned: ${(e as Error).message})`;
    }
    return undefined;
  }
  if (!p.startsWith('/')) return 'should start with: / (fixed path) or ~/ (regex path)';
  if (p.includes('//')) return 'must not have empty segments';
  const bad = p.match(/%(?![0-9A-Fa-f]{2})/);
  if (bad) return `invalid url-encoded value: '${p.slice(bad.index!, bad.index! + 3)}'`;
  const norm = normalizePrefixPath(p);
  if (norm !== p) return `non-normalized path, consider use '${norm}' instead`;
  return undefined;
}

export function validateWildcardHost(h: string): string | undefined {
  const { host, bad } = t.splitHostPort(h);
  if (bad) return `invalid value: ${h}`;
  const stars = host.split('*').length - 1;
  if (stars > 1) return 'invalid wildcard: must have at most one wildcard';
  if (stars === 1 && !host.startsWith('*.') && !host.endsWith('.*'))
    return 'invalid wildcard: must be placed at leftmost or rightmost label';
  const plain = host.replace(/^\*\./, 'x.').replace(/\.\*$/, '.x');
  if (!t.validHostname(plain) && !/^[0-9a-f:.]+$/i.test(plain)) return `invalid hostname: ${h}`;
  return undefined;
}

const wildcardHost: Field = { type: 'string', custom: validateWildcardHost };
const ipPort: Field = {
  type: 'record',
  fields: {
    ip: { type: 'string', custom: (v: string) => (t.validIpOrCidr(v) ? undefined : `invalid ip or cidr range: '${v}'`) },
    port: t.port,
  },
};

const has = (v: unknown) => Array.isArray(v) ? v.length > 0 : v !== null && v !== undefined && (typeof v !== 'object' || Object.keys(v as object).length > 0);

export const routes: EntitySchema = {
  name: 'routes',
  primary_key: ['id'],
  endpoint_key: 'name',
  fields: {
    id: t.id,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    name: t.utf8Name,
    protocols: {
      type: 'set',
      len_min: 1,
      required: true,
      default: ['http', 'https'],
      elements: { type: 'string', one_of: t.protocols },
      custom: (ps: string[]) => {
        const groups = new Set(ps.map((p) => EXCLUSIVE_SUBSETS.findIndex((g) => g.includes(p))));
        if (groups.size > 1)
          return `these sets are mutually exclusive: ${EXCLUSIVE_SUBSETS.map((g) => `(${quoteList(g)})`).join(', ')}`;
        return undefined;
      },
    },
    methods: { type: 'set', elements: { type: 'string', match: /^[A-Z]+$/ } },
    hosts: { type: 'array', elements: wildcardHost },
    paths: { type: 'array', elements: { type: 'string', custom: validateRoutePath } },
    headers: {
      type: 'map',
      keys: {
        type: 'string',
        custom: (k: string) => (k.toLowerCase() === 'host' ? "cannot contain 'host' header" : undefined),
      },
      values: { type: 'array', elements: { type: 'string' } },
    },
    https_redirect_status_code: { type: 'integer', one_of: [426, 301, 302, 307, 308], default: 426, required: true },
    regex_priority: { type: 'integer', default: 0 },
    strip_path: { type: 'boolean', required: true, default: true },
    path_handling: { type: 'string', one_of: ['v0', 'v1'], default: 'v0' },
    preserve_host: { type: 'boolean', required: true, default: false },
    request_buffering: { type: 'boolean', required: true, default: true },
    response_buffering: { type: 'boolean', required: true, default: true },
    snis: { type: 'set', elements: wildcardHost },
    sources: { type: 'set', elements: ipPort },
    destinations: { type: 'set', elements: ipPort },
    tags: t.tags,
    service: t.foreign('services', { on_delete: 'restrict' }),
  },
  entity_checks: [
    {
      custom: (r) => {
        const ps: string[] = r.protocols ?? [];
        if (has(r.snis) && !ps.some((p) => HTTPS_LIKE.includes(p)))
          return { field: 'snis', message: "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'" };
        return undefined;
      },
      fields: ['protocols', 'snis'],
    },
    {
      custom: (r) => {
        const ps: string[] = r.protocols ?? [];
        const http = ['methods', 'hosts', 'headers', 'paths'];
        if (ps.includes('https') || ps.includes('grpcs')) {
          const f = [...http, 'snis'];
          if (!f.some((n) => has(r[n]))) return `must set one of ${quoteList(f)} when 'protocols' is 'https'`;
        } else if (ps.includes('http') || ps.includes('grpc')) {
          if (!http.some((n) => has(r[n]))) return `must set one of ${quoteList(http)} when 'protocols' is 'http'`;
        } else if (ps.some((p) => STREAM.includes(p) || p === 'tls_passthrough')) {
          const f = ['sources', 'destinations', 'snis'];
          if (!f.some((n) => has(r[n]))) return `must set one of ${quoteList(f)} when 'protocols' is 'tcp', 'tls' or 'udp'`;
        }
        return undefined;
      },
      fields: ['protocols', 'methods', 'hosts', 'headers', 'paths', 'snis', 'sources', 'destinations'],
    },
    {
      custom: (r) => {
        const ps: string[] = r.protocols ?? [];
        if ((ps.includes('grpc') || ps.includes('grpcs')) && r.strip_path === true)
          return { field: 'strip_path', message: 'value must be false' };
        return undefined;
      },
      fields: ['protocols', 'strip_path'],
    },
    {
      custom: (r) => {
        const ps: string[] = r.protocols ?? [];
        if (ps.some((p) => t.httpProtocols.includes(p))) {
          if (has(r.sources)) return { field: 'sources', message: "'sources' can only be set when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'" };
          if (has(r.destinations))
            return { field: 'destinations', message: "'destinations' can only be set when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'" };
        }
        return undefined;
      },
      fields: ['protocols', 'sources', 'destinations'],
    },
  ],
};
