// request-termination (priority 2): answer with a fixed status/body instead of proxying,
// optionally only when a trigger header or query parameter is present, or echo the request back.
import type { PluginHandler, PluginResponse, RequestContext } from '../types.js';
import { parseQuery, queryToObject } from '../request-transformer/query.js';

export interface RequestTerminationConfig {
  status_code: number;
  message: string | null;
  content_type: string | null;
  body: string | null;
  echo: boolean;
  trigger: string | null;
}

const DEFAULT_MESSAGES: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  500: 'An unexpected error occurred',
  502: 'Bad Gateway',
  503: 'Service unavailable',
};

/** Kong's header table lookup: case-insensitive, underscores match dashes. */
function hasHeader(ctx: RequestContext, name: string): boolean {
  return ctx.req.headers[name.toLowerCase().replace(/_/g, '-')] !== undefined;
}

function parsedBody(ctx: RequestContext): unknown {
  const raw = ctx.upstreamBody;
  if (!raw || raw.length === 0) return null;
  const type = String(ctx.req.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('application/json')) {
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      return null;
    }
  }
  if (type.includes('application/x-www-form-urlencoded')) return queryToObject(parseQuery(raw.toString('utf8')));
  return null;
}

function echo(ctx: RequestContext, conf: RequestTerminationConfig): PluginResponse {
  const raw = ctx.upstreamBody;
  return {
    status: conf.status_code,
    body: {
      message: conf.message ?? DEFAULT_MESSAGES[conf.status_code] ?? null,
      request: {
        scheme: ctx.scheme,
        host: ctx.host,
        port: ctx.req.socket.localPort ?? null,
        headers: ctx.req.headers,
        query: queryToObject(parseQuery(ctx.query)),
        body: parsedBody(ctx),
        raw_body: raw && raw.length ? raw.toString('utf8') : null,
        method: ctx.method,
        path: ctx.path,
        uri_captures: ctx.uriCaptures,
      },
      matched_route: ctx.route,
      matched_service: ctx.service,
      matched_consumer: ctx.consumer,
    },
  };
}

export const requestTermination: PluginHandler<RequestTerminationConfig> = {
  name: 'request-termination',
  version: '3.9.0',
  priority: 2,

  bufferRequest: (conf) => conf.echo,

  access(ctx, conf) {
    if (conf.trigger && !hasHeader(ctx, conf.trigger) && !parseQuery(ctx.query).has(conf.trigger)) return;
    if (conf.echo) return echo(ctx, conf);
    if (conf.body !== null) {
      return { status: conf.status_code, body: conf.body, headers: conf.content_type ? { 'content-type': conf.content_type } : {} };
    }
    const message = conf.message ?? DEFAULT_MESSAGES[conf.status_code];
    return { status: conf.status_code, body: message !== undefined ? { message } : undefined };
  },
};

export default requestTermination;
