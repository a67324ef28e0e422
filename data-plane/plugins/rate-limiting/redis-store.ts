// policy redis: counters shared by every data plane. One Lua script checks every period and, only
// when none is exceeded, increments them all — atomically, in one round trip, so N data planes with
// any number of concurrent clients admit exactly the limit. ioredis auto-pipelining batches the
// script calls of concurrent requests into shared writes.
//
// Topologies: a single server, Sentinel (the master named `sentinel_master`), or Cluster (keys carry
// a hash tag, so one request's keys live in one slot). Failure never hangs a request: while the
// connection is down commands fail at once (no offline queue), a command that gets no answer fails
// after `timeout`, and the client reconnects by itself.
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

// KEYS: per period i, KEYS[2i-1] = current window counter, KEYS[2i] = previous window counter.
// ARGV[1] = number of periods; per period i: ARGV[3i-1] limit, ARGV[3i] weight of the previous
// window (0 = fixed window, not read), ARGV[3i+1] counter lifetime in ms.
// Returns {blocked, cur1, prev1, cur2, prev2, ...}; cur includes this request when admitted.
const CONSUME_LUA = `
local n = tonumber(ARGV[1])
local out = {0}
local blocked = 0
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 1])
  local weight = tonumber(ARGV[3 * i])
  local c = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local p = 0
  if weight > 0 then p = tonumber(redis.call('GET', KEYS[2 * i]) or '0') end
  if p * weight + c + 1 > limit then blocked = 1 end
  out[2 * i] = c
  out[2 * i + 1] = p
end
if blocked == 0 then
  for i = 1, n do
    local c = redis.call('INCR', KEYS[2 * i - 1])
    if c == 1 then redis.call('PEXPIRE', KEYS[2 * i - 1], ARGV[3 * i + 1]) end
    out[2 * i] = c
  end
end
out[1] = blocked
return out
`;

type Consume = (...keysThenArgs: (string | number)[]) => Promise<number[]>;
type Client = (Redis | Cluster) & Record<string, Consume>;

export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

// One command per number of periods, each with its key count fixed: the call then starts with its
// first key, which ioredis's Cluster auto-pipelining needs to group commands by slot (with a
// leading key count it takes that number for the key and mixes slots in one pipeline).
const SCRIPTS: Record<string, { lua: string; numberOfKeys: number }> = {};
const COMMAND_FOR: string[] = [];
for (let n = 1; n <= 6; n++) {
  COMMAND_FOR[n] = `rlConsume${n}`;
  SCRIPTS[COMMAND_FOR[n]] = { lua: CONSUME_LUA, numberOfKeys: 2 * n };
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
    enableAutoPipelining: true,
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
      enableAutoPipelining: true,
      clusterRetryStrategy: retry,
      maxRedirections: c.cluster_max_redirections ?? 5,
      slotsRefreshTimeout: timeout,
      scripts: SCRIPTS,
    };
    return new Cluster(
      c.cluster_nodes.map((n) => ({ host: n.ip, port: n.port })),
      opts,
    ) as Client;
  }
  const opts: RedisOptions = { ...common, enableOfflineQueue: false, retryStrategy: retry, scripts: SCRIPTS };
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
  return new Redis(opts) as Client;
}

export class RedisStore implements CounterStore {
  readonly client: Client;
  private readonly timeout: number;
  private everReady = false;
  private firstWaitFailed = false;
  /** The last connection error (for logs/tests); cleared when ready. */
  lastError: Error | null = null;

  constructor(config: RedisConfig) {
    this.timeout = config.timeout ?? 2000;
    this.client = createClient(config);
    const where = config.cluster_nodes?.length ? 'cluster' : config.sentinel_nodes?.length ? `sentinel ${config.sentinel_master}` : `${config.host}:${config.port}`;
    this.client.on('error', (err: Error) => {
      this.lastError = err;
      logThrottled('warn', `redis-error:${where}`, { redis: where, error: err.message }, 'rate-limiting: redis connection error');
    });
    this.client.on('ready', () => {
      if (this.everReady) logThrottled('info', `redis-ready:${where}`, { redis: where }, 'rate-limiting: redis connection back');
      this.everReady = true;
      this.lastError = null;
    });
  }

  /**
   * Until the first connection is up, requests wait for it (at most `timeout`: a data plane that
   * just started does not skip its limits). Once it was up, or that first wait failed, requests
   * fail at once while Redis is unreachable.
   */
  private waitReady(): Promise<void> {
    if (this.everReady || this.firstWaitFailed) return Promise.reject(new RedisUnavailableError(`redis not connected (${this.client.status})`));
    return new Promise((resolve, reject) => {
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
  }

  consume(checks: PeriodCheck[]): Promise<Outcome> {
    if (this.client.status !== 'ready') return this.waitReady().then(() => this.run(checks));
    return this.run(checks);
  }

  private async run(checks: PeriodCheck[]): Promise<Outcome> {
    const n = checks.length;
    const args: (string | number)[] = new Array(2 * n + 1 + 3 * n);
    // KEYS, then ARGV (n first)
    for (let i = 0; i < n; i++) {
      args[2 * i] = checks[i].key;
      args[2 * i + 1] = checks[i].prevKey;
    }
    const a = 2 * n;
    args[a] = n;
    for (let i = 0; i < n; i++) {
      args[a + 3 * i + 1] = checks[i].limit;
      args[a + 3 * i + 2] = checks[i].weight;
      args[a + 3 * i + 3] = checks[i].ttlMs;
    }
    const r = await this.client[COMMAND_FOR[n]](...args);
    const current = new Array<number>(n);
    const previous = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      current[i] = Number(r[2 * i + 1]);
      previous[i] = Number(r[2 * i + 2]);
    }
    return { blocked: Number(r[0]) === 1, current, previous };
  }

  close(): Promise<void> {
    return this.client.quit().then(
      () => undefined,
      () => void this.client.disconnect(),
    );
  }
}

/** One client per distinct connection config, kept across config pushes (connections stay open). */
const stores = new Map<string, RedisStore>();

export function redisStoreFor(config: RedisConfig): RedisStore {
  const key = JSON.stringify(config);
  let s = stores.get(key);
  if (s === undefined) {
    s = new RedisStore(config);
    stores.set(key, s);
  }
  return s;
}

/** Closes every Redis client (shutdown, tests). */
export async function closeRedisStores(): Promise<void> {
  const all = [...stores.values()];
  stores.clear();
  await Promise.all(all.map((s) => s.close()));
}
