// Shared pieces of the process-level cluster tests: start a control plane on a test database and
// data planes pointed at it, talk to the Admin API, read a data plane's /status, and wait until a
// data plane serves a given answer.
import { request as httpRequest, Agent } from 'node:http';
import { startSilverback, waitFor, type SilverbackProcess, type StartOptions } from '../helpers/processes.js';
import type { TestDatabase } from '../helpers/postgres.js';

export interface ClusterEnv {
  /** SILVERBACK_* TLS settings shared by the control plane and its data planes. */
  env: Record<string, string>;
}

export function startControlPlane(db: TestDatabase, tls: ClusterEnv, extra: StartOptions = {}): Promise<SilverbackProcess> {
  return startSilverback({
    ...extra,
    database: db,
    args: ['--role', 'control_plane'],
    env: { ...tls.env, ...(extra.env ?? {}) },
  });
}

export function startDataPlane(cpAddr: string, tls: ClusterEnv, extra: StartOptions = {}): Promise<SilverbackProcess> {
  return startSilverback({
    ...extra,
    args: ['--role', 'data_plane'],
    env: { SILVERBACK_CLUSTER_CONTROL_PLANE: cpAddr, SILVERBACK_DATABASE: 'off', ...tls.env, ...(extra.env ?? {}) },
  });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

/** One plain HTTP/1.1 request (own connection unless an agent is given), bounded in time. */
export function call(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; agent?: Agent; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (payload !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const req = httpRequest(url, { method: init.method ?? 'GET', headers, agent: init.agent ?? false, timeout: init.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Admin API call that must succeed (2xx); returns the parsed body (null for 204). */
export async function admin(cp: SilverbackProcess, method: string, path: string, body?: unknown): Promise<any> {
  const res = await call(`${cp.adminUrl}${path}`, { method, body });
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${res.body}`);
  return res.body ? res.json() : null;
}

export interface DpStatus {
  configuration_hash: string;
  config_version: number;
  control_plane: { connected: boolean; lastError: string | null } | null;
  ready: boolean;
  memory: { rss: number; heap_used: number; heap_total: number };
}

export async function dpStatus(dp: SilverbackProcess): Promise<DpStatus> {
  return (await call(`${dp.statusUrl}/status`)).json() as DpStatus;
}

export async function readyStatus(dp: SilverbackProcess): Promise<number> {
  return (await call(`${dp.statusUrl}/status/ready`)).status;
}

/** Waits until `path` on the data plane's proxy answers and `ok` accepts the answer. */
export function waitServed(dp: SilverbackProcess, path: string, ok: (a: Answer) => boolean, timeoutMs = 10_000): Promise<Answer> {
  return waitFor(async () => {
    const a = await call(`${dp.proxyUrl}${path}`);
    return ok(a) ? a : null;
  }, timeoutMs, 25);
}

/** The log line objects whose message contains `text`. */
export function logsWith(p: SilverbackProcess, text: string): Array<Record<string, unknown>> {
  return p.logLines().filter((l) => typeof l.msg === 'string' && (l.msg as string).includes(text));
}
