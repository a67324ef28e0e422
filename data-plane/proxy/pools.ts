// undici Pools per upstream origin (+ the connect options that differ per service), kept across
// snapshot swaps so keep-alive connections survive config changes; pools idle for a while close.
import { Pool } from 'undici';
import type { Row } from '../../shared/snapshot.js';

const SWEEP_MS = 5 * 60_000;

export interface PoolEntry {
  pool: Pool;
  used: boolean;
  /** The Host undici sends when a request has none: its origin's host[:port], as URL writes it. */
  hostHeader: string;
}

export class UpstreamPools {
  private readonly pools = new Map<string, PoolEntry>();
  /** Direct (non-balanced) services resolve to their pool by row identity: no key building per request. */
  private byService = new WeakMap<Row, PoolEntry>();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  /** Pool of a service that is not balanced (service.host:port). */
  forService(service: Row, protocol: string, port: number, hostHeader: string): PoolEntry {
    let e = this.byService.get(service);
    if (e === undefined) {
      e = this.entry(protocol, service.host, port, service, hostHeader);
      this.byService.set(service, e);
    }
    e.used = true;
    return e;
  }

  get(protocol: string, host: string, port: number, service: Row, hostHeader: string): PoolEntry {
    const e = this.entry(protocol, host, port, service, hostHeader);
    e.used = true;
    return e;
  }

  private entry(protocol: string, host: string, port: number, service: Row, hostHeader: string): PoolEntry {
    const connectTimeout: number = service.connect_timeout ?? 60_000;
    const tls = protocol === 'https';
    const verify = tls && service.tls_verify === true;
    // the TLS server name follows the Host sent upstream (Kong: upstream SNI = upstream host)
    const servername = tls ? hostHeader.replace(/:\d+$/, '') : '';
    const key = `${protocol}://${host}:${port}|${connectTimeout}|${verify ? 1 : 0}|${servername}`;
    let e = this.pools.get(key);
    if (e === undefined) {
      const ipv6 = host.includes(':') && !host.startsWith('[');
      const origin = `${protocol}://${ipv6 ? `[${host}]` : host}:${port}`;
      const url = new URL(origin);
      const sniOk = servername !== '' && !/^[\d.]+$|:/.test(servername);
      e = {
        pool: new Pool(origin, {
          connections: null,
          pipelining: 1,
          keepAliveTimeout: 60_000,
          keepAliveMaxTimeout: 600_000,
          connect: { timeout: connectTimeout, ...(tls ? { rejectUnauthorized: verify, ...(sniOk ? { servername } : {}) } : {}) },
        }),
        used: true,
        hostHeader: url.port ? `${url.hostname}:${url.port}` : url.hostname,
      };
      this.pools.set(key, e);
    }
    return e;
  }

  private sweep(): void {
    for (const [key, e] of this.pools) {
      if (!e.used) {
        this.pools.delete(key);
        e.pool.close().catch(() => {});
      }
      e.used = false;
    }
    this.byService = new WeakMap();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    const all = [...this.pools.values()];
    this.pools.clear();
    this.byService = new WeakMap();
    await Promise.all(all.map((e) => e.pool.destroy().catch(() => {})));
  }
}
