// Plugin pipeline through the proxy, with tiny test-only handlers in a test registry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { plugin, request, route, service, snapshot, startProxy } from './fixtures.js';
import { compileRuntime, RuntimeCompileError } from '../../data-plane/runtime.js';
import type { PluginHandler, RequestContext } from '../../data-plane/plugins/types.js';

let up: Upstream;
const logged: { name: string; status?: number; route?: string; config: any }[] = [];

/** Adds X-Seen-<name>: <config.tag> upstream and to the response, so scope resolution is observable. */
function tagger(name: string, priority: number): PluginHandler {
  return {
    name, version: '1.0.0', priority,
    access(ctx, config) {
      ctx.upstreamHeaders[`x-seen-${name}`] = String(config.tag);
      ctx.responseHeaders[`x-order-${name}`] = String((ctx.shared.order = ((ctx.shared.order as number) ?? 0) + 1));
    },
    log(ctx, config) {
      logged.push({ name, status: ctx.status, route: ctx.route?.name, config });
    },
  };
}

const registry: Record<string, PluginHandler> = {
  // fake "auth": identifies consumer from x-user
  auth: {
    name: 'auth', version: '1.0.0', priority: 1250,
    init: (config: any) => ({ users: new Map(Object.entries(config.users ?? {})) }),
    access(ctx: RequestContext, _config: any, state: any) {
      const id = state.users.get(String(ctx.req.headers['x-user'] ?? ''));
      if (!id) return { status: 401, body: { message: 'Unauthorized' }, headers: { 'www-authenticate': 'Test' } };
      ctx.consumer = { id, username: id };
    },
  },
  tagger: tagger('tagger', 900),
  early: tagger('early', 2000),
  global_rewrite: {
    name: 'global_rewrite', version: '1.0.0', priority: 3000,
    rewrite(ctx) {
      if (ctx.req.headers['x-block']) return { status: 403, body: { message: 'blocked in rewrite' } };
    },
    response(_ctx, res) {
      res.headers['x-global-response'] = 'yes';
    },
  },
  body_upper: {
    name: 'body_upper', version: '1.0.0', priority: 800,
    bufferRequest: () => true,
    bufferResponse: () => true,
    access(ctx) {
      if (ctx.upstreamBody) ctx.upstreamBody = Buffer.from(ctx.upstreamBody.toString().toUpperCase());
    },
    async response(_ctx, res) {
      await new Promise((r) => setTimeout(r, 5));
      res.status = 201;
      res.headers['x-body-length'] = String(res.body?.length);
      const parsed = JSON.parse(res.body!.toString());
      res.body = Buffer.from(JSON.stringify({ echoed: parsed.body }));
    },
  },
  header_only: {
    name: 'header_only', version: '1.0.0', priority: 700,
    async response(_ctx, res) {
      await new Promise((r) => setTimeout(r, 5));
      res.headers['x-async-header'] = 'done';
    },
  },
  // an access handler that answers later (a promise), between synchronous ones
  async_gate: {
    name: 'async_gate', version: '1.0.0', priority: 1500,
    async access(ctx) {
      await new Promise((r) => setTimeout(r, 2));
      ctx.upstreamHeaders['x-async-gate'] = 'passed';
      ctx.responseHeaders['x-order-async_gate'] = String((ctx.shared.order = ((ctx.shared.order as number) ?? 0) + 1));
      if (ctx.req.headers['x-deny']) return { status: 429, body: { message: 'denied later' } };
    },
  },
  thrower: {
    name: 'thrower', version: '1.0.0', priority: 10,
    access() {
      throw new Error('boom');
    },
  },
};

let url: string;
let close: () => Promise<void>;
const CONSUMER = 'c0000000-0000-4000-8000-000000000001';

beforeAll(async () => {
  up = await startUpstream();
  const svc = service({ name: 'svc', port: up.port });
  const other = service({ name: 'other', port: up.port });
  const rScoped = route({ name: 'scoped', paths: ['/scoped'], service: { id: svc.id } });
  const rPlain = route({ name: 'plain', paths: ['/plain'], service: { id: other.id } });
  const rAuth = route({ name: 'authed', paths: ['/authed'], service: { id: other.id } });
  const rBody = route({ name: 'body', paths: ['/body'], service: { id: other.id } });
  const rHeader = route({ name: 'header', paths: ['/header'], service: { id: other.id } });
  const rThrow = route({ name: 'throw', paths: ['/throw'], service: { id: other.id } });
  const rHttpsOnlyPlugin = route({ name: 'proto', paths: ['/proto'], service: { id: other.id } });
  const rMixed = route({ name: 'mixed', paths: ['/mixed'], service: { id: other.id } });
  const snap = snapshot({
    services: [svc, other],
    routes: [rScoped, rPlain, rAuth, rBody, rHeader, rThrow, rHttpsOnlyPlugin, rMixed],
    consumers: [{ id: CONSUMER, username: 'alice', custom_id: null }],
    plugins: [
      plugin('tagger', { config: { tag: 'global' } }),
      plugin('tagger', { config: { tag: 'service' }, service: { id: svc.id } }),
      plugin('tagger', { config: { tag: 'route' }, route: { id: rScoped.id } }),
      plugin('tagger', { config: { tag: 'consumer' }, consumer: { id: CONSUMER } }),
      plugin('tagger', { config: { tag: 'route+consumer' }, route: { id: rAuth.id }, consumer: { id: CONSUMER }, enabled: true }),
      plugin('auth', { config: { users: { alice: CONSUMER, bob: 'c0000000-0000-4000-8000-000000000002' } }, route: { id: rAuth.id } }),
      plugin('early', { config: { tag: 'e' }, route: { id: rAuth.id } }),
      plugin('early', { config: { tag: 'disabled' }, route: { id: rPlain.id }, enabled: false }),
      plugin('global_rewrite', {}),
      plugin('body_upper', { route: { id: rBody.id } }),
      plugin('header_only', { route: { id: rHeader.id } }),
      plugin('thrower', { route: { id: rThrow.id } }),
      plugin('early', { config: { tag: 'm' }, route: { id: rMixed.id } }),
      plugin('async_gate', { route: { id: rMixed.id } }),
      plugin('early', { config: { tag: 'https-only' }, route: { id: rHttpsOnlyPlugin.id }, protocols: ['https'] }),
    ],
  });
  const p = await startProxy(snap, { registry });
  url = p.url;
  close = () => p.proxy.close();
});

afterAll(async () => {
  await close?.();
  await up?.close();
});

describe('plugin pipeline', () => {
  it('scope precedence: route beats service beats global; one instance per name', async () => {
    const e = (await request(`${url}/scoped/request`)).json();
    expect(e.headers['x-seen-tagger']).toBe('route');
    const e2 = (await request(`${url}/plain/request`)).json();
    expect(e2.headers['x-seen-tagger']).toBe('global');
  });

  it('disabled plugins do not run', async () => {
    const e = (await request(`${url}/plain/request`)).json();
    expect(e.headers['x-seen-early']).toBeUndefined();
  });

  it('plugin protocols are honoured', async () => {
    const e = (await request(`${url}/proto/request`)).json();
    expect(e.headers['x-seen-early']).toBeUndefined();
  });

  it('consumer-scoped config applies after the auth plugin identified the consumer', async () => {
    const alice = (await request(`${url}/authed/request`, { headers: { 'x-user': 'alice' } })).json();
    expect(alice.headers['x-seen-tagger']).toBe('route+consumer');
    const bob = (await request(`${url}/authed/request`, { headers: { 'x-user': 'bob' } })).json();
    expect(bob.headers['x-seen-tagger']).toBe('global');
  });

  it('priority order: higher priority runs first', async () => {
    const res = await request(`${url}/authed/request`, { headers: { 'x-user': 'alice' } });
    expect(res.headers['x-order-early']).toBe('1');
    expect(res.headers['x-order-tagger']).toBe('2');
  });

  it('a plugin answering skips the upstream; response plugins and log still run', async () => {
    const before = up.requests;
    const res = await request(`${url}/authed/request`);
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ message: 'Unauthorized' });
    expect(res.headers['www-authenticate']).toBe('Test');
    expect(res.headers['x-global-response']).toBe('yes');
    expect(res.headers['x-kong-response-latency']).toMatch(/^\d+$/);
    expect(up.requests).toBe(before);
    await new Promise((r) => setTimeout(r, 20));
    expect(logged.some((l) => l.route === 'authed' && l.status === 401)).toBe(true);
  });

  it('global plugins run in rewrite, before routing (even for unknown paths)', async () => {
    const res = await request(`${url}/no-such-route`, { headers: { 'x-block': '1' } });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ message: 'blocked in rewrite' });
    const res404 = await request(`${url}/no-such-route`);
    expect(res404.status).toBe(404);
    expect(res404.headers['x-global-response']).toBe('yes');
  });

  it('log phase runs after the response with status and route', async () => {
    logged.length = 0;
    await request(`${url}/scoped/status/202`);
    await new Promise((r) => setTimeout(r, 20));
    expect(logged).toContainEqual(expect.objectContaining({ name: 'tagger', status: 202, route: 'scoped' }));
  });

  it('bufferRequest/bufferResponse: plugins edit request and response bodies', async () => {
    const res = await request(`${url}/body/request`, { method: 'POST', body: 'make me loud' });
    expect(res.status).toBe(201);
    expect(res.json()).toEqual({ echoed: 'MAKE ME LOUD' });
    expect(Number(res.headers['x-body-length'])).toBeGreaterThan(10);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
  });

  it('async header-only response plugin on a streamed response', async () => {
    const res = await request(`${url}/header/download/300000`);
    expect(res.status).toBe(200);
    expect(res.headers['x-async-header']).toBe('done');
    expect(res.body.length).toBe(300000);
  });

  it('synchronous and promise-returning access handlers mix in priority order', async () => {
    // early (2000, sync) → async_gate (1500, promise) → tagger (900, sync, global)
    const res = await request(`${url}/mixed/request`);
    expect(res.status).toBe(200);
    const e = res.json();
    expect(e.headers['x-seen-early']).toBe('m');
    expect(e.headers['x-async-gate']).toBe('passed');
    expect(e.headers['x-seen-tagger']).toBe('global');
    expect([res.headers['x-order-early'], res.headers['x-order-async_gate'], res.headers['x-order-tagger']]).toEqual(['1', '2', '3']);
    expect(res.headers['x-global-response']).toBe('yes');
  });

  it('a promise-returning access handler that answers skips the later handlers', async () => {
    const res = await request(`${url}/mixed/request`, { headers: { 'x-deny': '1' } });
    expect(res.status).toBe(429);
    expect(JSON.parse(res.body)).toEqual({ message: 'denied later' });
    expect(res.headers['x-order-async_gate']).toBe('2');
    expect(res.headers['x-order-tagger']).toBeUndefined();
    expect(res.headers['x-global-response']).toBe('yes');
  });

  it('a throwing plugin gives 500 with Kong message, process keeps serving', async () => {
    const res = await request(`${url}/throw/request`);
    expect(res.status).toBe(500);
    expect(res.json().message).toBe('An unexpected error occurred');
    expect((await request(`${url}/plain/request`)).status).toBe(200);
  });

  it('a snapshot configuring a plugin without handler is refused', () => {
    const snap = snapshot({ plugins: [plugin('not-installed')] });
    expect(() => compileRuntime(snap, registry)).toThrow(RuntimeCompileError);
    expect(() => compileRuntime(snap, registry)).toThrow(/not-installed/);
  });

  it('init runs once per snapshot per instance', () => {
    let calls = 0;
    const reg = { counted: { name: 'counted', version: '1', priority: 1, init: () => ++calls } };
    const rt = compileRuntime(snapshot({ plugins: [plugin('counted'), plugin('counted', { route: { id: 'x' } })] }), reg);
    expect(calls).toBe(2);
    expect(rt.globals[0].state).toBe(1);
    rt.close();
  });
});
