// The proxy listeners: node:http(s) servers in front of the compiled runtime — accepting, snapshot
// swaps, draining and closing. What happens to each request, phase by phase, is in lifecycle.ts.
import http, { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { emptySnapshot, type Snapshot } from '../../shared/snapshot.js';
import { compileRuntime, type PluginRegistry, type Runtime } from '../runtime.js';
import { handlers as defaultRegistry } from '../plugins/registry.js';
import { createClientIpResolver, type ClientIpResolver } from './client-ip.js';
import { ProxyRequest, ProxyResponse, type ProxyHost } from './context.js';
import { startRequest } from './lifecycle.js';
import { JSON_TYPE } from './respond.js';
import { buildSniTable, ensureDefaultCertificates, type DefaultCert, type SniTable } from './tls.js';
import { UpstreamPools } from './pools.js';
import { SERVER_HEADER } from './version.js';

export interface ProxyConfig {
  trusted_ips: readonly string[];
  real_ip_header: string;
  real_ip_recursive: boolean;
  /** Client keep-alive timeout, ms (default 75 000, above an ALB's 60 s idle timeout). */
  keepalive_timeout?: number;
  allow_debug_header: boolean;
  /** Default certificate/key PEM files for ssl listeners. */
  ssl_cert?: string | null;
  ssl_cert_key?: string | null;
  /** Without ssl_cert, ssl listeners serve a self-signed default certificate kept under <prefix>/ssl. */
  prefix?: string;
}

export interface ProxyLog {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

export interface ProxyOptions {
  config: ProxyConfig;
  log: ProxyLog;
  /** Plugin handlers by name (default: data-plane/plugins/registry.ts). */
  registry?: PluginRegistry;
  /** Structured access log: one record per request, written after the response (null/absent: off). */
  accessLog?: AccessLog | null;
}

export interface AccessLog {
  info(obj: object, msg?: string): void;
}

export interface Proxy {
  /** Start a listener; `tls` true uses config.ssl_cert/ssl_cert_key as the default certificate. */
  listen(host: string, port: number, tls?: boolean | DefaultCert): Promise<{ host: string; port: number }>;
  /** Compile and swap the runtime. Throws (and keeps the current one) when the snapshot cannot be compiled. */
  applySnapshot(snapshot: Snapshot): Runtime;
  readonly runtime: Runtime;
  /** Stop keeping connections alive: every further response carries Connection: close. */
  beginDrain(): void;
  /** The first listener's server (the others are in `servers`). */
  readonly server: http.Server | https.Server | null;
  readonly servers: (http.Server | https.Server)[];
  /** Close the listeners and idle connections now; in-flight requests get up to `drainTimeoutMs`. */
  close(drainTimeoutMs?: number): Promise<void>;
}

class ProxyImpl implements Proxy, ProxyHost {
  runtime: Runtime;
  readonly servers: (http.Server | https.Server)[] = [];
  readonly clientIps: ClientIpResolver;
  readonly pools: UpstreamPools;
  readonly registry: PluginRegistry;
  readonly log: ProxyLog;
  readonly debugHeader: boolean;
  readonly accessLog: AccessLog | null;
  private sniTable: SniTable;
  private readonly keepAliveTimeout: number;
  private readonly sockets = new Set<Socket>();
  private draining = false;

  constructor(readonly opts: ProxyOptions) {
    const c = opts.config;
    this.log = opts.log;
    this.registry = opts.registry ?? defaultRegistry;
    this.clientIps = createClientIpResolver(c.trusted_ips ?? [], c.real_ip_header || 'X-Real-IP', !!c.real_ip_recursive);
    this.debugHeader = !!c.allow_debug_header;
    this.accessLog = opts.accessLog ?? null;
    this.keepAliveTimeout = c.keepalive_timeout ?? 75_000;
    this.pools = new UpstreamPools();
    const empty = emptySnapshot();
    this.runtime = compileRuntime(empty, this.registry, { log: this.log as any });
    this.sniTable = buildSniTable(empty, () => {});
    this.onRequest = this.onRequest.bind(this);
    this.onCheckContinue = this.onCheckContinue.bind(this);
  }

  get server(): http.Server | https.Server | null {
    return this.servers[0] ?? null;
  }

  applySnapshot(snapshot: Snapshot): Runtime {
    const previous = this.runtime;
    const next = compileRuntime(snapshot, this.registry, { log: this.log as any, previous });
    for (const w of next.warnings) this.log.warn({ warning: w }, 'route skipped');
    this.sniTable = buildSniTable(snapshot, (msg) => this.log.error({ error: msg }, 'certificate skipped'));
    this.runtime = next;
    previous.close();
    return next;
  }

  listen(host: string, port: number, tls?: boolean | DefaultCert): Promise<{ host: string; port: number }> {
    let server: http.Server | https.Server;
    const common = {
      ServerResponse: ProxyResponse as typeof ServerResponse,
      requestTimeout: 0, // long uploads/downloads are governed by service timeouts, not a global cap
      headersTimeout: 60_000,
      keepAliveTimeout: this.keepAliveTimeout,
    };
    if (tls) {
      let def: DefaultCert | undefined = typeof tls === 'object' ? tls : undefined;
      const c = this.opts.config;
      if (!def && c.ssl_cert && c.ssl_cert_key) def = { cert: readFileSync(c.ssl_cert), key: readFileSync(c.ssl_cert_key) };
      if (!def && c.prefix) {
        // Kong: an ssl listener without a certificate gets the generated default one
        const gen = ensureDefaultCertificates(c.prefix);
        if (gen.generated) this.log.info({ files: gen.files }, 'generated the default TLS certificate for ssl proxy listeners');
        def = { cert: gen.cert, key: gen.key };
      }
      server = https.createServer(
        {
          ...common,
          ...(def ?? {}),
          SNICallback: (servername, cb) => cb(null, this.sniTable.lookup(servername)),
        },
        this.onRequest,
      );
    } else {
      server = http.createServer(common, this.onRequest);
    }
    server.keepAliveTimeout = this.keepAliveTimeout;
    // Without this listener node sends 100 Continue before any plugin ran (a 417/401 would follow a 100).
    server.on('checkContinue', this.onCheckContinue);
    server.on('clientError', (err: Error & { code?: string }, socket: Socket) => this.onClientError(err, socket));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const a = server.address() as { address: string; port: number };
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  beginDrain(): void {
    this.draining = true;
  }

  async close(drainTimeoutMs = 0): Promise<void> {
    this.draining = true;
    // Stop accepting and drop idle keep-alive connections at once; requests in flight finish (their
    // responses carry Connection: close) until the drain timeout cuts what is left.
    const closed = Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          }),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)))]);
    clearTimeout(timer);
    for (const s of this.sockets) s.destroy();
    this.runtime.close();
    await this.pools.close();
  }

  private onClientError(err: Error & { code?: string }, socket: Socket): void {
    if (!socket.writable || (socket as any)._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const code = err.code;
    const [status, reason] =
      code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
    const body = JSON.stringify({ message: reason });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nServer: ${SERVER_HEADER}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    socket.destroySoon?.();
  }

  // ---- request lifecycle ----

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.draining) res.shouldKeepAlive = false;
    startRequest(new ProxyRequest(this, this.runtime, req, res as ProxyResponse));
  }

  /**
   * `Expect: 100-continue`: the 100 goes out only once the body is going to be read (continueBody).
   * A final answer without a 100 makes node close the connection (the client never sends the body).
   */
  onCheckContinue(req: IncomingMessage, res: ServerResponse): void {
    if (this.draining) res.shouldKeepAlive = false;
    const ctx = new ProxyRequest(this, this.runtime, req, res as ProxyResponse);
    ctx.awaitingContinue = true;
    startRequest(ctx);
  }
}

export function createProxy(opts: ProxyOptions): Proxy {
  return new ProxyImpl(opts);
}

export type { DefaultCert } from './tls.js';
