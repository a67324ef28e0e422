// The data plane's balancers: one per upstream of a snapshot, looked up by upstream name
// (a service whose host is an upstream name is balanced over that upstream's targets).
//
// Proxy usage per request: `peer = bal.pick(ctx, tried)`; null → 503 "failure to get a peer from
// the ring-balancer". After the attempt: `bal.report(peer.id, { status } | { error: 'tcp'|'timeout' })`
// and `bal.release?.(peer.id)` (also for an attempt that is retried). `peer.setCookie` → add a
// Set-Cookie response header. Target names resolve asynchronously: await `ready()` before swapping
// in a new config, or early requests to DNS-only upstreams get null.
import { canonicalJson, type Row, type Snapshot } from '../../shared/snapshot.js';
import { UpstreamBalancer } from './upstream.js';
import type { BalancerLog, HealthRow } from './types.js';

export type { Balancer, BalancerLog, HealthRow, HealthState, Outcome, Peer } from './types.js';
export { UpstreamBalancer } from './upstream.js';

export interface BalancersOptions {
  /** DNS re-resolution period for target names, ms (default 30 s). */
  dnsRefreshMs?: number;
  /**
   * The balancers of the config being replaced: upstreams whose row and targets are unchanged are
   * taken over with their health state, DNS results and timers (Kong keeps health across unrelated
   * config changes). Call previous.close() afterwards; it closes only what was not taken over.
   */
  previous?: Balancers;
}

export class Balancers {
  private readonly byName = new Map<string, UpstreamBalancer>();
  private readonly keys = new Map<string, string>();

  constructor(snapshot: Snapshot, log: BalancerLog, opts: BalancersOptions = {}) {
    const dnsRefreshMs = opts.dnsRefreshMs ?? 30_000;
    const targetsOf = new Map<string, Row[]>();
    for (const t of snapshot.targets ?? []) {
      const uid = t.upstream?.id;
      if (uid === undefined || uid === null) continue;
      let l = targetsOf.get(uid);
      if (!l) targetsOf.set(uid, (l = []));
      l.push(t);
    }
    for (const u of snapshot.upstreams ?? []) {
      const rows = targetsOf.get(u.id) ?? [];
      const name = String(u.name);
      const key = canonicalJson({ u, t: [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) });
      const b = opts.previous?.takeOver(name, key) ?? new UpstreamBalancer(u, rows, log, { dnsRefreshMs });
      this.byName.set(name, b);
      this.keys.set(name, key);
    }
  }

  get(upstreamName: string): UpstreamBalancer | undefined {
    return this.byName.get(upstreamName) ?? this.byName.get(upstreamName.toLowerCase());
  }

  /** Resolves when every target name had its first DNS answer (or failure). */
  async ready(): Promise<void> {
    await Promise.all([...this.byName.values()].map((b) => b.ready));
  }

  /** Per-address health of an upstream, for GET /upstreams/{u}/health; undefined if no such upstream. */
  health(upstreamName: string): HealthRow[] | undefined {
    return this.get(upstreamName)?.health();
  }

  close(): void {
    for (const b of this.byName.values()) b.close();
    this.byName.clear();
    this.keys.clear();
  }

  private takeOver(name: string, key: string): UpstreamBalancer | undefined {
    const b = this.byName.get(name);
    if (!b || this.keys.get(name) !== key) return undefined;
    this.byName.delete(name);
    this.keys.delete(name);
    return b;
  }
}
