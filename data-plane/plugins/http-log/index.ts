// http-log (priority 12): Kong's serialized log record of every request, sent to an HTTP endpoint
// through a batching queue (see queue.ts) over a keep-alive undici pool. One queue per distinct
// config, shared by the plugin instances that have it (Kong's queue id is built from the config too)
// and kept across snapshots so entries waiting during a config change are not lost.
import { Pool } from 'undici';
import type { PluginHandler } from '../types.js';
import { serialize } from '../log-serializer.js';
import { LogQueue, type QueueConfig } from './queue.js';

export interface HttpLogConfig {
  http_endpoint: string;
  method: 'POST' | 'PUT' | 'PATCH';
  content_type: string;
  timeout: number;
  keepalive: number;
  retry_count?: number | null;
  queue_size?: number | null;
  flush_timeout?: number | null;
  headers?: Record<string, string> | null;
  queue: QueueConfig;
  custom_fields_by_lua?: Record<string, string> | null;
}

const queues = new Map<string, LogQueue>();

function endpointOf(conf: HttpLogConfig): { origin: string; path: string; headers: Record<string, string> } {
  const u = new URL(conf.http_endpoint);
  const headers: Record<string, string> = { 'content-type': conf.content_type };
  if (u.username !== '' || u.password !== '') {
    const userinfo = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    headers.authorization = 'Basic ' + Buffer.from(userinfo).toString('base64');
  }
  for (const [k, v] of Object.entries(conf.headers ?? {})) headers[k.toLowerCase()] = v;
  return { origin: u.origin, path: (u.pathname || '/') + u.search, headers };
}

function createQueue(key: string, conf: HttpLogConfig): LogQueue {
  const { origin, path, headers } = endpointOf(conf);
  const pool = new Pool(origin, {
    connections: conf.queue.concurrency_limit === -1 ? 16 : 2,
    connectTimeout: conf.timeout,
    headersTimeout: conf.timeout,
    bodyTimeout: conf.timeout,
    keepAliveTimeout: conf.keepalive,
    keepAliveMaxTimeout: conf.keepalive,
  });
  const q = { ...conf.queue };
  // the deprecated fields win when set, as in Kong 3.x
  if (typeof conf.queue_size === 'number') q.max_batch_size = conf.queue_size;
  if (typeof conf.flush_timeout === 'number') q.max_coalescing_delay = conf.flush_timeout;
  const array = q.max_batch_size > 1;
  const send = async (entries: string[]): Promise<void> => {
    const body = array ? '[' + entries.join(',') + ']' : entries[0];
    const res = await pool.request({ path, method: conf.method, headers, body });
    await res.body.dump();
    if (res.statusCode >= 400) throw new Error(`request to ${origin} returned status code ${res.statusCode}`);
  };
  return new LogQueue(`${conf.method} ${origin}${path}`, q, send);
}

export const httpLog: PluginHandler<HttpLogConfig> = {
  name: 'http-log',
  version: '3.9.0',
  priority: 12,

  init(conf): LogQueue {
    const key = JSON.stringify(conf);
    let q = queues.get(key);
    if (q === undefined) queues.set(key, (q = createQueue(key, conf)));
    return q;
  },

  log(ctx, _conf, queue: LogQueue) {
    queue.add(JSON.stringify(serialize(ctx)));
  },
};

export default httpLog;
