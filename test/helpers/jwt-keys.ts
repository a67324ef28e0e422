// Key pairs and JSON Web Tokens for the jwt plugin tests, made with jose (RSA, RSA-PSS, EC, Ed25519
// and HMAC), plus hand-assembled tokens for the malformed cases.
import { CompactSign, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';

export interface KeyPair {
  alg: string;
  privateKey: CryptoKey;
  /** SPKI PEM ("-----BEGIN PUBLIC KEY-----"), what a jwt credential's rsa_public_key holds. */
  publicPem: string;
}

const pairs = new Map<string, Promise<KeyPair>>();

/** A key pair for `alg` (RS256, PS384, ES256, EdDSA...), generated once per test file. */
export function keyPair(alg: string, id = ''): Promise<KeyPair> {
  const cacheKey = `${alg}/${id}`;
  let p = pairs.get(cacheKey);
  if (!p) {
    p = (async () => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
      return { alg, privateKey, publicPem: await exportSPKI(publicKey) };
    })();
    pairs.set(cacheKey, p);
  }
  return p;
}

export type Claims = Record<string, unknown>;

/** A compact JWS over `claims` with `header` (alg defaults to the key's; typ JWT unless given). */
export async function sign(claims: Claims, key: KeyPair | { alg: string; secret: string | Uint8Array }, header: Record<string, unknown> = {}): Promise<string> {
  const k = 'secret' in key ? (typeof key.secret === 'string' ? new TextEncoder().encode(key.secret) : key.secret) : key.privateKey;
  const protectedHeader = { typ: 'JWT', ...header, alg: (header.alg as string | undefined) ?? key.alg };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(protectedHeader as any).sign(k);
}

/** HS256 (or `alg`) token signed with a shared secret. */
export function hmacToken(claims: Claims, secret: string | Uint8Array, alg = 'HS256', header: Record<string, unknown> = {}): Promise<string> {
  return sign(claims, { alg, secret }, header);
}

export const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** header.claims.signature from raw JSON values, no signing (for decoding errors). */
export function rawToken(header: unknown, claims: unknown, signature = 'c2lnbmF0dXJl'): string {
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}.${signature}`;
}

export const nowSec = () => Math.floor(Date.now() / 1000);
