// Shared test fixtures: Kong-shaped upstream/target rows (through the real entity schemas),
// snapshots, request contexts, real target HTTP servers and a recording logger.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prepareInsert, present } from '../../shared/schema/entity.js';
import { targets as targetSchema, upstreams as upstreamSchema } from '../../shared/schema/entities/index.js';
import { emptySnapshot, type Row, type Snapshot } from '../../shared/snapshot.js';
import type { RequestContext } from '../../data-plane/plugins/types.js';

export function upstream(input: Row): Row {
  return present(upstreamSchema, prepareInsert(upstreamSchema, input));
}

let clock = 1_700_000_000_000;
export function target(up: Row, t: string, weight = 100, createdAt = clock++): Row {
  return present(targetSchema, prepareInsert(targetSchema, { upstream: { id: up.id }, target: t, weight }, createdAt));
}

export function snapshot(upstreams: Row[], targets: Row[]): Snapshot {
  const s = emptySnapshot();
  s.upstreams = upstreams;
  s.targets = targets;
  return s;
}

export function ctx(p: Partial<{ headers: Record<string, string | string[]>; clientIp: string; path: string; query: string; uriCaptures: Record<string, string>; consumer: Row | null; credential: Row | null }> = {}): RequestContext {
  return {
    req: { headers: p.headers ?? {} },
    clientIp: p.clientIp ?? '10.0.0.1',
    path: p.path ?? '/',
    query: p.query ?? '',
    uriCaptures: p.uriCaptures ?? {},
    consumer: p.consumer ?? null,
    credential: p.credential ?? null,
  } as unknown as RequestContext;
}

export interface TargetServer {
  port: number;
  /** Status the server answers with from now on; 'hang' never answers. */
  status: number | 'hang';
  hits: number;
  paths: string[];
  hosts: string[];
  headers: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function targetServer(status: number | 'hang' = 200): Promise<TargetServer> {
  const ts = { status, hits: 0, paths: [] as string[], hosts: [] as string[], headers: [] as Record<string, unknown>[] } as TargetServer;
  const server: Server = createServer((req, res) => {
    ts.hits++;
    ts.paths.push(req.url ?? '');
    ts.hosts.push(String(req.headers.host));
    ts.headers.push(req.headers);
    if (ts.status === 'hang') return;
    res.writeHead(ts.status, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ts.port = (server.address() as AddressInfo).port;
  ts.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return ts;
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export type LogEntry = { level: string; obj: unknown; msg: string };
export function recordingLog() {
  const entries: LogEntry[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => void entries.push({ level, obj, msg: msg ?? String(obj) });
  return { entries, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

export async function waitFor(cond: () => boolean, timeoutMs = 5000, stepMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts how often each target (by its `host:port`) is picked over n picks. */
export function tally(pick: () => { host: string; port: number } | null, n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const p = pick();
    const k = p ? `${p.host}:${p.port}` : 'null';
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}
