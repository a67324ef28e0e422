// jwt_secrets of a snapshot indexed by key, with their verification keys prepared once (lazily, on
// first use) and shared by every jwt plugin instance of that snapshot.
import { constants, createHmac, createPublicKey, createSecretKey, timingSafeEqual, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { Row } from '../../../shared/snapshot.js';
import type { SnapshotIndex } from '../types.js';
import { lenientBase64, type DecodedJwt } from './token.js';
import { jwksCache, MIN_RSA_BITS, parseKeySet, selectKey, type JwkKey, type JwksOptions, type KeySet } from './jwks.js';

export interface JwtSecret {
  row: Row;
  /** `algorithm` of the credential (Kong: HS256 when unset). */
  algorithm: string;
  consumerId: string | null;
  /** Verification keys by secret_is_base64 (false/true); null = no usable secret ("Invalid key/secret"). */
  keys: [KeyObject | null | undefined, KeyObject | null | undefined];
  /** Beyond Kong: keys come from a JWKS (URL, or inline `jwks`) when there is no PEM public key. */
  jwksUri: string | null;
  inline: KeySet | null | undefined;
}

export type SecretsByKey = ReadonlyMap<string, JwtSecret>;

export function secretsByKey(index: SnapshotIndex): SecretsByKey {
  return index.memo('jwt_secrets.by_key', (snapshot) => {
    const map = new Map<string, JwtSecret>();
    for (const row of snapshot.jwt_secrets ?? []) {
      if (typeof row.key !== 'string') continue;
      map.set(row.key, {
        row,
        algorithm: typeof row.algorithm === 'string' && row.algorithm ? row.algorithm : 'HS256',
        consumerId: typeof row.consumer?.id === 'string' ? row.consumer.id : null,
        keys: [undefined, undefined],
        jwksUri: typeof row.jwks_uri === 'string' && row.jwks_uri ? row.jwks_uri : null,
        inline: undefined,
      });
    }
    return map;
  });
}

export class InvalidPublicKeyError extends Error {
  override name = 'InvalidPublicKeyError';
}

/**
 * The key to verify with: HS* use `secret`, the others the `rsa_public_key` PEM; with
 * secret_is_base64 the value is base64-decoded first. Null when there is nothing usable (Kong's
 * "Invalid key/secret"); throws when a public key does not parse (Kong fails with a 500 there too).
 */
export function verificationKey(secret: JwtSecret, secretIsBase64: boolean): KeyObject | null {
  const slot = secretIsBase64 ? 1 : 0;
  const cached = secret.keys[slot];
  if (cached !== undefined) return cached;
  const symmetric = secret.algorithm.startsWith('HS');
  const raw: unknown = symmetric ? secret.row.secret : secret.row.rsa_public_key;
  let material: Buffer | null = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : null;
  if (material !== null && secretIsBase64) material = lenientBase64(raw as string) ?? null;
  let key: KeyObject | null = null;
  if (material !== null) {
    if (symmetric) key = createSecretKey(material);
    else {
      try {
        key = createPublicKey(material);
      } catch (err) {
        throw new InvalidPublicKeyError(`jwt credential ${secret.row.id}: consumer public key is invalid (${(err as Error).message})`);
      }
      // weak RSA keys are refused (as if the credential had no key)
      if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) key = null;
    }
  }
  secret.keys[slot] = key;
  return key;
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
const CURVE: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/**
 * Signature check over `header64.claims64` with `algorithm`, synchronous (node:crypto). The key
 * must be of the algorithm's type (secret for HS, RSA for RS and PS, the named curve for ES,
 * Ed25519/Ed448 for EdDSA): anything else fails, so no algorithm can be used with another's key.
 */
export function verifySignature(jwt: DecodedJwt, key: KeyObject, algorithm: string): boolean {
  const signature = lenientBase64(jwt.signature64);
  if (signature === undefined) return false;
  const data = Buffer.from(`${jwt.header64}.${jwt.claims64}`, 'latin1');
  const family = algorithm.slice(0, 2);
  const hash = HASH[algorithm.slice(2)];
  try {
    if (family === 'HS') {
      if (key.type !== 'secret' || hash === undefined) return false;
      const mac = createHmac(hash, key).update(data).digest();
      return mac.length === signature.length && timingSafeEqual(mac, signature);
    }
    if (key.type !== 'public') return false;
    const kt = key.asymmetricKeyType;
    if (algorithm === 'EdDSA') return (kt === 'ed25519' || kt === 'ed448') && cryptoVerify(null, data, key, signature);
    if (hash === undefined) return false;
    if (family === 'RS') return kt === 'rsa' && cryptoVerify(hash, data, key, signature);
    if (family === 'PS') {
      return (kt === 'rsa' || kt === 'rsa-pss') && cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    }
    if (family === 'ES') {
      return kt === 'ec' && key.asymmetricKeyDetails?.namedCurve === CURVE[algorithm] && cryptoVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
  } catch {
    return false;
  }
  return false;
}

/** Whether the credential's keys come from a JWKS rather than `secret`/`rsa_public_key`. */
export function usesJwks(secret: JwtSecret): boolean {
  return !secret.row.rsa_public_key && (secret.jwksUri !== null || (secret.row.jwks !== null && secret.row.jwks !== undefined));
}

/**
 * The JWKS key of a credential for a token's `kid` (inline set parsed once; URL sets cached): the
 * key itself when known without I/O, else a promise (fetch or refetch of the URL).
 */
export function jwksKey(secret: JwtSecret, kid: unknown, opts: JwksOptions): JwkKey | undefined | Promise<JwkKey | undefined> {
  if (secret.row.jwks !== null && secret.row.jwks !== undefined) {
    if (secret.inline === undefined) {
      let doc: unknown = secret.row.jwks;
      try {
        if (typeof doc === 'string') doc = JSON.parse(doc);
        secret.inline = parseKeySet(doc);
      } catch {
        secret.inline = null;
      }
    }
    const found = secret.inline ? selectKey(secret.inline, kid) : undefined;
    if (found !== undefined || secret.jwksUri === null) return found;
  }
  if (secret.jwksUri === null) return undefined;
  return jwksCache.peek(secret.jwksUri, kid) ?? jwksCache.key(secret.jwksUri, kid, opts);
}
