// Kong's auth plumbing shared by jwt, key-auth and basic-auth: set_consumer (authenticate the
// request as a consumer, with a credential or anonymously, and set the X-Consumer-* headers
// upstream, clearing client-sent ones) and the `anonymous` fallback that makes auth plugins a
// logical OR.
import type { Row } from '../../../shared/snapshot.js';
import type { PluginResponse, RequestContext, SnapshotIndex } from '../types.js';
import { knownHeaderNames } from '../../proxy/header-names.js';

knownHeaderNames(['x-consumer-id', 'x-consumer-custom-id', 'x-consumer-username', 'x-credential-identifier', 'x-anonymous-consumer']);

function setOrClear(h: Record<string, string | string[]>, name: string, value: unknown): void {
  if (value === null || value === undefined) delete h[name];
  else h[name] = String(value);
}

/**
 * Authenticate as `consumer`. `identifier` is what X-Credential-Identifier carries (jwt: the secret's
 * key, key-auth: the credential id, basic-auth: the username); a null credential means anonymous.
 */
export function setConsumer(ctx: RequestContext, consumer: Row, credential: Row | null, identifier: unknown = credential?.key): void {
  ctx.consumer = consumer;
  ctx.credential = credential;
  const h = ctx.upstreamHeaders;
  setOrClear(h, 'x-consumer-id', consumer.id);
  setOrClear(h, 'x-consumer-custom-id', consumer.custom_id);
  setOrClear(h, 'x-consumer-username', consumer.username);
  setOrClear(h, 'x-credential-identifier', credential ? identifier : null);
  if (credential) delete h['x-anonymous-consumer'];
  else h['x-anonymous-consumer'] = 'true';
}

/** Consumers of the snapshot by username (built once per snapshot, shared by every auth plugin). */
export function consumersByUsername(index: SnapshotIndex): ReadonlyMap<string, Row> {
  return index.memo('consumers.by_username', (snapshot) => {
    const m = new Map<string, Row>();
    for (const c of snapshot.consumers ?? []) if (typeof c.username === 'string') m.set(c.username, c);
    return m;
  });
}

export interface ConsumerLookup {
  consumersById: ReadonlyMap<string, Row>;
  consumersByUsername: ReadonlyMap<string, Row>;
}

export function consumerLookup(index: SnapshotIndex): ConsumerLookup {
  return { consumersById: index.consumersById, consumersByUsername: consumersByUsername(index) };
}

/**
 * What an auth plugin does after `failure` (undefined = it authenticated): without `anonymous` the
 * failure is the answer; with it the request goes on as the anonymous consumer (by id or
 * username), or 500 when that consumer does not exist.
 */
export function orAnonymous(ctx: RequestContext, anonymous: string | null, failure: PluginResponse | undefined, lookup: ConsumerLookup): PluginResponse | undefined {
  if (failure === undefined) return undefined;
  if (!anonymous) return failure;
  const anon = lookup.consumersById.get(anonymous) ?? lookup.consumersByUsername.get(anonymous);
  if (anon === undefined) {
    return { status: 500, body: { message: `anonymous consumer ${anonymous} is configured but doesn't exist`, request_id: ctx.requestId } };
  }
  setConsumer(ctx, anon, null);
  return undefined;
}

/** Kong's kong.response.error(status, message, headers): {"message", "request_id"}. */
export function authError(ctx: RequestContext, status: number, message: string, headers?: Record<string, string>): PluginResponse {
  return { status, body: { message, request_id: ctx.requestId }, ...(headers ? { headers } : {}) };
}
