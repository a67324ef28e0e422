import * as t from '../typedefs.js';
import type { EntitySchema, Field, Subschema } from '../types.js';
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

const ipPortSet: Field = { type: 'set', elements: ipPort };
const methodsField: Field = { type: 'set', elements: { type: 'string', match: /^[A-Z]+$/ } };
const hostsField: Field = { type: 'array', elements: wildcardHost };
const pathsField: Field = { type: 'array', elements: { type: 'string', custom: validateRoutePath } };
const headersField: Field = {
  type: 'map',
  keys: {
    type: 'string',
    custom: (k: string) => (k.toLowerCase() === 'host' ? "cannot contain 'host' header, which must be specified in the 'hosts' attribute" : undefined),
  },
  values: { type: 'array', elements: { type: 'string' } },
};
const isGrpc = (ps: unknown) => Array.isArray(ps) && (ps[0] === 'grpc' || ps[0] === 'grpcs');
const cannot = (field: Field, name: string, when: string): Field => ({ ...field, forbidden: `cannot set '${name}' when 'protocols' is ${when}` });

/**
 * Kong's conditional_at_least_one_of (runs even when fields are invalid): when `protocols` contains
 * `first`, one of `a` must be set, else when it contains `second`, one of `b`.
 */
function atLeastOneWhen(first: (ps: string[]) => boolean, a: string[], errA: string, second?: (ps: string[]) => boolean, b?: string[], errB?: string) {
  return {
    custom: (r: Record<string, any>) => {
      const ps: unknown = r.protocols;
      if (!Array.isArray(ps)) return undefined;
      if (first(ps)) return a.some((n) => has(r[n])) ? undefined : errA.replace('%s', quoteList(a));
      if (second && b && second(ps)) return b.some((n) => has(r[n])) ? undefined : (errB as string).replace('%s', quoteList(b));
      return undefined;
    },
    always: true,
  };
}

const HTTP_WHEN = "'http' or 'https'";
const HTTP_SUBSCHEMA: Subschema = {
  fields: { sources: cannot(ipPortSet, 'sources', HTTP_WHEN), destinations: cannot(ipPortSet, 'destinations', HTTP_WHEN) },
  entity_checks: [
    atLeastOneWhen(
      (ps) => ps.includes('https'), ['methods', 'hosts', 'headers', 'paths', 'snis'], "must set one of %s when 'protocols' is 'https'",
      (ps) => ps.includes('http'), ['methods', 'hosts', 'headers', 'paths'], "must set one of %s when 'protocols' is 'http'",
    ),
  ],
};

const GRPC_WHEN = "'grpc' or 'grpcs'";
const GRPC_SUBSCHEMA: Subschema = {
  fields: {
    strip_path: {
      type: 'boolean', required: true, default: false,
      custom: (v: boolean) => (v === true ? `cannot set 'strip_path' when 'protocols' is ${GRPC_WHEN}` : undefined),
    },
    methods: cannot(methodsField, 'methods', GRPC_WHEN),
    sources: cannot(ipPortSet, 'sources', GRPC_WHEN),
    destinations: cannot(ipPortSet, 'destinations', GRPC_WHEN),
  },
  entity_checks: [
    atLeastOneWhen(
      (ps) => ps.includes('grpcs'), ['hosts', 'headers', 'paths', 'snis'], "must set one of %s when 'protocols' is 'grpcs'",
      (ps) => ps.includes('grpc'), ['hosts', 'headers', 'paths'], "must set one of %s when 'protocols' is 'grpc'",
    ),
  ],
};

const STREAM_WHEN = "'tcp', 'tls', 'tls_passthrough' or 'udp'";
const STREAM_SUBSCHEMA: Subschema = {
  fields: {
    methods: cannot(methodsField, 'methods', STREAM_WHEN),
    hosts: cannot(hostsField, 'hosts', STREAM_WHEN),
    paths: cannot(pathsField, 'paths', STREAM_WHEN),
    headers: cannot(headersField, 'headers', STREAM_WHEN),
  },
  entity_checks: [
    atLeastOneWhen((ps) => ps.length > 0 && ps.every((p) => STREAM.includes(p)), ['sources', 'destinations', 'snis'], "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'"),
    atLeastOneWhen((ps) => ps.length > 0 && ps.every((p) => p === 'tls_passthrough'), ['snis'], "must set snis when 'protocols' is 'tls_passthrough'"),
  ],
};

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
    methods: methodsField,
    hosts: hostsField,
    paths: pathsField,
    headers: headersField,
    https_redirect_status_code: { type: 'integer', one_of: [426, 301, 302, 307, 308], default: 426, required: true },
    regex_priority: { type: 'integer', default: 0 },
    // grpc(s) routes default to false (their subschema refuses true)
    strip_path: { type: 'boolean', required: true, default: true, default_fn: (r) => (isGrpc(r.protocols) ? false : undefined) },
    path_handling: { type: 'string', one_of: ['v0', 'v1'], default: 'v0' },
    preserve_host: { type: 'boolean', required: true, default: false },
    request_buffering: { type: 'boolean', required: true, default: true },
    response_buffering: { type: 'boolean', required: true, default: true },
    snis: { type: 'set', elements: wildcardHost },
    sources: ipPortSet,
    destinations: ipPortSet,
    tags: t.tags,
    service: t.foreign('services', { on_delete: 'restrict' }),
  },
  entity_checks: [
    {
      // Kong's conditional: snis only with a TLS protocol (the field says its length must be 0)
      custom: (r) => {
        const ps: string[] = r.protocols ?? [];
        if (!has(r.snis) || ps.some((p) => HTTPS_LIKE.includes(p))) return undefined;
        return ["'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'", { field: 'snis', message: 'length must be 0' }];
      },
      fields: ['protocols', 'snis'],
    },
  ],
  // Kong's routes_subschemas.lua: the first protocol picks the rules for the other fields
  subschema_key: 'protocols',
  subschemas: {
    http: HTTP_SUBSCHEMA,
    https: HTTP_SUBSCHEMA,
    grpc: GRPC_SUBSCHEMA,
    grpcs: GRPC_SUBSCHEMA,
    tcp: STREAM_SUBSCHEMA,
    tls: STREAM_SUBSCHEMA,
    udp: STREAM_SUBSCHEMA,
    tls_passthrough: STREAM_SUBSCHEMA,
  },
};
