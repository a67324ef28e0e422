// strategy redis: one cache shared by every data plane. Entries are one binary value
//   [u32 length of the JSON meta][meta {status, headers, timestamp, ttl}][body]
// under "proxy-cache:<key>", expiring with the storage TTL. Redis trouble never fails a request:
// while disconnected commands fail at once (no offline queue), an unanswered command fails after
// config.redis.timeout, and the handler then proxies as a Bypass; the client reconnects by itself.
import { Redis } from 'ioredis';
import type { RedisConfig } from './config.js';
import type { CacheEntry, CacheStore } from './store.js';

export const KEY_PREFIX = 'proxy-cache:';

export function encodeEntry(e: CacheEntry): Buffer {
  const meta = Buffer.from(JSON.stringify({ s: e.status, h: e.headers, t: e.timestamp, l: e.ttl }));
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(meta.length, 0);
  return Buffer.concat([head, meta, e.body]);
}

/** undefined when the value is not one of ours (then it is treated as not cached). */
export function decodeEntry(b: Buffer): CacheEntry | undefined {
  if (b.length < 4) return undefined;
  const n = b.readUInt32BE(0);
  if (4 + n > b.length) return undefined;
  try {
    const m = JSON.parse(b.subarray(4, 4 + n).toString('utf8'));
    if (typeof m.s !== 'number' || typeof m.t !== 'number' || typeof m.l !== 'number' || typeof m.h !== 'object' || m.h === null) return undefined;
    return { status: m.s, headers: m.h, timestamp: m.t, ttl: m.l, body: b.subarray(4 + n) };
  } catch {
    return undefined;
  }
}

export type StoreLog = (err: unknown, msg: string) => void;

class RedisStore implements CacheStore {
  readonly client: Redis;
  private lastLog = 0;
  constructor(
    conf: RedisConfig,
    private readonly log: StoreLog,
  ) {
    this.client = new Redis({
      host: conf.host ?? '127.0.0.1',
      port: conf.port,
      username: conf.username ?? undefined,
      password: conf.password ?? undefined,
      db: conf.database,
      tls: conf.ssl ? { rejectUnauthorized: conf.ssl_verify, servername: conf.server_name ?? conf.host ?? undefined } : undefined,
      connectTimeout: conf.timeout,
      commandTimeout: conf.timeout,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    this.client.on('error', (err) => this.warn(err, 'proxy-cache redis connection error'));
  }

  /** At most one log line a second while Redis is unreachable. */
  warn(err: unknown, msg: string): void {
    const now = Date.now();
    if (now - this.lastLog < 1000) return;
    this.lastLog = now;
    this.log(err, msg);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const b = await this.client.getBuffer(KEY_PREFIX + key);
    return b === null ? undefined : decodeEntry(b);
  }

  set(key: string, entry: CacheEntry, storageTtl: number | null): void {
    const value = encodeEntry(entry);
    const p = storageTtl !== null && storageTtl > 0 ? this.client.set(KEY_PREFIX + key, value, 'PX', storageTtl * 1000) : this.client.set(KEY_PREFIX + key, value);
    p.catch((err) => this.warn(err, 'proxy-cache redis store failed'));
  }

  async delete(key: string): Promise<void> {
    await this.client.del(KEY_PREFIX + key);
  }
}

const clients = new Map<string, RedisStore>();

/** One connection per distinct Redis config, shared by every plugin instance and snapshot. */
export function redisStore(conf: RedisConfig, log: StoreLog): RedisStore {
  const id = JSON.stringify([conf.host, conf.port, conf.username, conf.password, conf.database, conf.ssl, conf.ssl_verify, conf.server_name, conf.timeout]);
  let s = clients.get(id);
  if (s === undefined) {
    s = new RedisStore(conf, log);
    clients.set(id, s);
  }
  return s;
}

/** Close every connection (tests; a process exit does not need it). */
export async function closeRedisStores(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.all(all.map((s) => s.client.quit().catch(() => s.client.disconnect())));
}
