// correlation-id (priority 100001): make sure every request carries an id header upstream,
// generating one when the client did not send it, and optionally echo it to the client.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { PluginHandler, RequestContext } from '../types.js';
import { knownHeaderNames } from '../../proxy/header-names.js';
import { firstValue } from '../../proxy/headers.js';

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

/** The header name as node keys request headers (lower-case), once per plugin instance. */
interface State {
  name: string;
}

export const correlationId: PluginHandler<CorrelationIdConfig> = {
  name: 'correlation-id',
  version: '3.9.0',
  priority: 100001,

  init(conf): State {
    const name = conf.header_name.toLowerCase();
    knownHeaderNames([name]);
    return { name };
  },

  access(ctx, conf, state: State) {
    let id = firstValue(ctx.req.headers[state.name]);
    if (!id) {
      id = generate(conf.generator, ctx);
      ctx.upstreamHeaders[state.name] = id;
    }
    // What the log serializers report as `correlation_id`; the echo goes with the response headers.
    ctx.shared.correlation_id = id;
    if (conf.echo_downstream) ctx.responseHeaders[state.name] = id;
  },

  // Access already queued the echo: the response phase only matters when access did not run
  // (the router's 404 for a global instance, an exit by a plugin ahead of this one).
  wantsResponse: () => false,

  response(ctx, res, conf, state: State) {
    if (!conf.echo_downstream || typeof ctx.shared.correlation_id === 'string') return;
    res.headers[state.name] = firstValue(ctx.req.headers[state.name]) || generate(conf.generator, ctx);
  },
};

export default correlationId;
