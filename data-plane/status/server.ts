// The data plane's status listener: what a load balancer health-checks (/status/ready), what an
// operator reads (/status) and what Prometheus scrapes (/metrics). Loopback by default.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface NodeState {
  /** A config is loaded (from the CP, the cache file or a declarative file). */
  configured: boolean;
  draining: boolean;
  configHash: string;
  configVersion: number;
  controlPlane?: { connected: boolean; lastError: string | null };
}

export interface StatusServerOptions {
  host: string;
  port: number;
  version: string;
  state: () => NodeState;
  connections: () => Record<string, number>;
  registry: Registry;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export async function startStatusServer(opts: StatusServerOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, type = JSON_TYPE) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), Server: `silverback/${opts.version}` });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { message: 'Method not allowed' });
    const s = opts.state();
    if (url === '/status/ready') {
      if (s.draining) return send(503, { message: 'draining' });
      if (!s.configured) return send(503, { message: 'no configuration available (empty configuration present)' });
      return send(200, { message: 'ready' });
    }
    if (url === '/status') {
      const mem = process.memoryUsage();
      return send(200, {
        configuration_hash: s.configHash,
        config_version: s.configVersion,
        control_plane: s.controlPlane ?? null,
        ready: s.configured && !s.draining,
        memory: { rss: mem.rss, heap_used: mem.heapUsed, heap_total: mem.heapTotal },
        server: opts.connections(),
      });
    }
    if (url === '/metrics') {
      opts.registry
        .metrics()
        .then((text) => send(200, text, opts.registry.contentType))
        .catch(() => send(500, { message: 'An unexpected error occurred' }));
      return;
    }
    send(404, { message: 'Not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections(); // status probes hold keep-alive sockets; nothing here is worth waiting for
      }),
  };
}
