// The normalized config snapshot: what a declarative file compiles to, what the control plane
// streams to data planes, and what a data plane compiles into its runtime. Entities are exactly
// as the Admin API returns them (all fields, nulls, foreign keys as {"id": …}).
import { createHash } from 'node:crypto';

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
  /** md5 hex of the canonical entity JSON (Kong's configuration_hash shape: 32 hex). */
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
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

/** Hash of the entities only (not the version), rows sorted by id. */
export function snapshotHash(s: Omit<Snapshot, 'hash' | 'version'>): string {
  const h = createHash('md5');
  let empty = true;
  for (const e of SNAPSHOT_ENTITIES) {
    const rows = [...((s as any)[e] as Row[])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (rows.length) empty = false;
    h.update(e);
    for (const r of rows) h.update(canonicalJson(r));
  }
  return empty ? EMPTY_CONFIG_HASH : h.digest('hex');
}
