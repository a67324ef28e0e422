// Who a request is counted for (Kong's get_identifier), and the counter keys of that identity.
import { createHash } from 'node:crypto';
import type { Period } from '../../../shared/plugins/rate-limiting.js';
import type { RequestContext } from '../types.js';

export type LimitBy = 'consumer' | 'credential' | 'ip' | 'service' | 'header' | 'path';

function headerValue(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name];
  if (Array.isArray(v)) return v[0];
  return v === '' ? undefined : v;
}

/**
 * The identifier of the request; the client IP (after trusted_ips/real_ip_header) when the chosen
 * one is missing, like Kong. `headerName` is already lower-case with '_' as '-'.
 */
export function identify(ctx: RequestContext, limitBy: LimitBy, headerName: string | null, path: string | null): string {
  let id: unknown;
  switch (limitBy) {
    case 'consumer':
      id = ctx.consumer?.id ?? ctx.credential?.id;
      break;
    case 'credential':
      id = ctx.credential?.id;
      break;
    case 'service':
      id = ctx.service?.id;
      break;
    case 'header':
      id = headerName !== null ? headerValue(ctx, headerName) : undefined;
      break;
    case 'path':
      if (ctx.path === path) id = path;
      break;
  }
  return typeof id === 'string' && id !== '' ? id : ctx.clientIp;
}

const EMPTY_UUID = '00000000-0000-0000-0000-000000000000';

/** Kong's scope of a counter: the plugin's route and service (all-zero uuid when unset). */
export function scopeOf(instance: { route?: { id?: string } | null; service?: { id?: string } | null }): string {
  return `${instance.route?.id ?? EMPTY_UUID}:${instance.service?.id ?? EMPTY_UUID}`;
}

/**
 * The prefix of every counter key of one identity: `ratelimit:{<route>:<service>:<identifier>}`.
 * The braces are a Redis Cluster hash tag, so all periods of one request share a slot (one script
 * call). Long identifiers (header values) are hashed to keep keys short.
 */
export function keyPrefix(scope: string, identifier: string): string {
  const id = identifier.length > 200 ? `sha1:${createHash('sha1').update(identifier).digest('hex')}` : identifier;
  return `ratelimit:{${scope}:${id}}`;
}

export function counterKey(prefix: string, windowStart: number, period: Period): string {
  return `${prefix}:${windowStart}:${period}`;
}
