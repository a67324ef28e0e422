// Consumer credentials used by the auth plugins (jwt, key-auth, basic-auth, acl).
import { createPublicKey } from 'node:crypto';
import { hashPassword, isPasswordHash } from '../../password.js';
import * as t from '../typedefs.js';
import type { EntitySchema } from '../types.js';

const consumer = { ...t.foreign('consumers'), required: true };

/** A JWK, or a JWKS ({"keys": [...]}), as an object or JSON text, with at least one public key. */
function validJwks(v: unknown): string | undefined {
  let doc = v;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch {
      return 'invalid JSON';
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'expected a JWK or a JWKS object';
  const keys: unknown[] = Array.isArray((doc as any).keys) ? (doc as any).keys : [doc];
  const usable = keys.filter((k: any) => {
    if (k === null || typeof k !== 'object' || !['RSA', 'EC', 'OKP'].includes(k.kty)) return false;
    try {
      createPublicKey({ key: { kty: k.kty, n: k.n, e: k.e, crv: k.crv, x: k.x, y: k.y } as any, format: 'jwk' });
      return true;
    } catch {
      return false;
    }
  });
  return usable.length ? undefined : 'no usable public key (RSA, EC or OKP) in the JWK/JWKS';
}
const JWT_ALGS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA'];

export const jwt_secrets: EntitySchema = {
  name: 'jwt_secrets',
  admin_name: 'jwts',
  nested_name: 'jwt',
  primary_key: ['id'],
  endpoint_key: 'key',
  fields: {
    id: t.id,
    created_at: t.createdAt,
    consumer,
    key: { type: 'string', unique: true, generate: 'key32' },
    secret: { type: 'string', generate: 'key32', secret: true },
    rsa_public_key: { type: 'string' },
    algorithm: { type: 'string', default: 'HS256', one_of: JWT_ALGS },
    tags: t.tags,
    /** Beyond Kong: the issuer's JWKS URL instead of one PEM key (keys by kid, rotation followed). */
    jwks_uri: { type: 'string', custom: t.httpUrl },
    /** Beyond Kong: a JWK or a JWKS given inline (JSON). */
    jwks: { type: 'json', custom: validJwks },
  },
  entity_checks: [
    {
      custom: (c) => {
        if ((c.jwks_uri || c.jwks) && !/^(RS|PS|ES)\d+$|^EdDSA$/.test(c.algorithm ?? '')) {
          return { field: 'algorithm', message: 'must be an asymmetric algorithm with jwks_uri or jwks' };
        }
        if (!/^(RS|PS)\d+$|^EdDSA$/.test(c.algorithm ?? '')) return undefined;
        if (!c.rsa_public_key && (c.jwks_uri || c.jwks)) return undefined;
        if (!c.rsa_public_key) return { field: 'rsa_public_key', message: 'required field missing' };
        try {
          createPublicKey(c.rsa_public_key);
        } catch {
          return { field: 'rsa_public_key', message: 'invalid key' };
        }
        return undefined;
      },
      fields: ['algorithm', 'rsa_public_key'],
    },
  ],
};

export const keyauth_credentials: EntitySchema = {
  name: 'keyauth_credentials',
  admin_name: 'key-auths',
  nested_name: 'key-auth',
  primary_key: ['id'],
  endpoint_key: 'key',
  ttl: true,
  fields: {
    id: t.id,
    created_at: t.createdAt,
    consumer,
    key: { type: 'string', required: true, unique: true, generate: 'key32', secret: true },
    ttl: { type: 'integer', transient: true, between: [0, 100000000] },
    tags: t.tags,
    /** When a key given a `ttl` stops working (epoch seconds; null = never): data planes enforce it. */
    expires_at: { type: 'integer', internal: true },
  },
  // ttl (seconds from this write, 0 = none) is turned into a stored expiry the snapshot carries;
  // a write without ttl keeps the expiry the credential had.
  transform: (row) => {
    if (typeof row.ttl !== 'number') return row;
    return { ...row, expires_at: row.ttl > 0 ? Math.floor(Date.now() / 1000) + row.ttl : null };
  },
};

export const basicauth_credentials: EntitySchema = {
  name: 'basicauth_credentials',
  admin_name: 'basic-auths',
  nested_name: 'basic-auth',
  primary_key: ['id'],
  endpoint_key: 'username',
  fields: {
    id: t.id,
    created_at: t.createdAt,
    consumer,
    username: { type: 'string', required: true, unique: true },
    password: { type: 'string', required: true, secret: true },
    tags: t.tags,
  },
  // Clear passwords are stored as scrypt hashes; a value that already is a hash (ours, or Kong's
  // sha1(password .. consumer_id) from a Kong database or decK file) is kept as it is.
  transform: (row) => {
    if (typeof row.password !== 'string' || isPasswordHash(row.password)) return row;
    return { ...row, password: hashPassword(row.password, typeof row.id === 'string' ? row.id : undefined) };
  },
};

export const acls: EntitySchema = {
  name: 'acls',
  admin_name: 'acls',
  nested_name: 'acls',
  primary_key: ['id'],
  fields: {
    id: t.id,
    created_at: t.createdAt,
    consumer,
    group: { type: 'string', required: true },
    tags: t.tags,
  },
};
