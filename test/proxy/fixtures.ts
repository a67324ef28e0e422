// Snapshot builders and a started proxy for the proxy tests (real sockets, random ports).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { emptySnapshot, type Row, type Snapshot } from '../../shared/snapshot.js';
import { createProxy, type Proxy, type ProxyConfig } from '../../data-plane/proxy/index.js';
import type { PluginRegistry } from '../../data-plane/runtime.js';

export function service(f: Record<string, unknown> = {}): Row {
  return {
    id: randomUUID(), name: null, protocol: 'http', host: '127.0.0.1', port: 80, path: null, retries: 5,
    connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null,
    client_certificate: null, tls_verify: null, tls_verify_depth: null, ca_certificates: null,
    created_at: 1, updated_at: 1, ...f,
  };
}

export function route(f: Record<string, unknown> = {}): Row {
  return {
    id: randomUUID(), name: null, protocols: ['http', 'https'], methods: null, hosts: null, paths: null, headers: null,
    snis: null, sources: null, destinations: null, strip_path: true, preserve_host: false, regex_priority: 0,
    path_handling: 'v0', https_redirect_status_code: 426, request_buffering: true, response_buffering: true,
    tags: null, service: null, created_at: 1, updated_at: 1, ...f,
  };
}

export function plugin(name: string, f: Record<string, unknown> = {}): Row {
  return { id: randomUUID(), name, config: {}, enabled: true, protocols: ['grpc', 'grpcs', 'http', 'https'], route: null, service: null, consumer: null, tags: null, created_at: 1, ...f };
}

export function snapshot(parts: Partial<Record<keyof Snapshot, Row[]>>): Snapshot {
  const s = emptySnapshot();
  Object.assign(s, parts);
  s.version = 1;
  s.hash = 'ffffffffffffffffffffffffffffffff';
  return s;
}

export const silentLog = { info() {}, warn() {}, error() {}, debug() {} };

export const defaultConfig: ProxyConfig = {
  trusted_ips: [], real_ip_header: 'X-Real-IP', real_ip_recursive: false, keepalive_timeout: 75000, allow_debug_header: true,
};

export async function startProxy(
  snap: Snapshot,
  opts: { config?: Partial<ProxyConfig>; registry?: PluginRegistry; log?: typeof silentLog } = {},
): Promise<{ proxy: Proxy; url: string; port: number }> {
  const proxy = createProxy({ config: { ...defaultConfig, ...opts.config }, log: opts.log ?? silentLog, registry: opts.registry ?? {} });
  proxy.applySnapshot(snap);
  const { port } = await proxy.listen('127.0.0.1', 0);
  return { proxy, url: `http://127.0.0.1:${port}`, port };
}

export interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json(): any;
}

/** A plain node:http request (own agent per call unless given) so tests control every header. */
export function request(url: string, opts: http.RequestOptions & { body?: string | Buffer } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...opts }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode as number, headers: res.headers, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
