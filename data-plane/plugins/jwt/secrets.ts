// jwt_secrets of a snapshot indexed by key, with their verification keys prepared once (lazily, on
// first use) and shared by every jwt plugin instance of that snapshot.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { flattenedVerify } from 'jose';
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

/** Signature check over `header64.claims64` with the credential's algorithm. */
export async function verifySignature(jwt: DecodedJwt, key: KeyObject, algorithm: string): Promise<boolean> {
  try {
    await flattenedVerify({ protected: jwt.header64, payload: jwt.claims64, signature: jwt.signature64 }, key, { algorithms: [algorithm] });
    return true;
  } catch {
    return false;
  }
}

/** Whether the credential's keys come from a JWKS rather than `secret`/`rsa_public_key`. */
export function usesJwks(secret: JwtSecret): boolean {
  return !secret.row.rsa_public_key && (secret.jwksUri !== null || (secret.row.jwks !== null && secret.row.jwks !== undefined));
}

/** The JWKS key of a credential for a token's `kid` (inline set parsed once; URL sets cached). */
export async function jwksKey(secret: JwtSecret, kid: unknown, opts: JwksOptions): Promise<JwkKey | undefined> {
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
  return secret.jwksUri === null ? undefined : jwksCache.key(secret.jwksUri, kid, opts);
}
