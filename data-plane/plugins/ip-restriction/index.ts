// ip-restriction (priority 990): deny listed clients, or allow only listed ones (deny wins).
// The client IP is ctx.clientIp, already resolved by the proxy (trusted_ips / real_ip_header).
import ipaddr from 'ipaddr.js';
import type { PluginHandler } from '../types.js';

export interface IpRestrictionConfig {
  allow: string[] | null;
  deny: string[] | null;
  status: number | null;
  message: string | null;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

interface IpState {
  allow: Range[] | null;
  deny: Range[] | null;
}

function toRange(entry: string): Range {
  if (entry.includes('/')) return ipaddr.parseCIDR(entry);
  const addr = ipaddr.process(entry);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

function compileList(list: string[] | null): Range[] | null {
  if (!list || list.length === 0) return null;
  return list.map((e) => {
    const [addr, bits] = toRange(e);
    // An IPv4-mapped IPv6 range is matched as the IPv4 range it denotes.
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96] as Range;
    }
    return [addr, bits] as Range;
  });
}

function matches(list: Range[], ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  for (const range of list) {
    if (range[0].kind() === ip.kind() && ip.match(range as any)) return true;
  }
  return false;
}

export const ipRestriction: PluginHandler<IpRestrictionConfig> = {
  name: 'ip-restriction',
  version: '3.9.0',
  priority: 990,

  init: (conf): IpState => ({ allow: compileList(conf.allow), deny: compileList(conf.deny) }),

  access(ctx, conf, state: IpState) {
    let ip: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      ip = ipaddr.process(ctx.clientIp);
    } catch {
      return {
        status: 403,
        body: { message: 'Cannot identify the client IP address, unix domain sockets are not supported.', request_id: ctx.requestId },
      };
    }
    const status = conf.status ?? 403;
    const deny = () => ({
      status,
      body: { message: conf.message ?? `IP address not allowed: ${ip.toString()}`, request_id: ctx.requestId },
    });
    if (state.deny && matches(state.deny, ip)) return deny();
    if (state.allow && !matches(state.allow, ip)) return deny();
    return undefined;
  },
};

export default ipRestriction;
