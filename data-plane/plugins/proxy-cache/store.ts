// What a cache strategy keeps per key, and the interface both strategies implement.

export interface CacheEntry {
  status: number;
  /** Upstream headers minus hop-by-hop ones and Content-Length (lower-case names). */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** When it was stored, ms since the epoch. */
  timestamp: number;
  /** Seconds it is fresh for (cache_ttl, or the resource's TTL with cache_control). */
  ttl: number;
}

export interface CacheStore {
  /** undefined: not in the cache. Rejects (redis) when the store cannot answer. */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined>;
  /** Keep `entry` for `storageTtl` seconds (≤ 0 or null: until evicted). Never throws. */
  set(key: string, entry: CacheEntry, storageTtl: number | null): void;
  delete(key: string): void | Promise<void>;
}

/** Bytes an entry occupies (for the memory bound and the largest storable body). */
export function entrySize(e: CacheEntry): number {
  let n = e.body.length + 64;
  for (const k in e.headers) {
    const v = e.headers[k];
    n += k.length + (Array.isArray(v) ? v.reduce((s, x) => s + x.length + 4, 0) : v.length) + 4;
  }
  return n;
}
