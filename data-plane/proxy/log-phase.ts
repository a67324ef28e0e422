// Phase 7: latencies, then the plugins' log phase — deferred by the caller until the response ended.
import { runLog, type PluginInstance } from '../plugins/pipeline.js';
import type { ProxyRequest } from './context.js';

export function logPhase(ctx: ProxyRequest): void {
  const now = Date.now();
  const up = ctx.upstreamStartedAt;
  ctx.status ??= ctx.res.statusCode;
  ctx.latencies = {
    request: now - ctx.startedAt,
    proxy: ctx.upstreamHeadersAt && up ? ctx.upstreamHeadersAt - up : -1,
    kong: up ? up - ctx.startedAt : now - ctx.startedAt,
  };
  runLog(ctx, ctx.plugins as PluginInstance[], ctx.proxy.log);
}
