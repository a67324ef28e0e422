// response-transformer: header edits on every response, JSON edits only on JSON responses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, pluginRow, rejection, request, route, type Gateway } from './helpers.js';

describe('response-transformer schema', () => {
  it('fills empty lists for every action', () => {
    expect(pluginRow('response-transformer').config).toEqual({
      remove: { json: [], headers: [] },
      rename: { json: [], headers: [] },
      replace: { json: [], json_types: [], headers: [] },
      add: { json: [], json_types: [], headers: [] },
      append: { json: [], json_types: [], headers: [] },
    });
  });
  it("reports Kong's messages", () => {
    expect(rejection('response-transformer', { add: { json: ['novalue'], json_types: ['object'] }, rename: { headers: ['a:b c'] } }).fields).toEqual({
      config: {
        add: { json: ['invalid value: novalue'], json_types: ['expected one of: boolean, number, string'] },
        rename: { headers: ["'b c' is not a valid header"] },
      },
    });
  });
});

describe('response-transformer behaviour', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway(() => {
      const hdr = route({ paths: ['/hdr'] });
      const json = route({ paths: ['/json'] });
      const stop = route({ paths: ['/stop'] });
      const limited = route({ paths: ['/limited'] });
      return {
        routes: [hdr, json, stop, limited],
        plugins: [
          pluginRow(
            'response-transformer',
            {
              remove: { headers: ['X-Upstream'] },
              rename: { headers: ['Content-Type:X-Original-Type'] },
              add: { headers: ['X-Added:yes'] },
              append: { headers: ['X-Added:again'] },
            },
            { route: hdr },
          ),
          pluginRow(
            'response-transformer',
            {
              remove: { json: ['rawHeaders', 'headers'] },
              rename: { json: ['url:original_url'] },
              replace: { json: ['method:REPLACED', 'missing:never'] },
              add: { json: ['count:42', 'flag:true', 'label:hi', 'path:not-used'], json_types: ['number', 'boolean', 'string', 'string'] },
              append: { json: ['tags:a', 'tags:b'] },
            },
            { route: json },
          ),
          pluginRow('request-termination', { status_code: 403, message: 'stopped' }, { route: stop }),
          pluginRow('response-transformer', { add: { json: ['extra:1'], headers: ['X-Via-Transformer:1'] } }, { route: stop }),
          // rate-limiting's headers come first (its header_filter has the higher priority, 910 > 800)
          pluginRow('rate-limiting', { minute: 100, policy: 'local' }, { route: limited }),
          pluginRow('response-transformer', { remove: { headers: ['X-RateLimit-Limit-Minute'] }, rename: { headers: ['RateLimit-Remaining:X-Left'] } }, { route: limited }),
        ],
      };
    });
  });
  afterAll(() => gw?.close());

  it('headers: remove, rename, add, append', async () => {
    const res = await request(`${gw.url}/hdr/request`);
    expect(res.status).toBe(200);
    expect(res.headers['x-upstream']).toBeUndefined();
    expect(res.headers['content-type']).toBeUndefined();
    expect(res.headers['x-original-type']).toBe('application/json');
    expect(res.headers['x-added']).toBe('yes, again');
    expect(JSON.parse(res.body).path).toBe('/request');
  });

  it('JSON body edits with json_types; Content-Length matches the new body', async () => {
    const res = await request(`${gw.url}/json/request`);
    const body = JSON.parse(res.body);
    expect(body.headers).toBeUndefined();
    expect(body.rawHeaders).toBeUndefined();
    expect(body.url).toBeUndefined();
    expect(body.original_url).toBe('/request');
    expect(body.method).toBe('REPLACED');
    expect(body.missing).toBeUndefined();
    expect(body.count).toBe(42);
    expect(body.flag).toBe(true);
    expect(body.label).toBe('hi');
    expect(body.path).toBe('/request');
    expect(body.tags).toEqual(['a', 'b']);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
  });

  it('leaves non-JSON responses untouched', async () => {
    const res = await request(`${gw.url}/json/download/1000`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.body.length).toBe(1000);
  });

  it('runs on responses another plugin produced', async () => {
    const res = await request(`${gw.url}/stop`);
    expect(res.status).toBe(403);
    expect(res.headers['x-via-transformer']).toBe('1');
    expect(JSON.parse(res.body)).toEqual({ message: 'stopped', extra: '1' });
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
  });

  it("edits the headers earlier plugins put on the response (rate-limiting's)", async () => {
    const res = await request(`${gw.url}/limited/request`);
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit-minute']).toBeUndefined();
    expect(res.headers['x-ratelimit-remaining-minute']).toBe('99');
    expect(res.headers['ratelimit-remaining']).toBeUndefined();
    expect(res.headers['x-left']).toBe('99');
  });
});
