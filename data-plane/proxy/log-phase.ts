// Phase 7: latencies, the plugins' log phase and the access log — deferred by the caller until the
// response ended.
import { runLog } from '../plugins/pipeline.js';
import type { ProxyRequest } from './context.js';

export function logPhase(ctx: ProxyRequest): void {
  const now = Date.now();
  const up = ctx.upstreamStartedAt;
  ctx.status ??= ctx.res.statusCode;
  ctx.latencies = {
    request: now - ctx.startedAt,
    proxy: ctx.upstreamHeadersAt && up ? ctx.upstreamHeadersAt - up : -1,
    kong: up ? up - ctx.startedAt : now - ctx.startedAt,
    receive: ctx.upstreamHeadersAt ? now - ctx.upstreamHeadersAt : 0,
  };
  ctx.source = ctx.proxied ? 'service' : ctx.failed ? 'error' : 'exit';
  const plugins = ctx.plugins;
  if (plugins !== null && plugins.length > 0) {
    if (ctx.attempts > 0) {
      const tries: { ip: string; port: number; balancer_start: number; balancer_latency: number }[] = [];
      if (ctx.earlierTries !== null) for (const t of ctx.earlierTries) tries.push({ ip: t.ip, port: t.port, balancer_start: up, balancer_latency: 0 });
      tries.push({ ip: ctx.upstreamHost, port: ctx.upstreamPort, balancer_start: up, balancer_latency: 0 });
      ctx.tries = tries;
    } else ctx.tries = [];
    runLog(ctx, plugins, ctx.proxy.log);
  }
  const access = ctx.proxy.accessLog;
  if (access !== null) {
    try {
      access.info(accessRecord(ctx));
    } catch (err) {
      ctx.proxy.log.error({ err }, 'access log failed');
    }
  }
}

/** One access-log record: flat, small, no headers (the log plugins carry those). */
function accessRecord(ctx: ProxyRequest): object {
  const l = ctx.latencies as { kong: number; proxy: number; request: number };
  return {
    request_id: ctx.requestId,
    client_ip: ctx.clientIp,
    method: ctx.method,
    host: ctx.host,
    uri: ctx.req.url,
    status: ctx.status,
    request_size: ctx.requestSize,
    response_size: ctx.responseSize,
    latency_request: l.request,
    latency_kong: l.kong,
    latency_proxy: l.proxy,
    source: ctx.source,
    route: ctx.route !== null ? ctx.route.id : null,
    service: ctx.service !== null ? ctx.service.id : null,
    consumer: ctx.consumer !== null ? ctx.consumer.id : null,
    upstream: ctx.attempts > 0 ? `${ctx.upstreamHost}:${ctx.upstreamPort}` : null,
    upstream_status: ctx.upstreamStatus ?? null,
    tries: ctx.attempts,
    user_agent: ctx.req.headers['user-agent'] ?? null,
  };
}
