// Which targets of an upstream are live, and what addresses their names resolve to.
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import type { Row } from '../../shared/snapshot.js';
import { splitHostPort } from '../../shared/schema/typedefs.js';

export interface TargetSpec {
  id: string;
  /** As configured, `host:port`. */
  target: string;
  host: string;
  port: number;
  weight: number;
  /** true when `host` is an IP literal (no DNS). */
  isIp: boolean;
}

const DEFAULT_TARGET_PORT = 8000;

/**
 * Kong keeps target history: several rows may name the same `host:port`, the newest
 * (highest created_at) one is the current one. Weight 0 removes the target from rotation.
 */
export function currentTargets(rows: Row[]): TargetSpec[] {
  const newest = new Map<string, Row>();
  for (const r of rows) {
    const { host, port } = splitHostPort(String(r.target));
    const key = `${host.toLowerCase()}:${port ?? DEFAULT_TARGET_PORT}`;
    const prev = newest.get(key);
    if (!prev || newer(r, prev)) newest.set(key, r);
  }
  const out: TargetSpec[] = [];
  for (const r of newest.values()) {
    const weight = Number(r.weight ?? 100);
    if (!(weight > 0)) continue;
    const { host, port } = splitHostPort(String(r.target));
    out.push({ id: String(r.id), target: String(r.target), host, port: port ?? DEFAULT_TARGET_PORT, weight, isIp: isIP(host) !== 0 });
  }
  return out;
}

function newer(a: Row, b: Row): boolean {
  const ta = Number(a.created_at ?? 0);
  const tb = Number(b.created_at ?? 0);
  if (ta !== tb) return ta > tb;
  return String(a.id) > String(b.id);
}

/** All addresses of a name (deduplicated, in resolver order). */
export function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    lookup(host, { all: true }, (err, addrs) => {
      if (err) return reject(err);
      const seen = new Set<string>();
      for (const a of addrs) seen.add(a.address);
      if (seen.size === 0) return reject(Object.assign(new Error(`${host}: no addresses`), { code: 'ENODATA' }));
      resolve([...seen]);
    });
  });
}

export function formatAddress(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}
