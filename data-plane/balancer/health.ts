// Health counters of one address, with Kong's rules (lua-resty-healthcheck):
//  - a "healthy" status increments successes and clears the failure counters;
//  - a TCP error / timeout / "unhealthy" status increments its counter and clears successes;
//  - a failure counter reaching its threshold marks the address unhealthy, successes reaching
//    theirs mark it healthy; a threshold of 0 never fires. Counters restart on each transition.
import type { Row } from '../../shared/snapshot.js';
import type { Address } from './types.js';

export type Kind = 'success' | 'http' | 'tcp' | 'timeout' | 'ignore';

export interface Limits {
  successes: number;
  httpFailures: number;
  tcpFailures: number;
  timeouts: number;
}

/** Status-code classifier: a 1000-entry table, so lookups on the request path are one array read. */
export class StatusTable {
  private readonly t = new Uint8Array(1000);
  constructor(healthy: number[] | null | undefined, unhealthy: number[] | null | undefined) {
    for (const s of healthy ?? []) if (s >= 0 && s < 1000) this.t[s] = 1;
    for (const s of unhealthy ?? []) if (s >= 0 && s < 1000) this.t[s] = 2;
  }
  kind(status: number): Kind {
    const k = status >= 0 && status < 1000 ? this.t[status] : 0;
    return k === 1 ? 'success' : k === 2 ? 'http' : 'ignore';
  }
}

export interface HealthConfig {
  active: {
    type: string;
    timeoutMs: number;
    concurrency: number;
    httpPath: string;
    httpsSni: string | null;
    verifyCertificate: boolean;
    headers: Record<string, string[]>;
    healthyIntervalMs: number;
    unhealthyIntervalMs: number;
    statuses: StatusTable;
    limits: Limits;
  };
  passive: { statuses: StatusTable; limits: Limits; enabled: boolean };
  /** Percentage of total weight that must be healthy for the upstream to get traffic. */
  threshold: number;
  /** Neither active nor passive checks configured (Kong's HEALTHCHECKS_OFF). */
  off: boolean;
}

const n = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

export function healthConfig(upstream: Row): HealthConfig {
  const hc = upstream.healthchecks ?? {};
  const a = hc.active ?? {};
  const p = hc.passive ?? {};
  const ah = a.healthy ?? {};
  const au = a.unhealthy ?? {};
  const ph = p.healthy ?? {};
  const pu = p.unhealthy ?? {};
  const active = {
    type: String(a.type ?? 'http'),
    timeoutMs: Math.max(1, n(a.timeout, 1) * 1000),
    concurrency: Math.max(1, n(a.concurrency, 10)),
    httpPath: String(a.http_path ?? '/'),
    httpsSni: a.https_sni ?? null,
    verifyCertificate: a.https_verify_certificate !== false,
    headers: (a.headers ?? {}) as Record<string, string[]>,
    healthyIntervalMs: n(ah.interval) * 1000,
    unhealthyIntervalMs: n(au.interval) * 1000,
    statuses: new StatusTable(ah.http_statuses ?? [200, 302], au.http_statuses ?? [429, 404, 500, 501, 502, 503, 504, 505]),
    limits: { successes: n(ah.successes), httpFailures: n(au.http_failures), tcpFailures: n(au.tcp_failures), timeouts: n(au.timeouts) },
  };
  const passiveLimits = { successes: n(ph.successes), httpFailures: n(pu.http_failures), tcpFailures: n(pu.tcp_failures), timeouts: n(pu.timeouts) };
  const passive = {
    statuses: new StatusTable(
      ph.http_statuses ?? [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308],
      pu.http_statuses ?? [429, 500, 503],
    ),
    limits: passiveLimits,
    enabled: passiveLimits.successes + passiveLimits.httpFailures + passiveLimits.tcpFailures + passiveLimits.timeouts > 0,
  };
  const activeOn = active.healthyIntervalMs > 0 || active.unhealthyIntervalMs > 0;
  return { active, passive, threshold: n(hc.threshold), off: !activeOn && !passive.enabled };
}

/** Applies one observation; returns the new health when it changed, else null. */
export function record(a: Address, kind: Kind, limits: Limits): boolean | null {
  let count: number;
  let limit: number;
  switch (kind) {
    case 'success':
      a.successes++;
      a.httpFailures = a.tcpFailures = a.timeouts = 0;
      if (a.healthy || limits.successes <= 0 || a.successes < limits.successes) return null;
      resetCounters(a);
      return true;
    case 'http':
      count = ++a.httpFailures;
      limit = limits.httpFailures;
      break;
    case 'tcp':
      count = ++a.tcpFailures;
      limit = limits.tcpFailures;
      break;
    case 'timeout':
      count = ++a.timeouts;
      limit = limits.timeouts;
      break;
    default:
      return null;
  }
  a.successes = 0;
  if (!a.healthy || limit <= 0 || count < limit) return null;
  resetCounters(a);
  return false;
}

export function resetCounters(a: Address): void {
  a.successes = a.httpFailures = a.tcpFailures = a.timeouts = 0;
}
