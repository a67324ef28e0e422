// JSON Web Key Sets for the jwt plugin: parsing (inline `jwk`/`jwks` values or fetched documents)
// into verification keys by `kid`, and a process-wide cache of fetched sets per URL that honours
// Cache-Control max-age between a floor and a ceiling, refetches on an unknown kid at most once per
// refetch interval, keeps serving the keys it has while the endpoint is down, and never waits
// longer than the fetch timeout.
import { createPublicKey, type KeyObject } from 'node:crypto';

export interface JwkKey {
  kid: string | null;
  /** `alg` of the JWK when it names one: the token's alg must then be the same. */
  alg: string | null;
  key: KeyObject;
}

export interface KeySet {
  keys: JwkKey[];
  byKid: Map<string, JwkKey>;
}

/** Smallest RSA modulus accepted for signatures. */
export const MIN_RSA_BITS = 2048;

/** Usable signature keys of a JWK or a JWKS document (symmetric, encryption-only and weak keys left out). */
export function parseKeySet(doc: unknown): KeySet {
  const list = doc !== null && typeof doc === 'object' && Array.isArray((doc as any).keys) ? (doc as any).keys : [doc];
  const keys: JwkKey[] = [];
  for (const jwk of list) {
    if (jwk === null || typeof jwk !== 'object') continue;
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') continue; // never 'oct': no HS with a public key
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    let key: KeyObject;
    try {
      // only the public members: a private JWK must not be usable as a secret in any way
      const pub: Record<string, unknown> = { kty: jwk.kty };
      for (const k of ['n', 'e', 'crv', 'x', 'y']) if (jwk[k] !== undefined) pub[k] = jwk[k];
      key = createPublicKey({ key: pub as any, format: 'jwk' });
    } catch {
      continue;
    }
    if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) continue;
    keys.push({ kid: typeof jwk.kid === 'string' ? jwk.kid : null, alg: typeof jwk.alg === 'string' ? jwk.alg : null, key });
  }
  const byKid = new Map<string, JwkKey>();
  for (const k of keys) if (k.kid !== null && !byKid.has(k.kid)) byKid.set(k.kid, k);
  return { keys, byKid };
}

/** The key of `set` for a token header: by kid, or the only key when the token names none. */
export function selectKey(set: KeySet, kid: unknown): JwkKey | undefined {
  if (typeof kid === 'string') return set.byKid.get(kid);
  if (kid === undefined && set.keys.length === 1) return set.keys[0];
  return undefined;
}

export interface JwksOptions {
  /** Seconds a fetched set is used at least / at most (Cache-Control max-age is clamped into this). */
  minTtl: number;
  maxTtl: number;
  /** Seconds between two fetches caused by unknown kids or failures. */
  refetchInterval: number;
  /** Milliseconds a fetch may take in all. */
  timeoutMs: number;
}

interface Entry {
  set: KeySet | null;
  /** When the set must be fetched again (ms). */
  expiresAt: number;
  /** Last fetch attempt start (ms), for the refetch rate limit. */
  lastAttempt: number;
  inflight: Promise<void> | null;
}

const MAX_BYTES = 1024 * 1024;

function maxAge(cacheControl: string | null): number | undefined {
  if (!cacheControl) return undefined;
  if (/(?:^|,)\s*(?:no-store|no-cache)\b/i.test(cacheControl)) return 0;
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d+)/i.exec(cacheControl);
  return m ? Number(m[1]) : undefined;
}

export class JwksCache {
  private readonly entries = new Map<string, Entry>();
  /** Fetches made (for tests and metrics). */
  fetches = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The key for `kid` when the set at `uri` is cached, fresh and has it (no I/O); else undefined. */
  peek(uri: string, kid: unknown): JwkKey | undefined {
    const e = this.entries.get(uri);
    if (e === undefined || e.set === null || this.now() >= e.expiresAt) return undefined;
    return selectKey(e.set, kid);
  }

  /**
   * The key for `kid` from the set at `uri`: fetched when not cached or expired, refetched when the
   * kid is unknown (rate-limited). Undefined when no usable key is known; never throws.
   */
  async key(uri: string, kid: unknown, opts: JwksOptions): Promise<JwkKey | undefined> {
    let e = this.entries.get(uri);
    if (e === undefined) {
      e = { set: null, expiresAt: 0, lastAttempt: -Infinity, inflight: null };
      this.entries.set(uri, e);
    }
    const now = this.now();
    // first use, or the cache window ended: fetch (a failure keeps the old set for a refetch interval)
    if (e.set === null || now >= e.expiresAt) await this.refresh(uri, e, opts);
    if (e.set === null) return undefined;
    let found = selectKey(e.set, kid);
    if (found === undefined && typeof kid === 'string' && (e.inflight !== null || this.now() - e.lastAttempt >= opts.refetchInterval * 1000)) {
      await this.refresh(uri, e, opts); // rotation: a new kid appears before our cache window ends
      found = e.set === null ? undefined : selectKey(e.set, kid);
    }
    return found;
  }

  private refresh(uri: string, e: Entry, opts: JwksOptions): Promise<void> {
    if (e.inflight !== null) return e.inflight;
    if (e.set === null && this.now() - e.lastAttempt < opts.refetchInterval * 1000 && e.lastAttempt !== -Infinity) {
      return Promise.resolve(); // failed recently and nothing cached: answer at once instead of hammering
    }
    e.lastAttempt = this.now();
    e.inflight = this.fetchSet(uri, opts)
      .then(({ set, ttl }) => {
        e.set = set;
        e.expiresAt = this.now() + ttl * 1000;
      })
      .catch(() => {
        // endpoint down or bad document: keep what we had; try again after the refetch interval
        if (e.set !== null) e.expiresAt = this.now() + opts.refetchInterval * 1000;
      })
      .finally(() => {
        e.inflight = null;
      });
    return e.inflight;
  }

  private async fetchSet(uri: string, opts: JwksOptions): Promise<{ set: KeySet; ttl: number }> {
    this.fetches++;
    const res = await fetch(uri, { signal: AbortSignal.timeout(opts.timeoutMs), headers: { accept: 'application/json' }, redirect: 'follow' });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`JWKS ${uri}: status ${res.status}`);
    }
    const text = await res.text();
    if (text.length > MAX_BYTES) throw new Error(`JWKS ${uri}: too large`);
    const doc = JSON.parse(text);
    if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.keys)) throw new Error(`JWKS ${uri}: no keys`);
    const age = maxAge(res.headers.get('cache-control'));
    const ttl = Math.min(Math.max(age ?? opts.minTtl, opts.minTtl), opts.maxTtl);
    return { set: parseKeySet(doc), ttl };
  }
}

/** One cache per process: every jwt instance and snapshot shares fetched sets by URL. */
export const jwksCache = new JwksCache();
