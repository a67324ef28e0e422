// Kong's set_consumer for auth plugins: authenticate the request as `consumer` (with `credential`,
// or anonymously when null) and set the X-Consumer-* headers upstream, clearing client-sent ones.
import type { Row } from '../../../shared/snapshot.js';
import type { RequestContext } from '../types.js';

function setOrClear(h: Record<string, string | string[]>, name: string, value: unknown): void {
  if (value === null || value === undefined) delete h[name];
  else h[name] = String(value);
}

export function setConsumer(ctx: RequestContext, consumer: Row, credential: Row | null): void {
  ctx.consumer = consumer;
  ctx.credential = credential;
  const h = ctx.upstreamHeaders;
  setOrClear(h, 'x-consumer-id', consumer.id);
  setOrClear(h, 'x-consumer-custom-id', consumer.custom_id);
  setOrClear(h, 'x-consumer-username', consumer.username);
  setOrClear(h, 'x-credential-identifier', credential?.key);
  if (credential) delete h['x-anonymous-consumer'];
  else h['x-anonymous-consumer'] = 'true';
}
