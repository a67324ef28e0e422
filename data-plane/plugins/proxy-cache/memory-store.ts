// strategy memory: one LRU per dictionary name, bounded by bytes (Kong's lua_shared_dict, which
// also evicts the least recently used entries when full). Dictionaries outlive snapshots, so a
// config change does not empty the cache.
import { LRUCache } from 'lru-cache';
import { entrySize, type CacheEntry, type CacheStore } from './store.js';

class MemoryStore implements CacheStore {
  readonly lru: LRUCache<string, CacheEntry>;
  constructor(readonly maxBytes: number) {
    this.lru = new LRUCache<string, CacheEntry>({ maxSize: maxBytes, sizeCalculation: entrySize, ttlAutopurge: false });
  }
  get(key: string): CacheEntry | undefined {
    return this.lru.get(key);
  }
  set(key: string, entry: CacheEntry, storageTtl: number | null): void {
    if (entrySize(entry) > this.maxBytes) return; // would evict everything and still not fit
    this.lru.set(key, entry, storageTtl !== null && storageTtl > 0 ? { ttl: storageTtl * 1000 } : { ttl: 0 });
  }
  delete(key: string): void {
    this.lru.delete(key);
  }
}

const dictionaries = new Map<string, MemoryStore>();

/** The dictionary of that name (created with `maxBytes` the first time; a new size replaces it empty). */
export function memoryStore(name: string, maxBytes: number): MemoryStore {
  let s = dictionaries.get(name);
  if (s === undefined || s.maxBytes !== maxBytes) {
    s = new MemoryStore(maxBytes);
    dictionaries.set(name, s);
  }
  return s;
}

/** Empty every dictionary (tests, and a future /proxy-cache purge). */
export function flushMemoryStores(): void {
  for (const s of dictionaries.values()) s.lru.clear();
}
