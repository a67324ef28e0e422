// correlation-id (priority 100001): make sure every request carries an id header upstream,
// generating one when the client did not send it, and optionally echo it to the client.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { PluginHandler, RequestContext } from '../types.js';

export interface CorrelationIdConfig {
  header_name: string;
  generator: 'uuid' | 'uuid#counter' | 'tracker';
  echo_downstream: boolean;
}

// One uuid per process (Kong: per worker) plus a counter: cheap and unique.
const processUuid = randomUUID();
let counter = 0;

// tracker ids name the connection and its request number, as nginx's $connection/$connection_requests.
let connectionSerial = 0;
const connections = new WeakMap<Socket, { serial: number; requests: number }>();

function tracker(ctx: RequestContext): string {
  const socket = ctx.req.socket;
  let c = connections.get(socket);
  if (!c) connections.set(socket, (c = { serial: ++connectionSerial, requests: 0 }));
  c.requests++;
  return `${socket.localAddress}-${socket.localPort}-${process.pid}-${c.serial}-${c.requests}-${(Date.now() / 1000).toFixed(3)}`;
}

function generate(generator: CorrelationIdConfig['generator'], ctx: RequestContext): string {
  if (generator === 'uuid') return randomUUID();
  if (generator === 'tracker') return tracker(ctx);
  return `${processUuid}#${++counter}`;
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

const idOf = new WeakMap<RequestContext, string>();

export const correlationId: PluginHandler<CorrelationIdConfig> = {
  name: 'correlation-id',
  version: '3.9.0',
  priority: 100001,

  access(ctx, conf) {
    const name = conf.header_name.toLowerCase();
    let id = firstValue(ctx.req.headers[name]);
    if (!id) {
      id = generate(conf.generator, ctx);
      ctx.upstreamHeaders[name] = id;
    }
    // What the log serializers report as `correlation_id`.
    ctx.shared.correlation_id = id;
    idOf.set(ctx, id);
  },

  response(ctx, res, conf) {
    if (!conf.echo_downstream) return;
    const name = conf.header_name.toLowerCase();
    const id = idOf.get(ctx) ?? firstValue(ctx.req.headers[name]) ?? generate(conf.generator, ctx);
    res.headers[name] = id;
  },
};

export default correlationId;
