// Client address resolution like nginx's realip module as Kong configures it: when the peer is in
// trusted_ips, the address comes from real_ip_header (X-Forwarded-For: last, or with
// real_ip_recursive the last untrusted hop).
import ipaddr from 'ipaddr.js';

export interface ClientIpResolver {
  /** Whether the socket peer may set X-Forwarded-* / the real-IP header. */
  trusted(peer: string): boolean;
  resolve(peer: string, headers: Record<string, string | string[] | undefined>): string;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parse(addr: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try {
    return ipaddr.process(addr.trim());
  } catch {
    return null;
  }
}

export function createClientIpResolver(trustedIps: readonly string[], realIpHeader: string, recursive: boolean): ClientIpResolver {
  let all = false;
  const ranges: Range[] = [];
  for (const raw of trustedIps) {
    const t = raw.trim();
    if (t === '0.0.0.0/0' || t === '::/0' || t === 'unix:') {
      if (t !== 'unix:') all = true;
      continue;
    }
    try {
      if (t.includes('/')) {
        const [a, bits] = ipaddr.parseCIDR(t);
        ranges.push([a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a, a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? bits - 96 : bits]);
      } else {
        const a = ipaddr.process(t);
        ranges.push([a, a.kind() === 'ipv4' ? 32 : 128]);
      }
    } catch {
      throw new Error(`trusted_ips: invalid address or CIDR '${raw}'`);
    }
  }
  const none = !all && ranges.length === 0;
  const cache = new Map<string, boolean>();

  function trusted(peer: string): boolean {
    if (none) return false;
    if (all) return true;
    let hit = cache.get(peer);
    if (hit !== undefined) return hit;
    const a = parse(peer);
    hit = a !== null && ranges.some(([r, bits]) => r.kind() === a.kind() && a.match(r as any, bits));
    if (cache.size > 10000) cache.clear();
    cache.set(peer, hit);
    return hit;
  }

  const header = realIpHeader.toLowerCase();
  const isXff = header === 'x-forwarded-for';

  function resolve(peer: string, headers: Record<string, string | string[] | undefined>): string {
    const p = peer.startsWith('::ffff:') && peer.includes('.') ? peer.slice(7) : peer;
    if (none || !trusted(p)) return p;
    const raw = headers[header];
    if (raw === undefined) return p;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    if (!isXff && value.indexOf(',') < 0) return parse(value) ? value.trim() : p;
    const hops = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (hops.length === 0) return p;
    if (!recursive) return parse(hops[hops.length - 1]) ? hops[hops.length - 1] : p;
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!parse(hops[i])) return p;
      if (!trusted(hops[i]) || i === 0) return hops[i];
    }
    return p;
  }

  return { trusted, resolve };
}
