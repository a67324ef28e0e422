// Reusable field declarations (Kong's typedefs.lua): ids, timestamps, tags, hosts, ports, paths, names.
import { isIP } from 'node:net';
import type { Field } from './types.js';
import { UUID_RE } from './validate.js';

export const id: Field = { type: 'string', uuid: true, auto: true };
export const createdAt: Field = { type: 'integer', auto: true, timestamp: 'seconds' };
export const updatedAt: Field = { type: 'integer', auto: true, timestamp: 'seconds' };

const TAG_RE = /^[\x21-\x7e\u0080-\u{10ffff}]+$/u;
export const tags: Field = {
  type: 'set',
  elements: {
    type: 'string',
    custom: (t: string) =>
      TAG_RE.test(t) && !t.includes(',') && !t.includes('/')
        ? undefined
        : `invalid tag '${t}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`,
  },
};

const NAME_RE = /^[A-Za-z0-9._~\-\u0080-\u{10ffff}]+$/u;
export const utf8Name: Field = {
  type: 'string',
  unique: true,
  custom: (v: string) =>
    NAME_RE.test(v)
      ? undefined
      : `invalid value '${v}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`,
};

const HOSTNAME_RE = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

export function validHostname(h: string): boolean {
  return HOSTNAME_RE.test(h);
}

/** Split "host:port" / "[v6]:port" / "v6" into parts (port undefined when absent). */
export function splitHostPort(v: string): { host: string; port?: number; bad?: boolean } {
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0) return { host: v, bad: true };
    const host = v.slice(1, end);
    const rest = v.slice(end + 1);
    if (rest === '') return { host };
    if (!/^:\d+$/.test(rest)) return { host, bad: true };
    return { host, port: Number(rest.slice(1)) };
  }
  if (isIP(v) === 6) return { host: v };
  const i = v.lastIndexOf(':');
  if (i < 0) return { host: v };
  const p = v.slice(i + 1);
  if (!/^\d+$/.test(p)) return { host: v, bad: true };
  return { host: v.slice(0, i), port: Number(p) };
}

export function validHost(v: string): string | undefined {
  const { host, port, bad } = splitHostPort(v);
  if (bad) return `invalid value: ${v}`;
  if (port !== undefined) return 'must not have a port';
  if (isIP(host)) return undefined;
  if (!validHostname(host)) return `invalid hostname: ${v}`;
  return undefined;
}

export const host: Field = { type: 'string', custom: validHost };
export const port: Field = { type: 'integer', between: [0, 65535] };
export const timeout: Field = { type: 'integer', between: [1, 2 ** 31 - 2], default: 60000 };

const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
export function validPath(p: string): string | undefined {
  if (!p.startsWith('/')) return 'should start with: /';
  if (p.includes('//')) return 'must not have empty segments';
  if (!PATH_CHARS.test(p)) return `invalid path: '${p}' (characters outside of the reserved list of RFC 3986 found)`;
  const bad = p.match(/%(?![0-9A-Fa-f]{2})/);
  if (bad) return `invalid url-encoded value: '${p.slice(bad.index!, bad.index! + 3)}'`;
  return undefined;
}
export const path: Field = { type: 'string', custom: validPath };

export const protocols = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'] as const;
export const httpProtocols = ['grpc', 'grpcs', 'http', 'https'];

export const foreign = (reference: string, extra: Partial<Field> = {}): Field => ({
  type: 'foreign',
  reference,
  on_delete: 'cascade',
  ...extra,
});

export const pemCertificate: Field = { type: 'string' };

/** 32 alphanumeric characters, as Kong generates credential keys and secrets. */
export function randomKey32(): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += abc[b % abc.length];
  return out;
}

export function isUuid(v: unknown): boolean {
  return typeof v === 'string' && UUID_RE.test(v);
}

export function validIpOrCidr(v: string): boolean {
  const [ip, bits, ...rest] = v.split('/');
  if (rest.length) return false;
  const fam = isIP(ip);
  if (!fam) return false;
  if (bits === undefined) return true;
  if (!/^\d+$/.test(bits)) return false;
  return Number(bits) <= (fam === 4 ? 32 : 128);
}

/** An HTTP token (RFC 9110 §5.6.2): what a header field name may be on the wire. */
export const HTTP_TOKEN_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

/** Kong's typedefs.header_name. */
export const headerName: Field = {
  type: 'string',
  custom: (v: string) => (/^[A-Za-z0-9_-]+$/.test(v) ? undefined : `bad header name '${v}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`),
};

/** An absolute http(s) URL (JWKS endpoints). */
export function httpUrl(v: string): string | undefined {
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return undefined;
  } catch {
    // fall through
  }
  return 'must be an http or https URL';
}
