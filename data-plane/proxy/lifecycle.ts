// The order of a proxied request, one function per phase (as fastify documents its lifecycle):
//   1. accept      index.ts onRequest: a ProxyRequest (context.ts) from the socket: client IP, scheme, path
//   2. rewrite     startRequest: global plugins' rewrite phase
//   3. route       route: the router picks route + service (404 when none); https-only routes redirect
//   4. access      access: the route's plugin chain (auth, limits, transformations); a plugin may answer
//   5. upstream    toUpstream → dispatch (upstream.ts): proxy headers, balancer pick, undici call, retries
//   6. response    context.ts onHeaders/onData/onComplete streams the answer, or respond.ts runs the
//                  response-phase plugins first (headers, or the buffered body when one asked)
//   7. log         log-phase.ts, deferred to after the response ended
// Answers the gateway makes itself (errors, plugin exits) are in respond.ts.
import {
  resolveRest,
  proxiedResponseNeedsPlugins,
  runAccess,
  runAccessFixed,
  runRewrite,
  wantsRequestBody,
  wantsResponseBody,
  type PluginChain,
  type PluginInstance,
} from '../plugins/pipeline.js';
import type { PluginResponse } from '../plugins/types.js';
import { forwardableHeaders } from './headers.js';
import { onResponseClose, type ProxyRequest } from './context.js';
import { hasRequestBody, readBody } from './request-body.js';
import { toUpstream } from './upstream.js';
import { gatewayError, httpsRedirect, internalError, pluginExit, MSG_NO_ROUTE } from './respond.js';

export function startRequest(ctx: ProxyRequest): void {
  const rt = ctx.rt;
  const res = ctx.res;
  res.ctx = ctx;
  res.on('close', onResponseClose);
  if (rt.globals.length > 0) {
    ctx.plugins = rt.globals.filter((p) => (ctx.scheme === 'https' ? p.https : p.http));
    runRewrite(ctx, ctx.plugins, ctx.proxy.log).then(
      (r) => (r ? pluginExit(ctx, r) : route(ctx)),
      (err) => internalError(ctx, err),
    );
    return;
  }
  route(ctx);
}

function route(ctx: ProxyRequest): void {
  const rt = ctx.rt;
  const m = rt.router.match(ctx);
  if (m === null) {
    gatewayError(ctx, 404, MSG_NO_ROUTE);
    return;
  }
  ctx.match = m;
  const route = m.route;
  ctx.route = route;
  ctx.service = m.service;
  ctx.uriCaptures = m.uriCaptures;
  ctx.upstreamUri = ctx.query === '' ? m.upstreamPath : m.upstreamPath + '?' + ctx.query;

  if (ctx.scheme !== 'https') {
    const protocols: string[] | null = route.protocols;
    if (protocols && protocols.includes('https') && !protocols.includes('http')) {
      httpsRedirect(ctx);
      return;
    }
  }

  const chain = rt.chainFor(route);
  ctx.chain = chain;
  if (chain.empty) {
    ctx.plugins = null;
    toUpstream(ctx);
    return;
  }
  access(ctx, chain);
}

function access(ctx: ProxyRequest, chain: PluginChain): void {
  ctx.upstreamHeaders = forwardableHeaders(ctx.req.headers);
  if (chain.mayWantRequestBody && hasRequestBody(ctx.req) && wantsRequestBody(ctx, resolved(ctx, chain))) {
    ctx.continueBody();
    readBody(ctx.req).then(
      (body) => {
        ctx.upstreamBody = body;
        accessPhase(ctx, chain);
      },
      (err) => internalError(ctx, err),
    );
    return;
  }
  accessPhase(ctx, chain);
}

function resolved(ctx: ProxyRequest, chain: PluginChain): readonly PluginInstance[] {
  const fixed = chain.fixedFor(ctx);
  if (fixed !== null) return fixed;
  const all: PluginInstance[] = [];
  resolveRest(ctx, chain, all);
  return all;
}

/** The route's access handlers: synchronous ones run in this turn, a promise only when a plugin returns one. */
function accessPhase(ctx: ProxyRequest, chain: PluginChain): void {
  const fixed = chain.fixedFor(ctx);
  let r: ReturnType<typeof runAccess>;
  try {
    if (fixed !== null) {
      ctx.plugins = fixed as PluginInstance[]; // shared by the chain's requests: read, never grown
      r = runAccessFixed(ctx, fixed, ctx.proxy.log);
    } else {
      ctx.plugins = [];
      r = runAccess(ctx, chain, ctx.plugins, ctx.proxy.log);
    }
  } catch (err) {
    internalError(ctx, err);
    return;
  }
  if (r instanceof Promise) r.then((v) => afterAccess(ctx, chain, v), (err) => internalError(ctx, err));
  else afterAccess(ctx, chain, r);
}

function afterAccess(ctx: ProxyRequest, chain: PluginChain, r: PluginResponse | undefined): void {
  if (ctx.done) return;
  const plugins = ctx.plugins as PluginInstance[];
  try {
    if (r) {
      // Kong runs the response and log phases of the plugins an exit skipped, too
      if (chain.fixedFor(ctx) === null) resolveRest(ctx, chain, plugins);
      const exit = pluginExit(ctx, r);
      if (exit !== undefined) exit.catch((err) => internalError(ctx, err));
      return;
    }
    ctx.responsePlugins = proxiedResponseNeedsPlugins(ctx, plugins);
    ctx.mayBufferResponse = ctx.responsePlugins && wantsResponseBody(ctx, plugins);
    toUpstream(ctx);
  } catch (err) {
    internalError(ctx, err);
  }
}
