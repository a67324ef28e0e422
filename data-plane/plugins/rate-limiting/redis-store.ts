// policy redis: counters shared by every data plane. One Lua script checks every period of a request
// and, only when none is exceeded, increments them all — atomically, so N data planes with any
// number of concurrent clients admit exactly the limit. The requests that arrive in one turn of the
// event loop go to Redis together, as one script call (requests handled one after the other inside
// it, each still atomic); on Cluster one call per hash tag, auto-pipelined per node.
//
// Topologies: a single server, Sentinel (the master named `sentinel_master`), or Cluster (keys carry
// a hash tag, so one request's keys live in one slot). Failure never hangs a request: while the
// connection is down commands fail at once (no offline queue), a command that gets no answer fails
// after `timeout`, and the client reconnects by itself.
import { createHash } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { CounterStore, Outcome, PeriodCheck } from './counters.js';
import { logThrottled } from './log.js';

export interface RedisConfig {
  host: string | null;
  port: number | null;
  timeout: number | null;
  username: string | null;
  password: string | null;
  database: number | null;
  ssl: boolean;
  ssl_verify: boolean;
  server_name: string | null;
  sentinel_master?: string | null;
  sentinel_role?: 'master' | 'slave' | 'any' | null;
  sentinel_nodes?: { host: string; port: number }[] | null;
  sentinel_username?: string | null;
  sentinel_password?: string | null;
  cluster_nodes?: { ip: string; port: number }[] | null;
  cluster_max_redirections?: number | null;
}

// A batch of requests in one call. KEYS: the batch's distinct counters (requests of one identity
// share them); ARGV[1]: the batch as JSON, per request, per period: [current window counter (KEYS
// index), previous window counter (KEYS index; 0 = not read: fixed window), limit, weight of the
// previous window, counter lifetime in ms]. One JSON argument and one JSON answer instead of a
// few arguments per request: what ioredis and the socket spend grows with the argument count.
// Returns JSON, per request: [blocked (0/1), then per period: current count (this request included
// when admitted), previous count].
const BATCH_LUA = `
local batch = cjson.decode(ARGV[1])
local out = {}
for q = 1, #batch do
  local req = batch[q]
  local n = #req
  local res = {0}
  local blocked = 0
  for i = 1, n do
    local ch = req[i]
    local c = tonumber(redis.call('GET', KEYS[ch[1]]) or '0')
    local p = 0
    if ch[2] > 0 then p = tonumber(redis.call('GET', KEYS[ch[2]]) or '0') end
    if p * ch[4] + c + 1 > ch[3] then blocked = 1 end
    res[2 * i] = c
    res[2 * i + 1] = p
  end
  if blocked == 0 then
    for i = 1, n do
      local ch = req[i]
      local c = redis.call('INCR', KEYS[ch[1]])
      if c == 1 then redis.call('PEXPIRE', KEYS[ch[1]], ch[5]) end
      res[2 * i] = c
    end
  end
  res[1] = blocked
  out[q] = res
end
return cjson.encode(out)
`;
const BATCH_SHA = createHash('sha1').update(BATCH_LUA).digest('hex');
/** Requests per script call at most (the script blocks Redis while it runs: keep it short). */
const MAX_BATCH = 128;

type Client = Redis | Cluster;

export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}


/** Reconnect quickly at first, then every second at most. */
const retry = (times: number) => Math.min(50 * times, 1000);

function tlsOf(c: RedisConfig): RedisOptions['tls'] {
  if (!c.ssl) return undefined;
  return { rejectUnauthorized: c.ssl_verify, servername: c.server_name ?? undefined };
}

function commonOptions(c: RedisConfig, timeout: number): RedisOptions {
  return {
    username: c.username ?? undefined,
    password: c.password ?? undefined,
    db: c.database ?? 0,
    tls: tlsOf(c),
    connectTimeout: timeout,
    commandTimeout: timeout,
    // a request whose command was lost with the connection fails (fault_tolerant decides), it is
    // never resent later (that would count it twice)
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // a single server gets one call per event-loop turn already (the batch): ioredis's
    // auto-pipelining would only add its own per-turn bookkeeping (measured ~25 % more CPU per call)
    enableAutoPipelining: false,
    lazyConnect: false,
  };
}

function createClient(c: RedisConfig): Client {
  const timeout = c.timeout ?? 2000;
  const common = commonOptions(c, timeout);
  if (c.cluster_nodes && c.cluster_nodes.length > 0) {
    const { db: _db, ...redisOptions } = common;
    const opts: ClusterOptions = {
      redisOptions: { ...redisOptions, enableAutoPipelining: undefined },
      enableOfflineQueue: false,
      // one batch per hash tag: auto-pipelining groups the calls of one turn per node
      enableAutoPipelining: true,
      clusterRetryStrategy: retry,
      maxRedirections: c.cluster_max_redirections ?? 5,
      slotsRefreshTimeout: timeout,
    };
    return new Cluster(
      c.cluster_nodes.map((n) => ({ host: n.ip, port: n.port })),
      opts,
    );
  }
  const opts: RedisOptions = { ...common, enableOfflineQueue: false, retryStrategy: retry };
  if (c.sentinel_nodes && c.sentinel_nodes.length > 0) {
    Object.assign(opts, {
      sentinels: c.sentinel_nodes.map((n) => ({ host: n.host, port: n.port })),
      name: c.sentinel_master ?? 'mymaster',
      role: c.sentinel_role === 'slave' ? 'slave' : 'master',
      sentinelUsername: c.sentinel_username ?? undefined,
      sentinelPassword: c.sentinel_password ?? undefined,
      sentinelRetryStrategy: retry,
      // the master may move: reconnect to the new one when the old one turns read-only
      reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    });
  } else {
    opts.host = c.host ?? '127.0.0.1';
    opts.port = c.port ?? 6379;
  }
  return new Redis(opts);
}

interface Pending {
  checks: PeriodCheck[];
  resolve(o: Outcome): void;
  reject(err: unknown): void;
}

export class RedisStore implements CounterStore {
  readonly client: Client;
  private readonly timeout: number;
  private readonly isCluster: boolean;
  private queue: Pending[] = [];
  private scheduled = false;
  private everReady = false;
  private firstWaitFailed = false;
  private firstReady: Promise<void> | null = null;
  /** The last connection error (for logs/tests); cleared when ready. */
  lastError: Error | null = null;

  constructor(config: RedisConfig) {
    this.timeout = config.timeout ?? 2000;
    this.client = createClient(config);
    this.isCluster = this.client instanceof Cluster;
    const where = config.cluster_nodes?.length ? 'cluster' : config.sentinel_nodes?.length ? `sentinel ${config.sentinel_master}` : `${config.host}:${config.port}`;
    this.client.on('error', (err: Error) => {
      this.lastError = err;
      logThrottled('warn', `redis-error:${where}`, { redis: where, error: err.message }, 'rate-limiting: redis connection error');
    });
    this.client.on('ready', () => {
      if (this.everReady) logThrottled('info', `redis-ready:${where}`, { redis: where }, 'rate-limiting: redis connection back');
      this.everReady = true;
      this.lastError = null;
      // loaded before the first requests, so they do not all meet NOSCRIPT and send the script again
      if (!this.isCluster) (this.client as Redis).script('LOAD', BATCH_LUA).catch(() => undefined);
    });
  }

  /**
   * Until the first connection is up, requests wait for it (at most `timeout`: a data plane that
   * just started does not skip its limits). Once it was up, or that first wait failed, requests
   * fail at once while Redis is unreachable.
   */
  private waitReady(): Promise<void> {
    if (this.everReady || this.firstWaitFailed) return Promise.reject(new RedisUnavailableError(`redis not connected (${this.client.status})`));
    // one wait shared by every request that arrives before the first connection
    this.firstReady ??= new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        this.firstWaitFailed = true;
        reject(new RedisUnavailableError(`redis not ready within ${this.timeout} ms`));
      }, this.timeout);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
    return this.firstReady;
  }

  consume(checks: PeriodCheck[]): Promise<Outcome> {
    if (this.client.status !== 'ready') return this.waitReady().then(() => this.enqueue(checks));
    return this.enqueue(checks);
  }

  private enqueue(checks: PeriodCheck[]): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ checks, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Sends what the current event-loop turn queued: one call per batch (per hash tag on Cluster). */
  private readonly flush = (): void => {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    if (!this.isCluster) {
      for (let i = 0; i < q.length; i += MAX_BATCH) this.send(q.length <= MAX_BATCH ? q : q.slice(i, i + MAX_BATCH));
      return;
    }
    // a script may only touch keys of one slot: one batch per hash tag
    const byTag = new Map<string, Pending[]>();
    for (const p of q) {
      const key = p.checks[0].key;
      const open = key.indexOf('{');
      const tag = key.slice(open, key.indexOf('}', open) + 1);
      const list = byTag.get(tag);
      if (list === undefined) byTag.set(tag, [p]);
      else list.push(p);
    }
    for (const list of byTag.values()) for (let i = 0; i < list.length; i += MAX_BATCH) this.send(list.slice(i, i + MAX_BATCH));
  };

  private send(batch: Pending[]): void {
    const keys: string[] = [];
    const index = new Map<string, number>();
    const keyIndex = (key: string): number => {
      let i = index.get(key);
      if (i === undefined) {
        i = keys.push(key); // Lua's KEYS is 1-based
        index.set(key, i);
      }
      return i;
    };
    const requests: number[][][] = [];
    for (const { checks } of batch) {
      const periods: number[][] = [];
      for (const ch of checks) {
        periods.push([keyIndex(ch.key), ch.weight > 0 ? keyIndex(ch.prevKey) : 0, ch.limit, ch.weight, Math.ceil(ch.ttlMs)]);
      }
      requests.push(periods);
    }
    this.evalBatch(keys, JSON.stringify(requests)).then(
      (reply) => {
        let answers: number[][];
        try {
          answers = JSON.parse(String(reply)) as number[][];
        } catch (err) {
          for (const p of batch) p.reject(err);
          return;
        }
        for (let q = 0; q < batch.length; q++) {
          const p = batch[q];
          const r = answers[q];
          const n = p.checks.length;
          if (!Array.isArray(r) || r.length !== 1 + 2 * n) {
            p.reject(new Error('rate-limiting: unexpected answer from redis'));
            continue;
          }
          const current = new Array<number>(n);
          const previous = new Array<number>(n);
          for (let i = 0; i < n; i++) {
            current[i] = Number(r[1 + 2 * i]);
            previous[i] = Number(r[2 + 2 * i]);
          }
          p.resolve({ blocked: r[0] === 1, current, previous });
        }
      },
      (err) => {
        for (const p of batch) p.reject(err);
      },
    );
  }

  /** EVALSHA (a known command: Cluster routes and auto-pipelines it by its first key), EVAL when the script is not loaded yet. */
  private async evalBatch(keys: string[], batch: string): Promise<unknown> {
    try {
      return await this.client.evalsha(BATCH_SHA, keys.length, ...keys, batch);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await this.client.eval(BATCH_LUA, keys.length, ...keys, batch);
    }
  }

  /** Requests are waiting for an answer. */
  get busy(): boolean {
    return this.queue.length > 0 || this.scheduled;
  }

  close(): Promise<void> {
    return this.client.quit().then(
      () => undefined,
      () => void this.client.disconnect(),
    );
  }
}

/**
 * One client per distinct connection config, kept across config pushes (connections stay open).
 * A client no request used for IDLE_MS is closed (configs that were replaced or removed); a later
 * request opens it again.
 */
const stores = new Map<string, RedisStore>();
const lastUsed = new Map<RedisStore, number>();
const IDLE_MS = 10 * 60_000;
let sweeper: NodeJS.Timeout | null = null;

function sweepIdle(): void {
  const now = Date.now();
  for (const [key, s] of stores) {
    if (now - (lastUsed.get(s) ?? 0) < IDLE_MS || s.busy) continue;
    stores.delete(key);
    lastUsed.delete(s);
    void s.close();
  }
  if (stores.size === 0 && sweeper !== null) {
    clearInterval(sweeper);
    sweeper = null;
  }
}

export function redisStoreFor(config: RedisConfig, key = JSON.stringify(config)): RedisStore {
  let s = stores.get(key);
  if (s === undefined) {
    s = new RedisStore(config);
    stores.set(key, s);
    if (sweeper === null) {
      sweeper = setInterval(sweepIdle, 60_000);
      sweeper.unref();
    }
  }
  lastUsed.set(s, Date.now());
  return s;
}

/** The counter store of a plugin instance: the shared client of its config, looked up per request. */
export function redisCounters(config: RedisConfig): CounterStore {
  const key = JSON.stringify(config);
  redisStoreFor(config, key); // connect now, before the first request
  return { consume: (checks) => redisStoreFor(config, key).consume(checks) };
}

/** Closes every Redis client (shutdown, tests). */
export async function closeRedisStores(): Promise<void> {
  const all = [...stores.values()];
  stores.clear();
  lastUsed.clear();
  if (sweeper !== null) clearInterval(sweeper);
  sweeper = null;
  await Promise.all(all.map((s) => s.close()));
}
