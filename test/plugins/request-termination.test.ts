// request-termination: Kong's schema checks and exit behaviour through the real proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, pluginRow, rejection, request, route, type Gateway } from './helpers.js';

describe('request-termination schema', () => {
  it('fills Kong defaults', () => {
    expect(pluginRow('request-termination').config).toEqual({
      status_code: 503, message: null, content_type: null, body: null, echo: false, trigger: null,
    });
  });

  it('rejects message with body, content_type without body, echo with body', () => {
    expect(rejection('request-termination', { message: 'x', body: 'y' })).toMatchObject({
      code: 2, name: 'schema violation',
      message: 'schema violation (config: message cannot be used with content_type or body)',
      fields: { config: 'message cannot be used with content_type or body' },
    });
    expect(rejection('request-termination', { content_type: 'text/plain' }).fields).toEqual({ config: 'content_type requires a body' });
    expect(rejection('request-termination', { echo: true, body: 'x', content_type: 'text/plain' }).fields).toEqual({
      config: 'echo cannot be used with content_type and body',
    });
  });

  it('checks status_code range and the trigger header name', () => {
    expect(rejection('request-termination', { status_code: 600 }).fields).toEqual({ config: { status_code: 'value should be between 100 and 599' } });
    expect(rejection('request-termination', { trigger: 'bad header' }).fields).toEqual({
      config: { trigger: "bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, '_', and '-'" },
    });
  });
});

describe('request-termination behaviour', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway(() => {
      const def = route({ paths: ['/default'] });
      const msg = route({ paths: ['/message'] });
      const body = route({ paths: ['/body'] });
      const nomsg = route({ paths: ['/nomsg'] });
      const trig = route({ paths: ['/trigger'] });
      const echo = route({ paths: ['/echo'] });
      return {
        routes: [def, msg, body, nomsg, trig, echo],
        plugins: [
          pluginRow('request-termination', {}, { route: def }),
          pluginRow('request-termination', { status_code: 403, message: 'Forbidden here' }, { route: msg }),
          pluginRow('request-termination', { status_code: 200, body: '<h1>maintenance</h1>', content_type: 'text/html' }, { route: body }),
          pluginRow('request-termination', { status_code: 418 }, { route: nomsg }),
          pluginRow('request-termination', { status_code: 404, trigger: 'X-Stop' }, { route: trig }),
          pluginRow('request-termination', { status_code: 200, echo: true }, { route: echo }),
        ],
      };
    });
  });
  afterAll(() => gw?.close());

  it('answers 503 {"message":"Service unavailable"} by default without reaching the upstream', async () => {
    const before = gw.up.requests;
    const res = await request(`${gw.url}/default/request`);
    expect(res.status).toBe(503);
    expect(res.json()).toEqual({ message: 'Service unavailable' });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(gw.up.requests).toBe(before);
  });

  it('uses the configured status and message', async () => {
    const res = await request(`${gw.url}/message`);
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ message: 'Forbidden here' });
  });

  it('sends a raw body with its content type', async () => {
    const res = await request(`${gw.url}/body`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html');
    expect(res.body).toBe('<h1>maintenance</h1>');
  });

  it('sends no body for a status without a default message', async () => {
    const res = await request(`${gw.url}/nomsg`);
    expect(res.status).toBe(418);
    expect(res.body).toBe('');
  });

  it('with a trigger, terminates only when the header or query parameter is present', async () => {
    const pass = await request(`${gw.url}/trigger/request`);
    expect(pass.status).toBe(200);
    expect(pass.json().path).toBe('/request');
    const byHeader = await request(`${gw.url}/trigger/request`, { headers: { 'x-stop': '1' } });
    expect(byHeader.status).toBe(404);
    expect(byHeader.json()).toEqual({ message: 'Not found' });
    const byQuery = await request(`${gw.url}/trigger/request?X-Stop`);
    expect(byQuery.status).toBe(404);
  });

  it('echo returns the request, including its body', async () => {
    const res = await request(`${gw.url}/echo/x?a=1&a=2&flag`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-thing': 'yes' },
      body: '{"k":"v"}',
    });
    expect(res.status).toBe(200);
    const e = res.json();
    expect(e.message).toBeNull();
    expect(e.request).toMatchObject({
      scheme: 'http', method: 'POST', path: '/echo/x', query: { a: ['1', '2'], flag: true },
      body: { k: 'v' }, raw_body: '{"k":"v"}',
    });
    expect(e.request.headers['x-thing']).toBe('yes');
    expect(e.matched_route.paths).toEqual(['/echo']);
    expect(e.matched_service.name).toBe('echo');
  });
});
