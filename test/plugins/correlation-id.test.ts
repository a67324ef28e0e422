// correlation-id: generators, incoming ids kept, echo downstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, pluginRow, rejection, request, route, type Gateway } from './helpers.js';

describe('correlation-id schema', () => {
  it('fills Kong defaults', () => {
    expect(pluginRow('correlation-id').config).toEqual({ header_name: 'Kong-Request-ID', generator: 'uuid#counter', echo_downstream: false });
  });
  it('rejects an unknown generator', () => {
    expect(rejection('correlation-id', { generator: 'random' }).fields).toEqual({
      config: { generator: 'expected one of: uuid, uuid#counter, tracker' },
    });
  });
});

describe('correlation-id behaviour', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway(() => {
      const counter = route({ paths: ['/counter'] });
      const uuid = route({ paths: ['/uuid'] });
      const tracker = route({ paths: ['/tracker'] });
      const stop = route({ paths: ['/stop'] });
      const hidden = route({ paths: ['/hidden'] });
      const shaped = route({ paths: ['/shaped'] });
      return {
        routes: [counter, uuid, tracker, stop, hidden, shaped],
        plugins: [
          pluginRow('correlation-id', { echo_downstream: true }, { route: counter }),
          pluginRow('correlation-id', { header_name: 'X-Trace', generator: 'uuid' }, { route: uuid }),
          pluginRow('correlation-id', { generator: 'tracker', echo_downstream: true }, { route: tracker }),
          pluginRow('correlation-id', { echo_downstream: true }, { route: stop }),
          pluginRow('request-termination', { status_code: 403, message: 'no' }, { route: stop }),
          // response-transformer's header_filter runs after correlation-id's (priority 800 < 100001)
          pluginRow('correlation-id', { echo_downstream: true }, { route: hidden }),
          pluginRow('response-transformer', { remove: { headers: ['Kong-Request-ID'] } }, { route: hidden }),
          pluginRow('correlation-id', { echo_downstream: true }, { route: shaped }),
          pluginRow('response-transformer', { rename: { headers: ['Kong-Request-ID:X-Seen-Id'] } }, { route: shaped }),
        ],
      };
    });
  });
  afterAll(() => gw?.close());

  it('uuid#counter: one process uuid and an increasing counter, sent upstream and echoed', async () => {
    const a = await request(`${gw.url}/counter/request`);
    const b = await request(`${gw.url}/counter/request`);
    const ida = a.json().headers['kong-request-id'];
    const idb = b.json().headers['kong-request-id'];
    expect(ida).toMatch(/^[0-9a-f-]{36}#\d+$/);
    expect(ida.split('#')[0]).toBe(idb.split('#')[0]);
    expect(Number(idb.split('#')[1])).toBeGreaterThan(Number(ida.split('#')[1]));
    expect(a.headers['kong-request-id']).toBe(ida);
  });

  it('keeps an id the client sent', async () => {
    const res = await request(`${gw.url}/counter/request`, { headers: { 'kong-request-id': 'client-id-1' } });
    expect(res.json().headers['kong-request-id']).toBe('client-id-1');
    expect(res.headers['kong-request-id']).toBe('client-id-1');
  });

  it('uuid generator with a custom header, not echoed by default', async () => {
    const res = await request(`${gw.url}/uuid/request`);
    expect(res.json().headers['x-trace']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(res.headers['x-trace']).toBeUndefined();
  });

  it('tracker generator names address, port, pid, connection and request number', async () => {
    const res = await request(`${gw.url}/tracker/request`);
    const id = res.json().headers['kong-request-id'];
    expect(id).toMatch(new RegExp(`^127\\.0\\.0\\.1-\\d+-${process.pid}-\\d+-1-\\d+\\.\\d{3}$`));
    expect(res.headers['kong-request-id']).toBe(id);
  });

  it('echoes the id on responses another plugin produced', async () => {
    const res = await request(`${gw.url}/stop`);
    expect(res.status).toBe(403);
    expect(res.headers['kong-request-id']).toMatch(/#\d+$/);
  });

  it('a later response plugin sees the echoed id among the response headers', async () => {
    const hidden = await request(`${gw.url}/hidden/request`);
    expect(hidden.status).toBe(200);
    expect(hidden.json().headers['kong-request-id']).toMatch(/#\d+$/);
    expect(hidden.headers['kong-request-id']).toBeUndefined();
    const shaped = await request(`${gw.url}/shaped/request`);
    expect(shaped.headers['kong-request-id']).toBeUndefined();
    expect(shaped.headers['x-seen-id']).toBe(shaped.json().headers['kong-request-id']);
  });
});

describe('correlation-id as a global plugin', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway(() => ({
      routes: [route({ paths: ['/known'] })],
      plugins: [pluginRow('correlation-id', { echo_downstream: true })],
    }));
  });
  afterAll(() => gw?.close());

  it('echoes an id on the router 404, where its access phase never ran', async () => {
    const miss = await request(`${gw.url}/unknown`);
    expect(miss.status).toBe(404);
    expect(miss.headers['kong-request-id']).toMatch(/^[0-9a-f-]{36}#\d+$/);
    const sent = await request(`${gw.url}/unknown`, { headers: { 'kong-request-id': 'from-client' } });
    expect(sent.headers['kong-request-id']).toBe('from-client');
  });

  it('echoes the id it sent upstream on proxied responses', async () => {
    const res = await request(`${gw.url}/known/request`);
    expect(res.status).toBe(200);
    expect(res.headers['kong-request-id']).toBe(res.json().headers['kong-request-id']);
  });
});
