// Shapes shared by the balancer modules and the proxy that calls them.
import type { RequestContext } from '../plugins/types.js';

export type BalancerLog = {
  info(...a: any[]): void;
  warn(...a: any[]): void;
  error(...a: any[]): void;
  debug(...a: any[]): void;
};

/** What pick() hands the proxy. One object per address, reused across picks: treat it as read-only. */
export interface Peer {
  /** Opaque address key (`<target id>|<ip>`): pass it back to report()/release() and put it in `tried`. */
  id: string;
  /** IP address to connect to. */
  host: string;
  port: number;
  /** upstream.host_header, else the target's host name (or IP). Without port: the proxy adds `:port` when not the scheme default. */
  hostHeader?: string;
  /** Set-Cookie value to add to the response (consistent hashing on a cookie the client did not send). */
  setCookie?: string;
}

export type Outcome = { status?: number; error?: 'tcp' | 'timeout' };

export type HealthState = 'HEALTHY' | 'UNHEALTHY' | 'DNS_ERROR' | 'HEALTHCHECKS_OFF';

export interface HealthRow {
  /** Target id. */
  id: string;
  /** The target as configured, `host:port`. */
  target: string;
  /** `ip:port` (`[ip]:port` for IPv6), or null when the name did not resolve. */
  address: string | null;
  weight: number;
  health: HealthState;
}

export interface Balancer {
  /** null → no healthy target (503 "failure to get a peer from the ring-balancer"). */
  pick(ctx: RequestContext, tried?: Set<string>): Peer | null;
  /** Passive health checks: the outcome of a proxied request to `id` (a Peer id, or a target id for all its addresses). */
  report(id: string, outcome: Outcome): void;
  /** The request that picked `id` finished (least-connections bookkeeping; a no-op for other algorithms). */
  release?(id: string): void;
  hostHeader?: string | null;
}

/** One resolved address of a target: the unit of balancing and of health. */
export interface Address {
  readonly id: string;
  readonly targetId: string;
  /** Target as configured (`host:port`). */
  readonly target: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  /** Stable identity for the hash ring: survives target re-creation with a new id. */
  readonly ringKey: string;
  readonly peer: Peer;
  healthy: boolean;
  successes: number;
  httpFailures: number;
  tcpFailures: number;
  timeouts: number;
  /** Requests in flight (least-connections). */
  inflight: number;
  /** Least-connections tie-break: sequence number of the last pick. */
  lastPicked: number;
  /** Smooth weighted round-robin running weight. */
  current: number;
}
