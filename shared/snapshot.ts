// The normalized config snapshot: what a declarative file compiles to, what the control plane
// streams to data planes, and what a data plane compiles into its runtime. Entities are exactly
// as the Admin API returns them (all fields, nulls, foreign keys as {"id": …}).
import * as crypto from 'node:crypto';

export type Row = Record<string, any>;

/** Entity collections in a snapshot, in dependency order (parents before children). */
export const SNAPSHOT_ENTITIES = [
  'ca_certificates',
  'certificates',
  'snis',
  'services',
  'routes',
  'consumers',
  'upstreams',
  'targets',
  'plugins',
  'jwt_secrets',
  'keyauth_credentials',
  'basicauth_credentials',
  'acls',
] as const;

export type SnapshotEntity = (typeof SNAPSHOT_ENTITIES)[number];

export type Snapshot = {
  /** Monotonic config version (the control plane's change-log version; 0 for files). */
  version: number;
  /** Digest of the entity rows (snapshotHash; Kong's configuration_hash shape: 32 hex). */
  hash: string;
} & { [K in SnapshotEntity]: Row[] };

export const EMPTY_CONFIG_HASH = '00000000000000000000000000000000';

export function emptySnapshot(): Snapshot {
  const s: any = { version: 0, hash: EMPTY_CONFIG_HASH };
  for (const e of SNAPSHOT_ENTITIES) s[e] = [];
  return s as Snapshot;
}

/** Stable JSON: object keys sorted, so equal configs hash equally wherever they were built. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  // parts joined once (a flat string), not appended one by one (a rope several times the size when kept)
  if (Array.isArray(v)) {
    const parts = new Array<string>(v.length);
    for (let i = 0; i < v.length; i++) parts[i] = canonicalJson(v[i]);
    return `[${parts.join(',')}]`;
  }
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(o).sort()) {
    const x = o[k];
    if (x !== undefined) parts.push(`${JSON.stringify(k)}:${canonicalJson(x)}`);
  }
  return `{${parts.join(',')}}`;
}

/*
 * The config hash is order-free so that a delta updates it in O(changed rows): every row has a
 * 128-bit digest (md5 of its entity name and canonical JSON), the config's digest is their sum
 * modulo 2^128, and the hash is md5 of that sum and the row count (32 hex, like Kong's
 * configuration_hash). An empty config hashes to EMPTY_CONFIG_HASH.
 */
export const DIGEST_MODULUS = 1n << 128n;

/** A row's digest, from its canonical JSON (see canonicalJson). */
export function rowDigest(entity: SnapshotEntity, canonical: string): bigint {
  return BigInt(`0x${hashHex(`${entity}\n${canonical}`)}`);
}

/** The config hash from the sum of its rows' digests (any order, mod DIGEST_MODULUS) and their number. */
export function configHash(digestSum: bigint, rows: number): string {
  if (rows === 0) return EMPTY_CONFIG_HASH;
  const sum = ((digestSum % DIGEST_MODULUS) + DIGEST_MODULUS) % DIGEST_MODULUS;
  return hashHex(`silverback-config:${rows}:${sum.toString(16).padStart(32, '0')}`);
}

/** Hash of the entities only (not the version); rows in any order. */
export function snapshotHash(s: Omit<Snapshot, 'hash' | 'version'>): string {
  let sum = 0n;
  let rows = 0;
  for (const e of SNAPSHOT_ENTITIES) {
    for (const r of (s as any)[e] as Row[]) {
      sum += rowDigest(e, canonicalJson(r));
      rows++;
    }
  }
  return configHash(sum, rows);
}

// crypto.hash (Node ≥ 20.12) skips the Hash object: about twice as fast for the many small rows
const oneShot: ((algorithm: string, data: string, encoding: 'hex') => string) | undefined = (crypto as any).hash;

function hashHex(data: string): string {
  return oneShot ? oneShot('md5', data, 'hex') : crypto.createHash('md5').update(data).digest('hex');
}
