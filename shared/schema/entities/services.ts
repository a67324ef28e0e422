import * as t from '../typedefs.js';
import type { EntitySchema } from '../types.js';

const STREAM_OR_GRPC = ['tcp', 'tls', 'tls_passthrough', 'udp', 'grpc', 'grpcs'];
const TLS_ONLY = (p: unknown) => p !== 'https' && p !== 'tls';
const mustBeNull = (v: unknown) => (v === null || v === undefined ? undefined : 'value must be null');

/** `url` shorthand: scheme, host, port and path in one field (input only, never echoed). */
function expandUrl(url: unknown): Record<string, unknown> | string {
  if (typeof url !== 'string') return 'expected a string';
  if (url.trim() === '') return 'length must be at least 1';
  let u: URL;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
  try {
    u = new URL(hasScheme ? url : `http://${url}`);
  } catch {
    // Kong still reports field errors: an unparsable url yields no host and a bad path
    return { host: null, path: url.startsWith('/') ? url : `${url}` };
  }
  const protocol = hasScheme ? u.protocol.slice(0, -1).toLowerCase() : undefined;
  const explicitPort = u.port !== '' ? Number(u.port) : undefined;
  let proto = protocol;
  if (!proto) proto = explicitPort === 443 ? 'https' : 'http';
  const port = explicitPort ?? (proto === 'https' || proto === 'grpcs' || proto === 'tls' ? 443 : 80);
  const rawPath = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^[^/?#]*/, '').replace(/[?#].*$/, '');
  const out: Record<string, unknown> = {
    protocol: proto,
    host: u.hostname.replace(/^\[|\]$/g, '') || null,
    port,
    path: rawPath === '' ? null : rawPath,
  };
  if (/\s/.test(url)) {
    out.host = null;
    out.path = url;
  }
  return out;
}

export const services: EntitySchema = {
  name: 'services',
  primary_key: ['id'],
  endpoint_key: 'name',
  fields: {
    id: t.id,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    name: t.utf8Name,
    retries: { type: 'integer', default: 5, between: [0, 32767] },
    protocol: { type: 'string', required: true, default: 'http', one_of: t.protocols },
    host: { ...t.host, required: true },
    port: { ...t.port, required: true, default: 80 },
    path: t.path,
    connect_timeout: t.timeout,
    write_timeout: t.timeout,
    read_timeout: t.timeout,
    tags: t.tags,
    client_certificate: t.foreign('certificates', { on_delete: 'restrict' }),
    tls_verify: { type: 'boolean' },
    tls_verify_depth: { type: 'integer', between: [0, 64] },
    ca_certificates: { type: 'array', elements: { type: 'string', uuid: true } },
    enabled: { type: 'boolean', required: true, default: true },
  },
  shorthands: { url: expandUrl },
  entity_checks: [
    {
      conditional: {
        if_field: 'protocol',
        if_match: (p) => STREAM_OR_GRPC.includes(p),
        then_field: 'path',
        then_match: mustBeNull,
      },
    },
    { conditional: { if_field: 'protocol', if_match: TLS_ONLY, then_field: 'client_certificate', then_match: mustBeNull } },
    { conditional: { if_field: 'protocol', if_match: TLS_ONLY, then_field: 'tls_verify', then_match: mustBeNull } },
    { conditional: { if_field: 'protocol', if_match: TLS_ONLY, then_field: 'tls_verify_depth', then_match: mustBeNull } },
    { conditional: { if_field: 'protocol', if_match: TLS_ONLY, then_field: 'ca_certificates', then_match: mustBeNull } },
  ],
};
