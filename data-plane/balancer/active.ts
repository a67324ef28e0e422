// Active health checks: every healthy.interval the healthy addresses are probed, every
// unhealthy.interval the unhealthy ones (an interval of 0 disables that half, like Kong).
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, isIP, type Socket } from 'node:net';
import type { HealthConfig, Kind } from './health.js';
import type { Address } from './types.js';

type Active = HealthConfig['active'];

export class ActiveChecker {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly busy = { healthy: false, unhealthy: false };
  private readonly inflight = new Set<ClientRequest | Socket>();
  private stopped = false;

  constructor(
    private readonly cfg: Active,
    /** Current addresses (read at each round: DNS may have changed them). */
    private readonly addresses: () => Address[],
    /** Host header / SNI name for an address. */
    private readonly hostOf: (a: Address) => string,
    private readonly onResult: (a: Address, kind: Kind) => void,
  ) {}

  start(): void {
    if (this.cfg.healthyIntervalMs > 0) this.every(this.cfg.healthyIntervalMs, true);
    if (this.cfg.unhealthyIntervalMs > 0) this.every(this.cfg.unhealthyIntervalMs, false);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    for (const r of this.inflight) r.destroy();
    this.inflight.clear();
  }

  private every(ms: number, healthy: boolean): void {
    const t = setInterval(() => void this.round(healthy), ms);
    t.unref();
    this.timers.push(t);
  }

  /** Probes the addresses in one health state, `concurrency` at a time; skips if the last round still runs. */
  private async round(healthy: boolean): Promise<void> {
    const flag = healthy ? 'healthy' : 'unhealthy';
    if (this.busy[flag] || this.stopped) return;
    this.busy[flag] = true;
    try {
      const todo = this.addresses().filter((a) => a.healthy === healthy);
      let i = 0;
      const worker = async () => {
        while (i < todo.length && !this.stopped) {
          const a = todo[i++]!;
          const kind = await this.probe(a);
          // The address may have left the rotation (DNS change, close) while the probe ran.
          if (!this.stopped && kind !== 'ignore') this.onResult(a, kind);
        }
      };
      const workers: Promise<void>[] = [];
      for (let w = 0; w < Math.min(this.cfg.concurrency, todo.length); w++) workers.push(worker());
      await Promise.all(workers);
    } finally {
      this.busy[flag] = false;
    }
  }

  probe(a: Address): Promise<Kind> {
    const type = this.cfg.type;
    // gRPC health protocol probes are not implemented: grpc(s) targets get a TCP connect check.
    if (type === 'tcp' || type === 'grpc' || type === 'grpcs') return this.probeTcp(a);
    return this.probeHttp(a, type === 'https');
  }

  private probeTcp(a: Address): Promise<Kind> {
    return new Promise((resolve) => {
      const s = connect({ host: a.ip, port: a.port });
      this.inflight.add(s);
      const done = (k: Kind) => {
        clearTimeout(timer);
        this.inflight.delete(s);
        s.destroy();
        resolve(k);
      };
      const timer = setTimeout(() => done('timeout'), this.cfg.timeoutMs);
      timer.unref();
      s.once('connect', () => done('success'));
      s.once('error', () => done('tcp'));
      s.once('close', () => done('tcp'));
    });
  }

  private probeHttp(a: Address, tls: boolean): Promise<Kind> {
    return new Promise((resolve) => {
      const host = this.hostOf(a);
      const headers: Record<string, string | string[]> = { host: `${host}:${a.port}`, 'user-agent': 'silverback-healthcheck', connection: 'close' };
      for (const [k, v] of Object.entries(this.cfg.headers)) headers[k.toLowerCase()] = v;
      let settled = false;
      const done = (k: Kind) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inflight.delete(req);
        req.destroy();
        resolve(k);
      };
      const opts = {
        host: a.ip,
        port: a.port,
        method: 'GET',
        path: this.cfg.httpPath,
        headers,
        agent: false as const,
      };
      const sni = this.cfg.httpsSni ?? (isIP(host) ? undefined : host);
      const req = tls
        ? httpsRequest({ ...opts, servername: sni, rejectUnauthorized: this.cfg.verifyCertificate })
        : httpRequest(opts);
      this.inflight.add(req);
      const timer = setTimeout(() => done('timeout'), this.cfg.timeoutMs);
      timer.unref();
      req.once('response', (res) => {
        res.resume();
        done(this.cfg.statuses.kind(res.statusCode ?? 0));
      });
      req.once('error', () => done('tcp'));
      req.end();
    });
  }
}
