// A scriptable upstream for the proxy-cache tests: each path answers what the test set for it
// (status, headers, body) and counts the requests that reached it.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Reply {
  status?: number;
  headers?: Record<string, string | string[]>;
  /** Default: a JSON body naming the path and the hit number. */
  body?: string;
}

export interface ScriptedUpstream {
  port: number;
  /** Requests per path (without query). */
  hits(path: string): number;
  total(): number;
  set(path: string, reply: Reply): void;
  close(): Promise<void>;
}

export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const replies = new Map<string, Reply>();
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  let total = 0;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    total++;
    req.resume();
    const r = replies.get(path) ?? {};
    const body = r.body ?? JSON.stringify({ path, hit: n, url: req.url });
    res.writeHead(r.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-hit': String(n), ...r.headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits: (p) => counts.get(p) ?? 0,
    total: () => total,
    set: (p, r) => void replies.set(p, r),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
