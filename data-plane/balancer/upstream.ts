// One upstream's balancer: its targets' addresses (DNS-resolved), the algorithm, and health.
import type { Row } from '../../shared/snapshot.js';
import type { RequestContext } from '../plugins/types.js';
import { ActiveChecker } from './active.js';
import { HashKey } from './hash.js';
import { healthConfig, record, resetCounters, type HealthConfig, type Kind, type Limits } from './health.js';
import { HashRing, LeastConnections, pickRoundRobin } from './pickers.js';
import { currentTargets, formatAddress, resolveAll, type TargetSpec } from './targets.js';
import type { Address, Balancer, BalancerLog, HealthRow, Outcome, Peer } from './types.js';

export interface UpstreamOptions {
  /** How often DNS names are resolved again (ms). */
  dnsRefreshMs: number;
}

type TargetState = TargetSpec & {
  /** Empty while the name has not resolved: the target gets no traffic (DNS_ERROR). */
  addresses: Address[];
  /** The current DNS failure was already logged. */
  dnsLogged: boolean;
};

export class UpstreamBalancer implements Balancer {
  readonly name: string;
  readonly hostHeader: string | null;
  /** Resolves once every DNS name had its first lookup. */
  readonly ready: Promise<void>;

  private readonly algorithm: 'round-robin' | 'consistent-hashing' | 'least-connections';
  private readonly hc: HealthConfig;
  private readonly hashKey: HashKey | null;
  private readonly lc = new LeastConnections();
  private readonly targets: TargetState[];
  private readonly slots: number;
  private list: Address[] = [];
  private byId = new Map<string, Address>();
  private ring: HashRing | null = null;
  private healthyCount = 0;
  private healthyWeight = 0;
  private totalWeight = 0;
  private checker: ActiveChecker | null = null;
  private dnsTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly upstream: Row,
    targetRows: Row[],
    private readonly log: BalancerLog,
    opts: UpstreamOptions,
  ) {
    this.name = String(upstream.name);
    this.hostHeader = upstream.host_header ?? null;
    this.hc = healthConfig(upstream);
    this.slots = Number(upstream.slots ?? 10000);
    const algo = String(upstream.algorithm ?? 'round-robin');
    if (algo === 'latency') {
      // Kong's 'latency' (EWMA of response times) needs per-request timings we do not collect yet.
      log.info({ upstream: this.name }, "algorithm 'latency' is served by least-connections");
    }
    this.algorithm = algo === 'consistent-hashing' ? 'consistent-hashing' : algo === 'round-robin' ? 'round-robin' : 'least-connections';
    this.hashKey = this.algorithm === 'consistent-hashing' ? new HashKey(upstream) : null;

    this.targets = currentTargets(targetRows).map((t) => ({
      ...t,
      addresses: t.isIp ? [this.makeAddress(t, t.host)] : [],
      dnsLogged: false,
    }));
    this.rebuild();

    const names = this.targets.filter((t) => !t.isIp);
    this.ready = names.length ? Promise.all(names.map((t) => this.resolve(t))).then(() => this.rebuild()) : Promise.resolve();
    if (names.length) {
      this.dnsTimer = setInterval(() => void this.refreshDns(), opts.dnsRefreshMs);
      this.dnsTimer.unref();
    }
    const a = this.hc.active;
    if (a.healthyIntervalMs > 0 || a.unhealthyIntervalMs > 0) {
      this.checker = new ActiveChecker(a, () => this.list, (ad) => this.hostFor(ad), (ad, kind) => this.observe(ad, kind, a.limits, 'active'));
      this.checker.start();
    }
  }

  pick(ctx: RequestContext, tried?: Set<string>): Peer | null {
    if (this.healthyCount === 0) return null;
    if (this.hc.threshold > 0 && this.healthyWeight * 100 < this.hc.threshold * this.totalWeight) return null;
    let a: Address | null;
    if (this.algorithm === 'round-robin') {
      a = pickRoundRobin(this.list, tried);
    } else if (this.algorithm === 'least-connections') {
      a = this.lc.pick(this.list, tried);
    } else {
      const key = this.hashKey!.get(ctx);
      a = key === undefined ? pickRoundRobin(this.list, tried) : this.ring!.pick(key, tried);
      const cookie = this.hashKey!.cookie;
      if (a !== null && cookie !== undefined) return { ...a.peer, setCookie: cookie };
    }
    return a === null ? null : a.peer;
  }

  report(id: string, outcome: Outcome): void {
    const p = this.hc.passive;
    if (!p.enabled) return;
    const kind: Kind =
      outcome.error === 'tcp' ? 'tcp' : outcome.error === 'timeout' ? 'timeout' : outcome.status !== undefined ? p.statuses.kind(outcome.status) : 'ignore';
    if (kind === 'ignore') return;
    const a = this.byId.get(id);
    if (a !== undefined) return this.observe(a, kind, p.limits, 'passive');
    for (const ad of this.list) if (ad.targetId === id) this.observe(ad, kind, p.limits, 'passive');
  }

  release(id: string): void {
    const a = this.byId.get(id);
    if (a !== undefined && a.inflight > 0) a.inflight--;
  }

  /** Manual override (Kong's PUT /upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy). */
  setHealthy(id: string, healthy: boolean): boolean {
    const hit = this.byId.has(id) ? [this.byId.get(id)!] : this.list.filter((a) => a.targetId === id);
    for (const a of hit) {
      resetCounters(a);
      this.setState(a, healthy, 'manual');
    }
    return hit.length > 0;
  }

  health(): HealthRow[] {
    const rows: HealthRow[] = [];
    for (const t of this.targets) {
      if (t.addresses.length === 0) {
        rows.push({ id: t.id, target: t.target, address: null, weight: t.weight, health: 'DNS_ERROR' });
        continue;
      }
      for (const a of t.addresses) {
        const health = this.hc.off ? 'HEALTHCHECKS_OFF' : a.healthy ? 'HEALTHY' : 'UNHEALTHY';
        rows.push({ id: t.id, target: t.target, address: formatAddress(a.ip, a.port), weight: a.weight, health });
      }
    }
    return rows;
  }

  close(): void {
    this.closed = true;
    this.checker?.stop();
    this.checker = null;
    if (this.dnsTimer) clearInterval(this.dnsTimer);
    this.dnsTimer = null;
  }

  private observe(a: Address, kind: Kind, limits: Limits, source: 'active' | 'passive'): void {
    if (this.byId.get(a.id) !== a) return; // no longer in rotation
    const changed = record(a, kind, limits);
    if (changed !== null) this.setState(a, changed, `${source} ${kind === 'success' ? 'successes' : kind === 'http' ? 'http failures' : kind === 'tcp' ? 'tcp failures' : 'timeouts'}`);
  }

  private setState(a: Address, healthy: boolean, why: string): void {
    if (a.healthy === healthy) return;
    a.healthy = healthy;
    this.healthyCount += healthy ? 1 : -1;
    this.healthyWeight += healthy ? a.weight : -a.weight;
    const msg = `target ${a.target} (${formatAddress(a.ip, a.port)}) of upstream ${this.name} is ${healthy ? 'healthy' : 'unhealthy'}`;
    (healthy ? this.log.info : this.log.warn).call(this.log, { upstream: this.name, target: a.target, reason: why }, msg);
  }

  private makeAddress(t: TargetSpec, ip: string): Address {
    const id = `${t.id}|${ip}`;
    const a: Address = {
      id,
      targetId: t.id,
      target: t.target,
      ip,
      port: t.port,
      weight: t.weight,
      ringKey: `${t.target}|${ip}`,
      peer: { id, host: ip, port: t.port, hostHeader: this.hostHeader ?? t.host },
      healthy: true,
      successes: 0,
      httpFailures: 0,
      tcpFailures: 0,
      timeouts: 0,
      inflight: 0,
      lastPicked: 0,
      current: 0,
    };
    return a;
  }

  private hostFor(a: Address): string {
    if (this.hostHeader) return this.hostHeader;
    return a.peer.hostHeader ?? a.ip;
  }

  /** Recomputes the flat address list, id index, health sums and the hash ring. */
  private rebuild(): void {
    const list: Address[] = [];
    for (const t of this.targets) for (const a of t.addresses) list.push(a);
    this.list = list;
    this.byId = new Map(list.map((a) => [a.id, a]));
    this.healthyCount = 0;
    this.healthyWeight = 0;
    this.totalWeight = 0;
    for (const a of list) {
      this.totalWeight += a.weight;
      if (a.healthy) {
        this.healthyCount++;
        this.healthyWeight += a.weight;
      }
    }
    if (this.algorithm === 'consistent-hashing') this.ring = new HashRing(list, this.slots);
  }

  /** Looks a name up; keeps the previous addresses if a refresh fails (stale beats nothing). Returns whether addresses changed. */
  private async resolve(t: TargetState): Promise<boolean> {
    let ips: string[];
    try {
      ips = await resolveAll(t.host);
    } catch (err: any) {
      if (this.closed) return false;
      if (!t.dnsLogged) {
        t.dnsLogged = true;
        this.log.error({ upstream: this.name, target: t.target, code: err?.code }, `name resolution failed for target ${t.target} of upstream ${this.name}: ${err?.message ?? err}`);
      }
      return false;
    }
    if (this.closed) return false;
    if (t.dnsLogged) this.log.info({ upstream: this.name, target: t.target }, `name resolution for target ${t.target} recovered`);
    t.dnsLogged = false;
    const old = t.addresses;
    if (old.length === ips.length && old.every((a, i) => a.ip === ips[i])) return false;
    // Addresses that stay keep their health state and counters.
    const keep = new Map(old.map((a) => [a.ip, a]));
    t.addresses = ips.map((ip) => keep.get(ip) ?? this.makeAddress(t, ip));
    return true;
  }

  private async refreshDns(): Promise<void> {
    const results = await Promise.all(this.targets.filter((t) => !t.isIp).map((t) => this.resolve(t)));
    if (!this.closed && results.some(Boolean)) this.rebuild();
  }
}
