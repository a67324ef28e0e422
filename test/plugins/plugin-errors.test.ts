// A plugin that throws (Kong's 29-collect-plugin-errors_spec): the client gets 500 with Kong's body,
// the cause is logged, and the plugins after it still run their response and log phases. A real
// proxy with the real plugin registry plus test-only plugins that throw on demand, a real upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { PluginHandler } from '../../data-plane/plugins/types.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { plugin } from '../proxy/fixtures.js';
import { pluginRow, request, route, service, snapshot } from './helpers.js';
import { startProxy } from '../proxy/fixtures.js';
import type { Proxy } from '../../data-plane/proxy/index.js';

/** What the test-only plugins saw, per request id. */
const seen: { plugin: string; phase: string; requestId: string; status?: number }[] = [];
const errors: { obj: any; msg?: string }[] = [];
const log = { info() {}, warn() {}, debug() {}, error: (obj: unknown, msg?: string) => void errors.push({ obj, msg }) };

/** Throws in the phase named by the request's x-fail header (sync, or as a rejected promise with x-async). */
function thrower(priority: number): PluginHandler {
  const maybeFail = (phase: string, ctx: any) => {
    if (ctx.req.headers['x-fail'] !== phase) return undefined;
    const err = new Error(`thrower broke in ${phase}`);
    if (ctx.req.headers['x-async']) return Promise.reject(err);
    throw err;
  };
  return {
    name: 'test-thrower', version: '1.0.0', priority,
    rewrite: (ctx) => maybeFail('rewrite', ctx) as any,
    access: (ctx) => maybeFail('access', ctx) as any,
    response: (ctx) => maybeFail('response', ctx) as any,
    log(ctx) {
      seen.push({ plugin: 'test-thrower', phase: 'log', requestId: ctx.requestId, status: ctx.status });
    },
  };
}

/** Runs after the thrower (lower priority) and records each phase it got to. */
const recorder: PluginHandler = {
  name: 'test-recorder', version: '1.0.0', priority: 5,
  access(ctx) {
    seen.push({ plugin: 'test-recorder', phase: 'access', requestId: ctx.requestId });
  },
  response(ctx) {
    seen.push({ plugin: 'test-recorder', phase: 'response', requestId: ctx.requestId });
  },
  log(ctx) {
    seen.push({ plugin: 'test-recorder', phase: 'log', requestId: ctx.requestId, status: ctx.status });
  },
};

let up: Upstream;
let proxy: Proxy;
let url: string;

beforeAll(async () => {
  up = await startUpstream();
  const svc = service({ name: 'echo', port: up.port });
  const r = route({ name: 'errors', paths: ['/errors'], service: { id: svc.id } });
  const snap = snapshot({
    services: [svc],
    routes: [r],
    plugins: [
      // global: its rewrite runs before routing
      plugin('test-thrower', { config: {} }),
      plugin('test-recorder', { config: {}, route: { id: r.id } }),
      // a real plugin after the thrower (priority 800 < 1000): its response phase still edits the 500
      pluginRow('response-transformer', { add: { headers: ['x-transformed:yes'] } }, { route: r }),
      // queues its echo during access: the 500 that replaces a failed response keeps it
      pluginRow('correlation-id', { echo_downstream: true }, { route: r }),
    ],
  });
  ({ proxy, url } = await startProxy(snap, { registry: { ...handlers, 'test-thrower': thrower(1000), 'test-recorder': recorder }, log }));
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
});

async function phasesOf(requestId: string, count: number): Promise<string[]> {
  // the log phase runs after the response finished (setImmediate): wait for it
  for (let i = 0; i < 100; i++) {
    const mine = seen.filter((s) => s.requestId === requestId);
    if (mine.filter((s) => s.phase === 'log').length >= count) return mine.map((s) => `${s.plugin}:${s.phase}:${s.status ?? ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return seen.filter((s) => s.requestId === requestId).map((s) => `${s.plugin}:${s.phase}:${s.status ?? ''}`);
}

function loggedCause(phase: string): any {
  return errors.find((e) => e.obj?.plugin === 'test-thrower' && e.obj?.phase === phase)?.obj;
}

describe('a plugin that throws', () => {
  it("in access: 500 with Kong's exact body, later plugins' response and log phases run, cause logged", async () => {
    for (const async of [false, true]) {
      errors.length = 0;
      const res = await request(`${url}/errors/x`, { headers: { 'x-fail': 'access', ...(async ? { 'x-async': '1' } : {}) } });
      expect(res.status).toBe(500);
      expect(res.json()).toEqual({ message: 'An unexpected error occurred' });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      // response-transformer (after the thrower) still ran its response phase on the 500
      expect(res.headers['x-transformed']).toBe('yes');
      const id = res.headers['x-kong-request-id'] as string;
      const phases = await phasesOf(id, 2);
      // the recorder's access was skipped (Kong's delayed response), its response and log ran
      expect(phases).toEqual(['test-recorder:response:', 'test-thrower:log:500', 'test-recorder:log:500']);
      const cause = loggedCause('access');
      expect(cause).toBeDefined();
      expect(cause.err.message).toBe('thrower broke in access');
      expect(cause.request_id).toBe(id);
    }
  });

  it('in rewrite: 500, the log phase of the plugins still runs, cause logged', async () => {
    errors.length = 0;
    const res = await request(`${url}/errors/x`, { headers: { 'x-fail': 'rewrite' } });
    expect(res.status).toBe(500);
    expect(res.json().message).toBe('An unexpected error occurred');
    const id = res.headers['x-kong-request-id'] as string;
    // Kong's error handler body carries the request id
    expect(res.json().request_id).toBe(id);
    expect(await phasesOf(id, 1)).toEqual(['test-thrower:log:500']);
    expect(loggedCause('rewrite')?.err.message).toBe('thrower broke in rewrite');
  });

  it('in response: 500, the later plugins still log, cause logged', async () => {
    for (const async of [false, true]) {
      errors.length = 0;
      const res = await request(`${url}/errors/x`, { headers: { 'x-fail': 'response', ...(async ? { 'x-async': '1' } : {}) } });
      expect(res.status).toBe(500);
      expect(res.json().message).toBe('An unexpected error occurred');
      expect(res.headers['kong-request-id']).toMatch(/#\d+$/);
      const id = res.headers['x-kong-request-id'] as string;
      const phases = await phasesOf(id, 2);
      expect(phases).toContain('test-recorder:access:');
      expect(phases).toContain('test-thrower:log:500');
      expect(phases).toContain('test-recorder:log:500');
      expect(loggedCause('response')?.err.message).toBe('thrower broke in response');
    }
  });

  it('without a failure the same chain proxies normally', async () => {
    const res = await request(`${url}/errors/ok`);
    expect(res.status).toBe(200);
    expect(res.headers['x-transformed']).toBe('yes');
    const phases = await phasesOf(res.headers['x-kong-request-id'] as string, 2);
    expect(phases).toEqual(['test-recorder:access:', 'test-recorder:response:', 'test-thrower:log:200', 'test-recorder:log:200']);
  });
});
